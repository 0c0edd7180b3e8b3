"""How `treadle api` serves: the access log setting and the guard on several processes."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from entrypoints.api.main import STARTUP_FAILED, serve, server_config
from tests.api.conftest import api_settings


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    yield
    root.handlers[:] = saved
    root.setLevel(level)


def test_the_access_log_is_on_by_default_and_can_be_turned_off() -> None:
    assert server_config(object(), api_settings()).access_log is True
    assert server_config(object(), api_settings(api_access_log=False)).access_log is False


def test_several_processes_need_a_database(
    root_handlers: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        serve(api_settings(api_workers=2))
    assert exited.value.code == STARTUP_FAILED
    assert "TREADLE_API_WORKERS > 1 needs DATABASE_URL" in capsys.readouterr().err
