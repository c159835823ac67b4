"""Collector enrichment: IP truncation and user-agent parsing."""

from __future__ import annotations

import pytest

from simulators.enrich import enrichment, parse_agent, truncate_ip
from simulators.population import BOT_AGENTS, HUMAN_AGENTS


@pytest.mark.parametrize(
    ("addr", "truncated"),
    [
        ("49.207.12.34", "49.207.12.0"),
        ("2001:db8:abcd:12:34::1", "2001:db8:abcd::"),
        ("not-an-ip", "0.0.0.0"),
        (None, "0.0.0.0"),
    ],
)
def test_truncate_ip(addr, truncated):
    assert truncate_ip(addr) == truncated


def test_every_simulated_agent_parses_to_its_device_type():
    for device, agent, _ in HUMAN_AGENTS:
        kind, browser, os_name, is_bot = parse_agent(agent)
        assert (kind, is_bot) == (device, False), agent
        assert browser != "Other" and os_name != "Other", agent
    for agent in BOT_AGENTS:
        assert parse_agent(agent)[0::3] == ("bot", True), agent


def test_enrichment_fields():
    extra = enrichment("81.2.69.160", HUMAN_AGENTS[5][1], "2026-11-01T10:00:00.000Z")
    assert extra == {"received_time": "2026-11-01T10:00:00.000Z", "ip": "81.2.69.0",
                     "device_type": "mobile", "browser": "Mobile Safari", "os": "iOS",
                     "is_bot": False}
