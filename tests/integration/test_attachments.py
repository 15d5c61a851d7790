"""Attachments through S3 (docs/PROTOCOL.md, "Attachments"): requestUpload for members only, the upload
through the presigned POST, a send that carries it only once it is proven uploaded as promised, download
URLs for the members who get the message, and a deleted message that loses its attachment."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
import pytest
import requests

from chat.attachments import object_key, upload_key
from chat.config import bucket_name
from chat.protocol import MAX_ATTACHMENT_BYTES
from chat.store.models import MessageModel
from chat.topology import ATTACHMENTS
from local.streams import StreamReader
from tests.integration.conftest import run_fanout
from tests.integration.support import FakePoster, table_contents

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture
def chat(device: Any) -> Any:
    """ann and ben in a group; cat is not in it."""
    ann, ben, cat = device("ann"), device("ben"), device("cat")
    group = ann.do({"action": "createGroup", "name": "trip", "members": ["ben"]})["conversationId"]
    return ann, ben, cat, group


def request_upload(dev: Any, group: str, size: int = len(PHOTO), content_type: str = "image/png") -> dict[str, Any]:
    reply = dev.do(
        {
            "action": "requestUpload",
            "conversationId": group,
            "contentType": content_type,
            "size": size,
            "name": "beach.png",
            "requestId": "u1",
        }
    )
    assert reply is not None
    return reply  # type: ignore[no-any-return]


def upload(ready: dict[str, Any], data: bytes = PHOTO) -> requests.Response:
    """What a browser form does with `uploadReady`: every field, then the file, POSTed to the URL."""
    return requests.post(ready["url"], data=ready["fields"], files={"file": ("beach.png", data)}, timeout=10)


def attachment(ready: dict[str, Any], size: int = len(PHOTO), content_type: str = "image/png") -> dict[str, Any]:
    return {
        "attachmentId": ready["attachmentId"],
        "contentType": content_type,
        "size": size,
        "name": "beach.png",
        "width": 640,
        "height": 480,
    }


def without_dimensions(sent_attachment: dict[str, Any]) -> dict[str, Any]:
    """As a client sends a file that is not an image: no width, no height (left out, never null)."""
    return {k: v for k, v in sent_attachment.items() if k not in ("width", "height")}


def send_with(dev: Any, group: str, sent_attachment: dict[str, Any], text: str = "") -> dict[str, Any]:
    frame = {
        "action": "send",
        "conversationId": group,
        "clientMsgId": uuid.uuid4().hex,
        "body": {"text": text},
        "attachment": sent_attachment,
    }
    reply = dev.call("send", frame)
    assert reply is not None
    return reply  # type: ignore[no-any-return]


def objects() -> list[str]:
    listed = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket=bucket_name(ATTACHMENTS))
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_a_member_gets_a_presigned_post_for_the_conversation(chat: Any) -> None:
    ann, _ben, _cat, group = chat
    ready = request_upload(ann, group)
    assert ready["type"] == "uploadReady" and ready["requestId"] == "u1"
    assert len(ready["attachmentId"]) == 32 and ready["maxSize"] == len(PHOTO)
    assert ready["fields"]["key"] == upload_key(group, ready["attachmentId"])
    assert ready["fields"]["Content-Type"] == "image/png"
    assert ready["fields"]["x-amz-meta-uploader"] == "ann"
    assert "policy" in ready["fields"] and "x-amz-signature" in ready["fields"]
    assert ready["expiresAt"] > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    assert upload(ready).status_code == 204
    assert objects() == [upload_key(group, ready["attachmentId"])]


@pytest.mark.parametrize(
    ("size", "content_type", "message"),
    [
        (MAX_ATTACHMENT_BYTES + 1, "image/png", "size"),
        (0, "image/png", "size"),
        (100, "application/x-msdownload", "contentType"),
        (100, "text/html", "contentType"),
    ],
)
def test_too_big_or_a_type_not_allowed_is_refused(chat: Any, size: int, content_type: str, message: str) -> None:
    ann, _ben, _cat, group = chat
    reply = request_upload(ann, group, size=size, content_type=content_type)
    assert reply["type"] == "error" and reply["code"] == "bad_request" and message in reply["message"]


def test_a_non_member_gets_no_upload(chat: Any) -> None:
    _ann, _ben, cat, group = chat
    reply = request_upload(cat, group)
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    reply = request_upload(cat, "g_nope")
    assert reply["type"] == "error" and reply["code"] == "not_found"


def test_the_recipient_gets_a_url_that_downloads_the_bytes(
    chat: Any, poster: FakePoster, messages_stream: StreamReader
) -> None:
    ann, ben, cat, group = chat
    ready = request_upload(ann, group)
    assert upload(ready).status_code == 204
    sent = send_with(ann, group, attachment(ready), text="look")
    assert sent["type"] == "sent", sent
    assert object_key(group, ready["attachmentId"]) in objects()
    stored = MessageModel.get(group, sent["seq"], consistent_read=True)
    assert stored.attachment.as_dict() == {
        "attachmentId": ready["attachmentId"],
        "contentType": "image/png",
        "size": len(PHOTO),
        "name": "beach.png",
        "width": 640,
        "height": 480,
    }  # metadata only: no URL is stored

    run_fanout(messages_stream)
    [live] = [f for f in poster.of_type(ben.connection_id, "message") if f["seq"] == sent["seq"]]
    assert live["body"] == {"text": "look"}
    got = live["attachment"]
    assert {k: got[k] for k in ("attachmentId", "contentType", "size", "name", "width", "height")} == attachment(ready)
    assert got["urlExpiresAt"] > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 3500))
    download = requests.get(got["url"], timeout=10)
    assert download.status_code == 200 and download.content == PHOTO
    assert poster.of_type(cat.connection_id, "message") == []  # not a member: no frame, no URL

    # sync and history hand out URLs too (fresh ones); a non-member gets neither.
    [synced] = [f for f in poster.of_type(ben.connection_id, "message") if f["seq"] == sent["seq"]]
    history = ben.do({"action": "history", "conversationId": group})
    [old] = [m for m in history["messages"] if m["seq"] == sent["seq"]]
    assert requests.get(old["attachment"]["url"], timeout=10).content == PHOTO
    ben.do({"action": "sync", "cursors": {group: sent["seq"] - 1}})
    from_sync = [f for f in poster.of_type(ben.connection_id, "message") if f["seq"] == sent["seq"]]
    assert len(from_sync) == 2 and requests.get(from_sync[-1]["attachment"]["url"], timeout=10).content == PHOTO
    assert synced is not None
    refused = cat.do({"action": "history", "conversationId": group})
    assert refused is not None and refused["type"] == "error" and refused["code"] == "forbidden"


def test_an_attachment_never_uploaded_is_refused_and_nothing_is_stored(chat: Any) -> None:
    ann, _ben, _cat, group = chat
    ready = request_upload(ann, group)  # never uploaded
    before = table_contents(but=("Limits",))
    reply = send_with(ann, group, attachment(ready), text="caption")
    assert reply["type"] == "error" and reply["code"] == "bad_request" and "not uploaded" in reply["message"]
    assert table_contents(but=("Limits",)) == before
    assert objects() == []


def test_a_wrong_size_or_type_is_refused(chat: Any) -> None:
    ann, _ben, _cat, group = chat
    ready = request_upload(ann, group)
    assert upload(ready).status_code == 204
    before = table_contents(but=("Limits",))
    reply = send_with(ann, group, attachment(ready, size=len(PHOTO) + 1))
    assert reply["type"] == "error" and reply["code"] == "bad_request" and "bytes were uploaded" in reply["message"]
    reply = send_with(ann, group, attachment(ready, content_type="image/jpeg"))
    assert reply["type"] == "error" and reply["code"] == "bad_request" and "contentType" in reply["message"]
    assert table_contents(but=("Limits",)) == before
    assert objects() == [upload_key(group, ready["attachmentId"])]  # not copied


def test_someone_elses_upload_cannot_be_sent(chat: Any) -> None:
    ann, ben, _cat, group = chat
    ready = request_upload(ann, group)
    assert upload(ready).status_code == 204
    reply = send_with(ben, group, attachment(ready))
    assert reply["type"] == "error" and reply["code"] == "bad_request"


def test_an_upload_for_another_conversation_cannot_be_sent(chat: Any, device: Any) -> None:
    ann, _ben, _cat, group = chat
    other = ann.do({"action": "createGroup", "name": "work", "members": ["cat"]})["conversationId"]
    ready = request_upload(ann, other)
    assert upload(ready).status_code == 204
    reply = send_with(ann, group, attachment(ready))
    assert reply["type"] == "error" and reply["code"] == "bad_request"


def test_empty_text_needs_an_attachment(chat: Any) -> None:
    ann, _ben, _cat, group = chat
    reply = ann.call("send", {"action": "send", "conversationId": group, "clientMsgId": "e", "body": {"text": ""}})
    assert reply is not None and reply["code"] == "bad_request" and "attachment" in reply["message"]


def test_a_deleted_message_loses_its_attachment_and_its_object(
    chat: Any, poster: FakePoster, messages_stream: StreamReader
) -> None:
    ann, ben, _cat, group = chat
    ready = request_upload(ann, group)
    assert upload(ready).status_code == 204
    sent = send_with(ann, group, attachment(ready), text="oops")
    run_fanout(messages_stream)
    [live] = [f for f in poster.of_type(ben.connection_id, "message") if f["seq"] == sent["seq"]]
    url = live["attachment"]["url"]

    # An edit or a reaction hands the attachment (and a URL) out again with the changed message.
    edited = ann.do({"action": "edit", "conversationId": group, "seq": sent["seq"], "body": {"text": "look"}})
    assert edited is not None and edited["message"]["attachment"]["attachmentId"] == ready["attachmentId"]

    deleted = ann.do({"action": "delete", "conversationId": group, "seq": sent["seq"]})
    assert deleted is not None and deleted["type"] == "messageChanged", deleted
    assert "attachment" not in deleted["message"]
    assert MessageModel.get(group, sent["seq"], consistent_read=True).attachment is None
    assert object_key(group, ready["attachmentId"]) not in objects()
    assert requests.get(url, timeout=10).status_code == 404
    history = ben.do({"action": "history", "conversationId": group})
    [gone] = [m for m in history["messages"] if m["seq"] == sent["seq"]]
    assert gone["deleted"] is True and "attachment" not in gone


@pytest.mark.parametrize("dimensions", [True, False], ids=["image", "without-dimensions"])
def test_a_send_queued_for_a_busy_conversation_keeps_its_attachment(chat: Any, dimensions: bool) -> None:
    from chat.store.models import ConversationModel
    from tests.integration.conftest import run_sequencer

    ann, _ben, _cat, group = chat
    ready = request_upload(ann, group)
    assert upload(ready).status_code == 204
    # The sequencer stored a send a moment ago: sends go to the queue, proven and copied before.
    ConversationModel(conversation_id=group).update(actions=[ConversationModel.busy_until.set(int(time.time()) + 60)])
    frame = {
        "action": "send",
        "conversationId": group,
        "clientMsgId": "queued-photo",
        "body": {"text": ""},
        "attachment": attachment(ready) if dimensions else without_dimensions(attachment(ready)),
    }
    assert ann.call("send", frame) is None  # queued
    assert object_key(group, ready["attachmentId"]) in objects()
    run_sequencer()
    answer = ann.answer_to("queued-photo")
    assert answer is not None and answer["type"] == "sent", answer
    stored = MessageModel.get(group, answer["seq"], consistent_read=True)
    assert stored.attachment.as_dict()["attachmentId"] == ready["attachmentId"]


def test_a_file_downloads_under_its_name_and_a_photo_shows_inline(chat: Any) -> None:
    ann, ben, _cat, group = chat
    report = "Q3 report \u2013 draft.pdf"  # a name beyond ASCII (an en dash)
    data = b"%PDF-1.4 not really"
    ready = ann.do(
        {"action": "requestUpload", "conversationId": group, "contentType": "application/pdf", "size": len(data),
         "name": report}
    )  # fmt: skip
    assert ready is not None and upload(ready, data).status_code == 204
    pdf = {"attachmentId": ready["attachmentId"], "contentType": "application/pdf", "size": len(data), "name": report}
    assert send_with(ann, group, pdf)["type"] == "sent"
    photo_ready = request_upload(ann, group)
    assert upload(photo_ready).status_code == 204
    assert send_with(ann, group, attachment(photo_ready))["type"] == "sent"

    history = ben.do({"action": "history", "conversationId": group})
    assert history is not None
    by_id = {m["attachment"]["attachmentId"]: m["attachment"]["url"] for m in history["messages"] if "attachment" in m}
    as_file = requests.get(by_id[ready["attachmentId"]], timeout=10)
    as_photo = requests.get(by_id[photo_ready["attachmentId"]], timeout=10)

    assert as_file.content == data
    assert as_file.headers["Content-Disposition"] == (
        "attachment; filename=\"Q3 report _ draft.pdf\"; filename*=UTF-8''Q3%20report%20%E2%80%93%20draft.pdf"
    )
    assert as_photo.content == PHOTO and "Content-Disposition" not in as_photo.headers
