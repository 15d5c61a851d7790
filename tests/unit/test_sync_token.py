"""The sync token (chat/sync_token.py) and the change log's margin (chat/change_log.py)."""

from __future__ import annotations

import pytest

from chat import change_log, sync_token
from chat.sync_token import Rank, SyncToken
from chat.topology import FUNCTIONS


@pytest.mark.parametrize(
    "token",
    [
        SyncToken(),
        SyncToken(since_ms=1_796_000_000_000),
        SyncToken(since_ms=0),
        SyncToken(since_ms=None, round_ms=1_796_000_000_000, after=Rank(0, "d_" + "a" * 32)),
        SyncToken(since_ms=1_795_000_000_000, round_ms=1_796_000_000_000, after=Rank(1_795_999_999_999, "g_0f")),
    ],
)
def test_a_token_reads_back_as_written(token: SyncToken) -> None:
    assert sync_token.parse(token.text()) == token


def test_the_first_sync_of_a_device_sends_an_empty_since() -> None:
    assert sync_token.parse("") == SyncToken() and SyncToken().text() == ""


@pytest.mark.parametrize(
    "text",
    ["1", "2.5", "1.", "1.-5", "1.05", "1.5.", "1.5.6", "1.all", "1.5.6.7", "1.5.6.7.a.b", "1.5.6.7.a b", " 1.5", "x"],
)
def test_text_the_server_did_not_write_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        sync_token.parse(text)


def test_a_round_ranks_the_newest_change_first_then_by_id() -> None:
    ranks = [Rank(5, "b"), Rank(9, "z"), Rank(5, "a"), Rank(0, "c")]
    assert sorted(ranks, key=lambda r: r.key) == [Rank(9, "z"), Rank(5, "a"), Rank(5, "b"), Rank(0, "c")]
    assert Rank(5, "b").comes_after(Rank(5, "a")) and Rank(0, "c").comes_after(Rank(5, "b"))
    assert not Rank(9, "z").comes_after(Rank(5, "a")) and not Rank(5, "a").comes_after(Rank(5, "a"))


def test_a_round_that_ends_hands_out_its_start_and_one_cut_short_its_place() -> None:
    first = SyncToken(since_ms=100)
    assert sync_token.ended(500) == SyncToken(since_ms=500)
    cut = sync_token.unfinished(first, 500, Rank(300, "c1"))
    assert cut == SyncToken(since_ms=100, round_ms=500, after=Rank(300, "c1"))
    # A page that sent nothing gives the same token back: the round starts again from it.
    assert sync_token.unfinished(first, 500, None) == first
    assert sync_token.unfinished(cut, 500, None) == cut


def test_the_margin_covers_the_longest_a_logging_function_runs() -> None:
    """An entry is timed at most a logging invocation's run before its mark lands: a margin shorter than
    that would let the next round's range start after an entry a sync did not see."""
    loggers = {
        name
        for name, f in FUNCTIONS.items()
        if ("Changes", None) in f.grants and "PutItem" in f.grants[("Changes", None)]
    }
    assert loggers == set(change_log.LOGGING_FUNCTIONS)
    assert 1000 * max(FUNCTIONS[name].timeout_s for name in loggers) + 30_000 <= change_log.MARGIN_MS
