"""The push notification rules that need no AWS: coalescing, previews and the platforms' payloads."""

from __future__ import annotations

import json

from chat.domain import Attachment, Message, Notification, PushToken
from chat.notifiers import NO_PREVIEW_BODY, is_rejected_token, platform_message
from chat.notify import PREVIEW_CHARS, preview_of, preview_text

DEVICE = PushToken("alice", "phone", "apns", "ab" * 32, "2026-01-01T00:00:00.000Z")


def test_a_preview_is_one_line_of_at_most_100_characters() -> None:
    assert preview_of("hi") == "hi"
    assert preview_of("two\nlines\t and  spaces") == "two lines and spaces"
    exact = "x" * PREVIEW_CHARS
    assert preview_of(exact) == exact
    cut = preview_of("y" * 150)
    assert len(cut) == PREVIEW_CHARS and cut.endswith("…")
    assert len(preview_of("é" * 4096)) == PREVIEW_CHARS


def test_the_payload_has_a_message_per_platform_with_the_sender_and_preview() -> None:
    message = platform_message(Notification(DEVICE, "c1", 7, "bob", "hello"))
    assert set(message) == {"default", "APNS", "APNS_SANDBOX", "GCM"}
    apns = json.loads(message["APNS"])
    assert apns["aps"]["alert"] == {"title": "bob", "body": "hello"}
    assert (apns["aps"]["thread-id"], apns["conversationId"], apns["seq"]) == ("c1", "c1", 7)
    assert message["APNS_SANDBOX"] == message["APNS"]
    gcm = json.loads(message["GCM"])
    assert gcm["notification"]["title"] == "bob" and gcm["notification"]["body"] == "hello"
    assert gcm["data"] == {"conversationId": "c1", "seq": "7"}  # FCM data values are strings


def test_without_previews_the_payload_holds_no_text() -> None:
    message = platform_message(Notification(DEVICE, "c1", 7, "bob", None))
    assert message["default"] == NO_PREVIEW_BODY
    assert json.loads(message["APNS"])["aps"]["alert"]["body"] == NO_PREVIEW_BODY


def test_the_recording_notifier_rejects_tokens_marked_so() -> None:
    assert is_rejected_token(PushToken("a", "d", "fcm", "rejected-1", ""))
    assert not is_rejected_token(PushToken("a", "d", "fcm", "fine", ""))
    sub = {"endpoint": "https://push.example/x/rejected-2", "keys": {"p256dh": "a", "auth": "b"}}
    assert is_rejected_token(PushToken("a", "d", "webpush", json.dumps(sub), ""))


def test_a_photo_or_file_without_a_caption_is_previewed_as_what_it_is() -> None:
    def message(text: str, attachment: Attachment | None) -> Message:
        return Message("c", 1, "ann", "phone", "conn", "m1", text, "2026-01-01T00:00:00.000Z", attachment=attachment)

    photo = Attachment("a1", "image/jpeg", 2048)
    report = Attachment("a2", "application/pdf", 4096, name="report.pdf")

    assert preview_text(message("", photo)) == "\U0001f4f7 Photo"
    assert preview_text(message("", report)) == "\U0001f4ce report.pdf"
    assert preview_text(message("look at this", photo)) == "look at this"
    assert preview_text(message("plain", None)) == "plain"
