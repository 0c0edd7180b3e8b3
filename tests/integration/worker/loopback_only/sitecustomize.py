"""A fail-safe the worker integration tests load into every worker process they start.

Python imports `sitecustomize` at start-up from the path; the tests put this folder on
PYTHONPATH and name a file in `TREADLE_TEST_CONNECT_LOG`. From then on, any TCP connection
the process tries to open to an address that is not loopback is refused before a packet
leaves, and noted in that file. So a bug in the network guard can never send test traffic
off this machine, and the tests can assert that no such connection was even attempted.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

_CONNECT_LOG = os.environ.get("TREADLE_TEST_CONNECT_LOG")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return host == "localhost"


def _refuse_unless_loopback(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # Unix sockets (the test database) are local by nature
    host = str(address[0])
    if _is_loopback(host):
        return
    assert _CONNECT_LOG is not None
    with open(_CONNECT_LOG, "a", encoding="utf-8") as log:
        log.write(f"{host}\n")
    raise ConnectionRefusedError(f"the worker tests never connect to {host}")


def _install() -> None:
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        _refuse_unless_loopback(self, address)
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _refuse_unless_loopback(self, address)
        return original_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign, assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign, assignment]


if _CONNECT_LOG:
    _install()
