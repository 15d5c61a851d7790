"""Settings are read and checked once, at cold start: a bad value fails the function at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chat import config
from chat.topology import ENV_CONNECTION_LEASE_S


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    config.settings.cache_clear()
    yield
    config.settings.cache_clear()


@pytest.mark.parametrize(
    ("value", "reason"),
    [("", "is not set"), ("soon", "must be a whole number"), ("0", "must be greater than 0"), ("-5", "greater than 0")],
)
def test_a_bad_lease_fails_the_settings(monkeypatch: pytest.MonkeyPatch, value: str, reason: str) -> None:
    monkeypatch.setenv(ENV_CONNECTION_LEASE_S, value)
    with pytest.raises(config.ConfigurationError, match=reason):
        config.settings()


def test_the_lease_is_read_as_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_CONNECTION_LEASE_S, "90")
    assert config.settings().connection_lease_s == 90
