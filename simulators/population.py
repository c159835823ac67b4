"""Simulated visitors: identity, device, geography, traffic channel, bots."""

from __future__ import annotations

import random
from dataclasses import dataclass

# (country, city, latitude, longitude, weight)
CITIES: tuple[tuple[str, str, float, float, float], ...] = (
    ("IN", "Bangalore", 12.9716, 77.5946, 14),
    ("IN", "Mumbai", 19.0760, 72.8777, 8),
    ("IN", "Delhi", 28.7041, 77.1025, 7),
    ("US", "New York", 40.7128, -74.0060, 12),
    ("US", "San Francisco", 37.7749, -122.4194, 8),
    ("US", "Chicago", 41.8781, -87.6298, 5),
    ("GB", "London", 51.5074, -0.1278, 9),
    ("DE", "Berlin", 52.5200, 13.4050, 6),
    ("FR", "Paris", 48.8566, 2.3522, 5),
    ("BR", "Sao Paulo", -23.5505, -46.6333, 5),
    ("JP", "Tokyo", 35.6762, 139.6503, 5),
    ("AU", "Sydney", -33.8688, 151.2093, 3),
    ("CA", "Toronto", 43.6532, -79.3832, 4),
    ("SG", "Singapore", 1.3521, 103.8198, 3),
    ("NG", "Lagos", 6.5244, 3.3792, 2),
)
# First octet of the (fictitious) addresses handed to visitors of each country.
COUNTRY_OCTET = {"IN": 49, "US": 23, "GB": 81, "DE": 85, "FR": 90, "BR": 177, "JP": 126,
                 "AU": 101, "CA": 99, "SG": 116, "NG": 102}

# (device_type, user agent, weight) of human visitors
HUMAN_AGENTS: tuple[tuple[str, str, float], ...] = (
    ("desktop", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36", 30),
    ("desktop", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
                "Gecko) Version/17.6 Safari/605.1.15", 10),
    ("desktop", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", 7),
    ("desktop", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", 6),
    ("desktop", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 2),
    ("mobile", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
               "like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 18),
    ("mobile", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/131.0.0.0 Mobile Safari/537.36", 14),
    ("mobile", "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
               "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", 5),
    ("tablet", "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
               "Gecko) Version/17.6 Mobile/15E148 Safari/604.1", 5),
)
BOT_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "python-requests/2.32.3",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
)

# channel -> (weight, referrer, utm_source, utm_medium)
CHANNELS: dict[str, tuple[float, tuple[tuple[str | None, str | None, str | None], ...]]] = {
    "direct": (30, ((None, None, None),)),
    "search": (28, (("https://www.google.com/", None, None), ("https://www.bing.com/", None, None),
                    ("https://duckduckgo.com/", None, None))),
    "social": (14, (("https://t.co/", "twitter", "social"), ("https://www.facebook.com/", "facebook",
                    "social"), ("https://www.linkedin.com/", "linkedin", "social"))),
    "email": (10, ((None, "newsletter", "email"),)),
    "paid": (12, (("https://www.google.com/", "google", "cpc"), (None, "meta", "paid_social"))),
    "referral": (6, (("https://news.ycombinator.com/", None, None),
                     ("https://partner-blog.example/", "partner", "referral"))),
}
CAMPAIGNS = ("black_friday", "winter_launch", "brand", "retargeting")


def pick(rng: random.Random, weighted: dict) -> object:
    """Return one key of a {key: weight} mapping, drawn by weight."""
    keys = list(weighted)
    return rng.choices(keys, weights=[weighted[k] for k in keys])[0]


def hex_id(rng: random.Random, prefix: str) -> str:
    """Return a pseudonymous 16-hex-digit identifier drawn from rng."""
    return f"{prefix}_{rng.getrandbits(64):016x}"


@dataclass
class Visitor:
    """One simulated visitor: stable identity and environment across sessions."""

    user_id: str
    device_type: str
    user_agent: str
    country: str
    city: str
    latitude: float
    longitude: float
    ip: str
    is_bot: bool
    visits: int = 0

    @classmethod
    def draw(cls, rng: random.Random, bot_share: float) -> Visitor:
        """Draw a new visitor."""
        country, city, lat, lon, _ = rng.choices(CITIES, weights=[c[4] for c in CITIES])[0]
        is_bot = rng.random() < bot_share
        if is_bot:
            device, agent = "bot", rng.choice(BOT_AGENTS)
        else:
            device, agent, _ = rng.choices(HUMAN_AGENTS, weights=[a[2] for a in HUMAN_AGENTS])[0]
        ip = f"{COUNTRY_OCTET[country]}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        return cls(
            user_id=hex_id(rng, "u"), device_type=device, user_agent=agent, country=country,
            city=city, latitude=round(lat + rng.uniform(-0.05, 0.05), 4),
            longitude=round(lon + rng.uniform(-0.05, 0.05), 4), ip=ip, is_bot=is_bot,
        )  # fmt: skip


def draw_channel(rng: random.Random) -> tuple[str, dict[str, str | None]]:
    """Draw a traffic channel with its referrer and UTM parameters."""
    channel = pick(rng, {k: v[0] for k, v in CHANNELS.items()})
    referrer, source, medium = rng.choice(CHANNELS[channel][1])
    campaign = rng.choice(CAMPAIGNS) if medium in ("email", "cpc", "paid_social") else None
    return channel, {"referrer": referrer, "utm_source": source, "utm_medium": medium,
                     "utm_campaign": campaign}


# Share of daily traffic per UTC hour: quiet nights, a lunch peak and an evening peak.
HOURLY_TRAFFIC = (1.0, 0.7, 0.5, 0.4, 0.4, 0.6, 1.0, 1.8, 2.6, 3.0, 3.2, 3.6,
                  4.2, 4.0, 3.4, 3.1, 3.0, 3.3, 3.9, 4.6, 4.8, 4.0, 2.8, 1.6)
PEAK_TRAFFIC = max(HOURLY_TRAFFIC)


def peak_factor(hour: int) -> float:
    """Return how much slower the servers get at this UTC hour (1.0 = quiet, 1.8 = peak)."""
    return 1.0 + 0.8 * HOURLY_TRAFFIC[hour] / PEAK_TRAFFIC


def server_latency_ms(rng: random.Random, median_ms: int, hour: int, inflight: int = 0) -> int:
    """Draw a page's server time: log-normal, slower at peak hours and under load."""
    load = 1.0 + 0.15 * max(0, inflight - 2)
    return max(1, int(rng.lognormvariate(0, 0.45) * median_ms * peak_factor(hour) * load))


def server_error(rng: random.Random, hour: int, inflight: int = 0) -> int | None:
    """Draw a 5xx status, more likely at peak hours and under load, or None for success."""
    p = 0.004 * peak_factor(hour) ** 3 * (1.0 + 0.25 * max(0, inflight - 4))
    if rng.random() < p:
        return rng.choice((500, 502, 503))
    return None
