"""chat/faults.py: off unless named, seeded, counted; and every point is hooked and documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chat import faults
from chat.faults import POINTS, Crash, Faults, fault_point

ROOT = Path(__file__).resolve().parents[2]


def draws(setting: str, point: str, n: int, seed: int = 0) -> list[bool]:
    chosen = Faults(setting, seed)
    return [chosen.fires(point) for _ in range(n)]


def test_without_a_setting_no_point_ever_fires() -> None:
    quiet = Faults("")
    assert not any(quiet.fires(point) for point in POINTS for _ in range(100))
    assert quiet.active == []


def test_a_point_fires_at_its_probability_from_a_seeded_generator_of_its_own() -> None:
    fired = draws("post.gone=0.25", "post.gone", 4000, seed=7)
    assert 800 < sum(fired) < 1200
    assert fired == draws("post.gone=0.25", "post.gone", 4000, seed=7)
    assert fired != draws("post.gone=0.25", "post.gone", 4000, seed=8)
    # Another point switched on beside it draws from its own generator: this one's sequence is unchanged.
    both = Faults("post.gone=0.25,post.throttle=0.5", seed=7)
    mixed = []
    for _ in range(4000):
        both.fires("post.throttle")
        mixed.append(both.fires("post.gone"))
    assert mixed == fired
    assert not any(draws("post.gone=0.25", "post.throttle", 100))


def test_times_caps_how_often_a_point_fires_and_active_counts_it() -> None:
    capped = Faults("send.crash_after_store=1x2, fanout.crash=0")
    assert [capped.fires("send.crash_after_store") for _ in range(4)] == [True, True, False, False]
    assert not capped.fires("fanout.crash")
    assert capped.active == [
        {"point": "send.crash_after_store", "probability": 1.0, "times": 2, "fired": 2},
        {"point": "fanout.crash", "probability": 0.0, "times": None, "fired": 0},
    ]


@pytest.mark.parametrize("setting", ["post.lost=0.1", "post.gone=1.5", "post.gone=-0.1", "post.gone=often"])
def test_a_bad_setting_is_refused_at_once(setting: str) -> None:
    with pytest.raises(ValueError):
        Faults(setting)


def test_a_crash_is_no_exception_so_no_handler_can_swallow_it(inject_faults) -> None:
    inject_faults("fanout.crash=1x1")
    with pytest.raises(Crash):
        try:
            fault_point("fanout.crash")
        except Exception:  # what chat/api.py and the batch processor catch
            pytest.fail("the crash was caught as an Exception")
    fault_point("fanout.crash")  # fired its one time: nothing happens
    assert faults.current().active[0]["fired"] == 1


def test_every_point_is_hooked_somewhere_and_listed_in_the_readme() -> None:
    code = "\n".join(p.read_text() for folder in ("chat", "local") for p in (ROOT / folder).rglob("*.py"))
    hooked = set(re.findall(r"""fault(?:_point|s\.fires)\("([a-z._]+)"\)""", code))
    assert hooked == set(POINTS)
    readme = (ROOT / "README.md").read_text()
    assert [point for point in POINTS if f"`{point}`" not in readme] == []
