"""Free TCP ports for private stacks (tests, benchmarks)."""

from __future__ import annotations

import socket


def free_ports(n: int) -> list[int]:
    """Return n distinct TCP ports free on the loopback interface right now."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports
