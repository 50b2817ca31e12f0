"""Free loopback ports (waiting for something is :mod:`vapora_testing.polling`)."""

from __future__ import annotations

import random
import socket

# Ports handed out below the kernel's ephemeral range (32768-60999 on Linux): an ephemeral
# port from bind(0) can be taken by any outgoing connection between the moment we pick it and
# the moment the service binds it. Below that range only listeners compete, and each port is
# handed out once per process.
_LOW, _HIGH = 20000, 32000
_given: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, outside the ephemeral range, not handed out before."""
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(_LOW, _HIGH)
        if port in _given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port in {_LOW}-{_HIGH}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0
