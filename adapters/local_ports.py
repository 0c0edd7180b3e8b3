"""Whether a local TCP port is free to listen on, checked before a server is started.

A server that finds its port taken fails late and noisily (a `pg_ctl` log dump), or not at
all when the other program shares the port; asking first lets the caller say so in one line.
"""

from __future__ import annotations

import errno
import socket


def port_in_use(host: str, port: int) -> bool:
    """True when another socket already listens on (host, port)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        # As a server binds: a port left in TIME_WAIT by a stopped server counts as free. No
        # SO_REUSEPORT, so a listener that set it still counts as taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False
