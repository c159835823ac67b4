"""Collector-side enrichment: truncated IP, user agent parsed into device/browser/os, bot flag."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from ua_parser import parse

BOT_PATTERN = re.compile(r"bot|crawl|spider|slurp|headless|python-requests|curl|wget|httpclient",
                         re.IGNORECASE)


def truncate_ip(addr: str | None) -> str:
    """Return the address with its host part zeroed: IPv4 to /24, IPv6 to /48."""
    try:
        ip = ipaddress.ip_address((addr or "").strip())
    except ValueError:
        return "0.0.0.0"
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


@lru_cache(maxsize=4096)
def parse_agent(user_agent: str) -> tuple[str, str, str, bool]:
    """Return (device_type, browser, os, is_bot) of a User-Agent header."""
    result = parse(user_agent or "")
    browser = result.user_agent.family if result.user_agent else "Other"
    os_name = result.os.family if result.os else "Other"
    device = result.device.family if result.device else "Other"
    is_bot = device == "Spider" or bool(BOT_PATTERN.search(user_agent or ""))
    if is_bot:
        kind = "bot"
    elif device == "iPad" or "Tablet" in user_agent:
        kind = "tablet"
    elif "Mobi" in user_agent or os_name in ("iOS", "Android"):
        kind = "mobile"
    elif os_name in ("Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora"):
        kind = "desktop"
    else:
        kind = "other"
    return kind, browser, os_name, is_bot


def enrichment(remote_addr: str | None, user_agent: str, received_time: str) -> dict:
    """Return the fields the collector adds to every accepted event of one request."""
    device_type, browser, os_name, is_bot = parse_agent(user_agent)
    return {
        "received_time": received_time,
        "ip": truncate_ip(remote_addr),
        "device_type": device_type,
        "browser": browser,
        "os": os_name,
        "is_bot": is_bot,
    }
