"""The simulated traffic is realistic enough for every downstream analytic to mean something."""

from __future__ import annotations

import random
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime

import pytest

from clickstream.contracts import parse_time, rejection_reason
from simulators.enrich import parse_agent
from simulators.generate import day_sessions
from simulators.journey import LEAVE_BEACON, SECTION_LEAVE, plan_session
from simulators.population import Visitor
from simulators.sites import SITES

NOW = parse_time("2026-11-05T00:00:00Z")  # after every session of 2026-11-01 ended


@pytest.fixture(scope="module", params=sorted(SITES))
def day(request):
    """One generated day of 15,000 events of one site, valid events grouped by session."""
    site = SITES[request.param]
    rng = random.Random(f"realism:{site.name}")
    batches = list(day_sessions(site, date(2026, 11, 1), 15_000, rng))
    events = [e for b in batches for e in b.events]
    valid = [e for e in events if rejection_reason(e, NOW) is None]
    sessions: dict[str, list[dict]] = defaultdict(list)
    for e in valid:
        sessions[e["session_id"]].append(e)
    return site, batches, events, valid, sessions


def ordered_funnel(site, sessions) -> list[int]:
    """Count sessions reaching each funnel step after all previous steps, in order."""
    step_paths = [set(site.pages[step].paths()) for step in site.funnel]
    reached = [0] * len(step_paths)
    for events in sessions.values():
        views = [e["page"] for e in sorted(events, key=lambda e: e["event_time"])
                 if e["event_type"] == "page_view"]
        k = 0
        for page in views:
            if k < len(step_paths) and page in step_paths[k]:
                reached[k] += 1
                k += 1
    return reached


def test_exactly_the_requested_number_of_events(day):
    _, _, events, _, _ = day
    assert len(events) == 15_000
    assert len({e.get("event_id") for e in events}) >= 15_000 - 20  # drop_field may remove ids


def test_funnel_drops_off_at_every_step(day):
    site, _, _, _, sessions = day
    reached = ordered_funnel(site, sessions)
    assert reached[-1] > 0, f"nobody converted: {reached}"
    for step, (before, after) in enumerate(zip(reached, reached[1:], strict=False), start=1):
        assert after < before, f"no drop-off at step {site.funnel[step]}: {reached}"


def test_page_popularity_is_heavy_tailed(day):
    _, _, _, valid, _ = day
    views = Counter(e["page"] for e in valid if e["event_type"] == "page_view")
    counts = sorted(views.values(), reverse=True)
    top_fifth = counts[: max(1, len(counts) // 5)]
    assert sum(top_fifth) / sum(counts) >= 0.45, counts
    assert counts[0] >= 5 * statistics.median(counts), counts


def test_median_session_lasts_one_to_five_minutes(day):
    _, _, _, _, sessions = day
    durations = [
        (parse_time(max(e["event_time"] for e in s)) - parse_time(min(e["event_time"] for e in s)))
        .total_seconds()
        for s in sessions.values()
    ]
    assert 60 <= statistics.median(durations) <= 300


def test_traffic_mix_covers_devices_geography_channels_and_new_users(day):
    _, batches, _, valid, _ = day
    devices = Counter(parse_agent(b.visitor.user_agent)[0] for b in batches)
    assert {"desktop", "mobile", "tablet", "bot"} <= set(devices)
    cities = Counter(e["city"] for e in valid)
    assert "Bangalore" in cities and len(cities) >= 10
    assert all(-90 <= e["latitude"] <= 90 and -180 <= e["longitude"] <= 180 for e in valid)
    assert len({e["referrer"] for e in valid}) >= 5
    assert {"email", "cpc", "social"} <= {e["utm_medium"] for e in valid}
    visits = Counter(e["visit_number"] == 1 for e in valid)
    assert visits[True] > 0 and visits[False] > 0


def test_bots_are_identifiable(day):
    _, batches, _, _, _ = day
    truth = [b.visitor.is_bot for b in batches]
    flagged = [parse_agent(b.visitor.user_agent)[3] for b in batches]
    assert sum(truth) > 0
    assert flagged == truth  # by user agent
    gaps = defaultdict(list)
    for b in batches:
        times = [parse_time(e["event_time"]) for e in b.events if e.get("event_type") == "page_view"]
        gaps[b.visitor.is_bot] += [(t2 - t1).total_seconds() for t1, t2 in zip(times, times[1:],
                                                                              strict=False)]
    # and by behaviour: bots navigate an order of magnitude faster than people
    assert statistics.median(gaps[True]) * 10 < statistics.median(gaps[False])


def test_each_section_seen_sends_one_leave_beacon_with_its_time_in_view(day):
    _, batches, _, _, _ = day
    visits = checked = 0
    for batch in batches:
        if any(rejection_reason(e, NOW) for e in batch.events):
            continue  # a malformed event may be the view or the beacon
        in_view: dict[str, datetime] = {}
        for e in batch.events:
            kind, element, when = e["event_type"], e.get("element"), parse_time(e["event_time"])
            if kind == "page_view":
                assert not in_view, f"sections still in view when {e['page']} was opened: {in_view}"
            elif kind == "section_view":
                assert e["section"] not in in_view
                in_view[e["section"]] = when
            elif kind == "engagement_ping" and element == SECTION_LEAVE:
                seen = in_view.pop(e["section"])
                assert abs(e["time_on_page_ms"] - (when - seen).total_seconds() * 1000) <= 2
                assert e["time_on_page_ms"] >= 0
                checked += 1
            elif kind == "engagement_ping" and element == LEAVE_BEACON:
                assert not in_view, f"no leave beacon for {sorted(in_view)} on {e['page']}"
                visits += 1
    assert visits > 100 and checked > visits  # most visits see more than one section


def test_malformed_share_is_configurable():
    site = SITES["shop"]

    def rejected(share):
        rng = random.Random("malformed")
        events = [e for b in day_sessions(site, date(2026, 11, 1), 4000, rng, malformed_share=share)
                  for e in b.events]
        return sum(rejection_reason(e, NOW) is not None for e in events)
    assert rejected(0.0) == 0
    assert 350 <= rejected(0.1) <= 450


def test_plans_are_deterministic_for_a_seed():
    site = SITES["news"]

    def plans(seed):
        rng = random.Random(seed)
        visitor = Visitor.draw(rng, 0.05)
        return [plan_session(site, visitor, rng) for _ in range(20)]

    assert plans(7) == plans(7)
    assert plans(7) != plans(8)


def test_backfill_days_are_deterministic_for_a_seed():
    site = SITES["saas"]

    def events(seed):
        rng = random.Random(seed)
        return [e for b in day_sessions(site, date(2026, 10, 1), 500, rng) for e in b.events]

    assert events("a") == events("a")
    assert [e.get("event_id") for e in events("a")] != [e.get("event_id") for e in events("b")]
