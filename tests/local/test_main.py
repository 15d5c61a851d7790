"""`python -m local`: listening beyond this machine needs --allow-remote, and then says what it exposes."""

from __future__ import annotations

import errno
import faulthandler
import logging
import signal
from collections.abc import Iterator
from typing import Any

import pytest

import local.stack
from local.__main__ import main
from local.origins import RemoteBindRefused
from local.stack import LocalStack


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "my-laptop.local"])
def test_a_host_other_machines_can_reach_is_refused_without_allow_remote(
    host: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(local.stack, "LocalStack", lambda **kwargs: started.append(kwargs))

    assert main(["--host", host, "--port", "0"]) == 2

    assert started == []
    error = capsys.readouterr().err
    assert f"refusing to listen on {host!r}" in error
    assert "/dev/token" in error and "--allow-remote" in error


class _PortInUse:
    """Stands in for LocalStack: records how it was made, then fails to bind (so main returns)."""

    made: list[dict[str, Any]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.made.append(kwargs)

    def start(self) -> None:
        raise OSError(errno.EADDRINUSE, "in use")


@pytest.fixture
def fake_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_PortInUse]]:
    monkeypatch.setattr(_PortInUse, "made", [])
    monkeypatch.setattr(local.stack, "LocalStack", _PortInUse)
    # main sets up the process: keep the test process's signal handlers and log levels.
    monkeypatch.setattr(signal, "signal", lambda *args: None)
    monkeypatch.setattr(faulthandler, "register", lambda *args, **kwargs: None)
    monkeypatch.setattr(logging, "basicConfig", lambda **kwargs: None)
    names = [*logging.root.manager.loggerDict, "botocore", "boto3", "urllib3", "websockets", "werkzeug", "asyncio"]
    levels = {name: logging.getLogger(name).level for name in names}
    yield _PortInUse
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_allow_remote_warns_that_anyone_can_mint_tokens_and_goes_ahead(
    fake_stack: type[_PortInUse], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--host", "0.0.0.0", "--port", "0", "--allow-remote"]) == 1  # the fake's port is in use

    [made] = fake_stack.made
    assert (made["host"], made["allow_remote"]) == ("0.0.0.0", True)
    error = capsys.readouterr().err
    assert error.startswith("WARNING: listening on '0.0.0.0', reachable from other machines.")
    assert "mint a token for any user at /dev/token" in error


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_needs_no_flag_and_prints_no_warning(
    host: str, fake_stack: type[_PortInUse], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--host", host, "--port", "0"]) == 1

    [made] = fake_stack.made
    assert (made["host"], made["allow_remote"]) == (host, False)
    assert "WARNING" not in capsys.readouterr().err


def test_the_stack_itself_refuses_a_remote_host_unless_allowed() -> None:
    with pytest.raises(RemoteBindRefused, match="--allow-remote"):
        LocalStack(host="0.0.0.0")
    assert LocalStack(host="0.0.0.0", allow_remote=True).http_url.startswith("http://127.0.0.1:")
    assert LocalStack(host="::1").http_url.startswith("http://[::1]:")
