"""Several API processes on one port (`TREADLE_API_WORKERS`, `treadle api --workers N`).

One Python process serves requests on one core; this supervisor binds the port once,
starts N API processes that accept on it, replaces one that dies, and stops them all on
SIGINT or SIGTERM. Each process opens its own runtime (connection pool and LISTEN
connection), so live streams work whichever process a client reaches: every process
hears every committed event. A process whose supervisor disappears (even by SIGKILL)
stops by itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from multiprocessing.process import BaseProcess

from entrypoints.api.main import GRACEFUL_SHUTDOWN_SECONDS, STARTUP_FAILED, serve_here
from entrypoints.logs import configure_logging, log
from entrypoints.settings import Settings, database_host

logger = logging.getLogger("treadle.api")

_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited event loop
_CHECK_SECONDS = 0.5
_ORPHAN_CHECK_SECONDS = 1.0
_BACKLOG = 2048
_REUSE_PORT = hasattr(socket, "SO_REUSEPORT") and sys.platform == "linux"


def serve_in_processes(settings: Settings) -> None:
    listener = _bind(settings.api_host, settings.api_port)
    where = database_host(settings.database_url) if settings.database_url else "memory"
    port = listener.getsockname()[1]
    log(
        logger,
        f"serving on http://{settings.api_host}:{port} (storage: {where})",
        processes=settings.api_workers,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    children = [_start(settings, listener) for _ in range(settings.api_workers)]
    try:
        status = _supervise(settings, listener, children, stop)
    finally:
        _stop_all(children)
        listener.close()
    if status:
        sys.exit(status)


def _start(settings: Settings, listener: socket.socket) -> BaseProcess:
    child = _SPAWN.Process(
        target=_child_main, args=(settings, listener, os.getpid()), name="treadle-api"
    )
    child.start()
    return child


def _supervise(
    settings: Settings, listener: socket.socket, children: list[BaseProcess], stop: threading.Event
) -> int:
    """Wait until asked to stop, replacing children that die; the exit status to use."""
    while not stop.wait(_CHECK_SECONDS):
        for index, child in enumerate(children):
            if child.is_alive():
                continue
            if child.exitcode == STARTUP_FAILED:
                # Bad settings, database or schema: every replacement would fail the same way.
                return STARTUP_FAILED
            log(
                logger,
                "an API process died; starting another",
                level=logging.WARNING,
                pid=child.pid,
                exitcode=child.exitcode,
            )
            children[index] = _start(settings, listener)
    return 0


def _stop_all(children: list[BaseProcess]) -> None:
    for child in children:
        if child.is_alive() and child.pid is not None:
            os.kill(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACEFUL_SHUTDOWN_SECONDS + 5
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()
            child.join()


def _bind(host: str, port: int) -> socket.socket:
    """The port for all the processes.

    Where the system has SO_REUSEPORT, it is only reserved here (bound, not listening) and
    each process listens on a socket of its own: the kernel then spreads connections evenly
    over the processes. With one shared listening socket, whichever process is idle first
    accepts, and long-lived keep-alive connections can pile up on one process.
    """
    if not _REUSE_PORT:
        return socket.create_server((host, port), backlog=_BACKLOG)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    reserved = socket.socket(family, socket.SOCK_STREAM)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    reserved.bind((host, port))
    return reserved


def _own_listener(listener: socket.socket) -> socket.socket:
    if not _REUSE_PORT:
        return listener
    host, port = listener.getsockname()[:2]
    return socket.create_server((host, port), backlog=_BACKLOG, reuse_port=True)


def _child_main(settings: Settings, listener: socket.socket, supervisor_pid: int) -> None:
    configure_logging(settings.log_level)
    threading.Thread(target=_stop_when_orphaned, args=(supervisor_pid,), daemon=True).start()
    serve_here(settings, [_own_listener(listener)])


def _stop_when_orphaned(supervisor_pid: int) -> None:
    """SIGTERM this process (a graceful uvicorn shutdown) once its supervisor is gone."""
    while os.getppid() == supervisor_pid:
        time.sleep(_ORPHAN_CHECK_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
