"""The child processes of `treadle dev` (the API and the workers), kept running.

A child that exits on its own is started again after a pause that doubles with each
crash in a row (1 s, 2 s, 4 s … up to 30 s); one that ran for a minute before crashing
starts the count again. A child that keeps crashing (five times in a row) is given up
on: something is wrong that a restart will not fix, and `treadle dev` stops.

Each child runs in its own process group, so a Ctrl-C in the terminal reaches only the
supervisor, which then stops the children in order: a worker that got the terminal's
SIGINT and then our SIGTERM would take the second signal as "exit now" and skip its
graceful drain. On Linux each child also asks the kernel for a SIGTERM when the
supervisor dies (PR_SET_PDEATHSIG), so a supervisor killed by SIGKILL leaves no API or
worker behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

_CHECK_SECONDS = 0.2
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

Say = Callable[[str], None]


@dataclass(frozen=True)
class RestartPolicy:
    """How long to wait before starting a crashed child again, and when to give up."""

    first_delay: float = 1.0
    max_delay: float = 30.0
    stable_after: float = 60.0
    """A child that ran this long before crashing starts its count of crashes again."""
    max_crashes_in_a_row: int = 5

    def crashes_after(self, crashes_before: int, ran_for: float) -> int:
        """The count of crashes in a row once a child that ran `ran_for` seconds crashed."""
        return 1 if ran_for >= self.stable_after else crashes_before + 1

    def delay(self, crashes_in_a_row: int) -> float | None:
        """Seconds to wait before the next start, or None to give up."""
        if crashes_in_a_row > self.max_crashes_in_a_row:
            return None
        doubled: float = self.first_delay * 2.0 ** (crashes_in_a_row - 1)
        return min(doubled, self.max_delay)


class GaveUp(Exception):
    """A child crashed too often in a row to be started again."""


@dataclass
class Child:
    """One supervised child: how to start it, and its current process."""

    name: str
    module_args: list[str]
    process: subprocess.Popen[bytes]
    started_at: float
    crashes_in_a_row: int = 0
    restart_at: float | None = None

    @property
    def pid(self) -> int:
        return self.process.pid


def how_it_ended(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


class Children:
    """The supervised child processes: started, restarted when they crash, stopped together."""

    def __init__(self, env: dict[str, str], say: Say, policy: RestartPolicy) -> None:
        self._env = env
        self._say = say
        self._policy = policy
        self.running: list[Child] = []

    def start(self, name: str, module_args: list[str]) -> Child:
        child = Child(name, module_args, self._spawn(module_args), time.monotonic())
        self.running.append(child)
        self._say(f"started {name} (pid {child.pid})")
        return child

    def keep_running(self) -> None:
        """Notice crashed children and start those whose pause is over; raise `GaveUp`."""
        now = time.monotonic()
        for child in self.running:
            if child.restart_at is None and child.process.poll() is not None:
                self._schedule_restart(child, now)
            elif child.restart_at is not None and now >= child.restart_at:
                child.process = self._spawn(child.module_args)
                child.started_at, child.restart_at = now, None
                self._say(f"restarted {child.name} (pid {child.pid})")

    def stop(self, timeout: float, hurry: Callable[[], bool]) -> None:
        """SIGTERM every child and wait up to `timeout` seconds (less once `hurry()` says so),
        then SIGKILL whichever is left."""
        for child in self._alive():
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self._alive() and time.monotonic() < deadline and not hurry():
            time.sleep(_CHECK_SECONDS)
        for child in self._alive():
            child.process.kill()
        for child in self.running:
            child.process.wait()

    def _schedule_restart(self, child: Child, now: float) -> None:
        ended = f"the {child.name} (pid {child.pid}) {how_it_ended(child.process.returncode)}"
        child.crashes_in_a_row = self._policy.crashes_after(
            child.crashes_in_a_row, now - child.started_at
        )
        delay = self._policy.delay(child.crashes_in_a_row)
        if delay is None:
            raise GaveUp(f"{ended}, {child.crashes_in_a_row} times in a row; stopping")
        child.restart_at = now + delay
        self._say(f"treadle dev: {ended}; restarting it in {delay:g}s")

    def _spawn(self, module_args: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", *module_args],
            env=self._env,
            process_group=0,
            preexec_fn=die_with_this_process(),
        )

    def _alive(self) -> list[Child]:
        return [child for child in self.running if child.process.poll() is None]


def die_with_this_process() -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child get SIGTERM when this process dies (Linux only).

    The kernel sends the signal when the thread that forked the child ends, so children
    must be started from the supervisor's main thread, as they are.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork, not in it
    parent = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the supervisor died before the request took effect
            os._exit(1)

    return arm
