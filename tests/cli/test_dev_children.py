"""`treadle dev`'s supervision on its own: the restart policy, and real children that crash."""

from __future__ import annotations

import os
import time

import pytest

from entrypoints.dev import network_line
from entrypoints.dev_children import Children, GaveUp, RestartPolicy
from entrypoints.settings import Settings

CRASHING_MODULE = ["json.tool", "/no/such/file.json"]  # exits with code 2 at once
DEADLINE_SECONDS = 30


def test_the_pause_doubles_per_crash_in_a_row_up_to_the_cap_then_gives_up() -> None:
    policy = RestartPolicy(first_delay=1, max_delay=10, max_crashes_in_a_row=5)

    assert [policy.delay(crashes) for crashes in range(1, 7)] == [1, 2, 4, 8, 10, None]


def test_a_child_that_ran_long_enough_starts_its_count_again() -> None:
    policy = RestartPolicy(stable_after=60)

    assert policy.crashes_after(4, ran_for=59) == 5
    assert policy.crashes_after(4, ran_for=60) == 1


def test_a_child_that_keeps_crashing_is_restarted_then_given_up_on() -> None:
    said: list[str] = []
    policy = RestartPolicy(first_delay=0.05, max_delay=0.1, max_crashes_in_a_row=2)
    children = Children(dict(os.environ), said.append, policy)
    children.start("crasher", CRASHING_MODULE)
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        with pytest.raises(GaveUp, match="exited with code 2, 3 times in a row; stopping"):
            while time.monotonic() < deadline:
                children.keep_running()
                time.sleep(0.05)
    finally:
        children.stop(timeout=5, hurry=lambda: False)

    assert [line.split(" (pid")[0] for line in said if "started" in line] == [
        "started crasher",
        "restarted crasher",
        "restarted crasher",
    ]
    assert any(line.endswith("exited with code 2; restarting it in 0.05s") for line in said)


def test_the_network_line_names_the_allowlist_in_effect() -> None:
    allowing = Settings(http_allowed_hosts="127.0.0.1, localhost")

    assert network_line(Settings(http_allowed_hosts="")).startswith(
        "Network: workers reach public addresses only"
    )
    assert network_line(allowing) == (
        "Network: public addresses, plus TREADLE_HTTP_ALLOWED_HOSTS=127.0.0.1,localhost"
    )
