"""The command-line client against the local stack, as a user or a script would run it."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.conftest import unique

ROOT = Path(__file__).resolve().parents[2]


def chat(local_stack, tmp_path: Path, user: str, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "--url", local_stack.ws_url, "--user", user, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path), "NO_COLOR": "1"},
    )


def test_json_mode_sends_stdin_frames_and_prints_server_frames(local_stack, tmp_path: Path) -> None:
    alice, bob = unique("alice"), unique("bob")
    chat(local_stack, tmp_path, bob, "", "--json")  # bob exists once connected
    frames = [
        {"action": "ping", "requestId": "p1"},
        {"action": "send", "to": bob, "clientMsgId": "cli-1", "body": {"text": "from a script"}, "requestId": "s1"},
        {"action": "fly", "requestId": "f1"},
    ]
    result = chat(local_stack, tmp_path, alice, "".join(json.dumps(f) + "\n" for f in frames), "--json")
    assert result.returncode == 0, result.stderr
    replies = {f.get("requestId"): f for f in map(json.loads, result.stdout.splitlines())}
    assert replies["p1"]["type"] == "pong"
    assert (replies["s1"]["type"], replies["s1"]["seq"]) == ("sent", 1)
    assert replies["f1"]["code"] == "unknown_action"


def test_two_users_chat_and_a_restart_syncs_what_was_missed(local_stack, tmp_path: Path) -> None:
    alice, bob = unique("alice"), unique("bob")
    chat(local_stack, tmp_path, bob, "")
    sent = chat(local_stack, tmp_path, alice, f"/to {bob}\nhello bob\n")
    assert sent.returncode == 0, sent.stderr
    assert "you: hello bob  ✓ #1" in sent.stdout

    # bob was offline: he gets it when he starts, and answers in the same conversation.
    reply = chat(local_stack, tmp_path, bob, f"/to {alice}\nhi alice\n")
    assert f"[{alice}] {alice}: hello bob" in reply.stdout
    assert "you: hi alice  ✓ #2" in reply.stdout
    # Started again, bob has nothing new; alice sees the reply and bob's check marks.
    again = chat(local_stack, tmp_path, bob, "")
    assert "hello bob" not in again.stdout
    back = chat(local_stack, tmp_path, alice, "")
    assert f"{bob}: hi alice" in back.stdout
    assert "hello bob" not in back.stdout


def test_a_refused_connection_is_one_clear_line(local_stack, tmp_path: Path) -> None:
    result = chat(local_stack, tmp_path, "mallory", "", "--token", "not-a-jwt")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "chat: the server refused the connection: HTTP 401 (bad or expired token, or bad device id)"
    )


def test_reply_edit_delete_and_react_from_the_command_line(local_stack, tmp_path: Path) -> None:
    alice, bob = unique("alice"), unique("bob")
    chat(local_stack, tmp_path, bob, "")
    assert "you: helo  ✓ #1" in chat(local_stack, tmp_path, alice, f"/to {bob}\nhelo\n").stdout
    replied = chat(local_stack, tmp_path, bob, f"/to {alice}\n/reply 1 hi!\n")
    assert "you: ↪ #1 hi!  ✓ #2" in replied.stdout, replied.stdout + replied.stderr

    changed = chat(local_stack, tmp_path, alice, f"/to {bob}\n/edit 1 hello\n/react 2 \U0001f44d\noops\n")
    assert f"[{bob}] {bob}: ↪ #1 hi!" in changed.stdout
    assert f"[{bob}] #1 edited by you: hello (edited)" in changed.stdout, changed.stdout + changed.stderr
    assert f"[{bob}] #2 reactions: \U0001f44d {alice}" in changed.stdout
    deleted = chat(local_stack, tmp_path, alice, f"/to {bob}\n/delete 3\n/edit 2 not mine\n")
    assert f"[{bob}] #3 deleted by you" in deleted.stdout, deleted.stdout + deleted.stderr
    assert "error: forbidden: only its sender can edit a message (edit)" in deleted.stderr

    # bob was away for all of it: his next start catches up through sync, his change cursor kept.
    back = chat(local_stack, tmp_path, bob, "")
    assert f"[{alice}] #1 edited by {alice}: hello (edited)" in back.stdout, back.stdout + back.stderr
    assert f"[{alice}] #2 reactions: \U0001f44d {alice}" in back.stdout
    assert f"[{alice}] {alice}: (this message was deleted)" in back.stdout
    assert "oops" not in back.stdout


def test_mute_from_the_command_line_shows_on_the_users_next_start(local_stack, tmp_path: Path) -> None:
    alice, bob = unique("alice"), unique("bob")
    chat(local_stack, tmp_path, bob, "")
    chat(local_stack, tmp_path, alice, f"/to {bob}\none\ntwo\n")

    muted = chat(local_stack, tmp_path, bob, f"/to {alice}\n/mute\n")
    assert "-- " + alice + ": muted until /unmute" in muted.stderr, muted.stdout + muted.stderr

    # The next start lists the conversation as muted, with what alice wrote since bob last read
    chat(local_stack, tmp_path, alice, f"/to {bob}\nthree\n")
    listed = chat(local_stack, tmp_path, bob, "/who\n")
    assert "[muted]" in listed.stdout, listed.stdout + listed.stderr
    unmuted = chat(local_stack, tmp_path, bob, f"/to {alice}\n/unmute\n")
    assert "-- " + alice + ": unmuted" in unmuted.stderr, unmuted.stdout + unmuted.stderr


def test_send_file_uploads_and_the_other_user_sees_a_download_line(local_stack, tmp_path: Path) -> None:
    alice, bob = unique("alice"), unique("bob")
    chat(local_stack, tmp_path, bob, "")
    notes = tmp_path / "notes one.txt"
    notes.write_text("the plan\n")
    chat(local_stack, tmp_path, alice, f"/to {bob}\nhi\n")
    sent = chat(local_stack, tmp_path, alice, f"/to {bob}\n/send-file {notes}\n")
    assert "-- uploaded notes one.txt (9 B)" in sent.stderr, sent.stdout + sent.stderr
    assert "you: [file] notes one.txt (text/plain, 9 B)  ✓ #2" in sent.stdout, sent.stdout + sent.stderr

    got = chat(local_stack, tmp_path, bob, "")
    [line] = [line for line in got.stdout.splitlines() if "[file] notes one.txt" in line]
    url = line.rsplit(" ", 1)[1]
    assert line.endswith(f"{alice}: [file] notes one.txt (text/plain, 9 B) {url}")
    with urllib.request.urlopen(url, timeout=10) as download:
        assert download.read() == b"the plan\n"
