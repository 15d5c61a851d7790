"""Attachments over real sockets and real HTTP: requestUpload, the upload through the presigned POST as a
browser on the web client's page sends it (CORS), the send that carries it, and the recipient's download
through the presigned GET URL it is pushed."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import requests

from tests.conftest import is_message, unique

FILE = os.urandom(5000)


def post_upload(ready: dict[str, Any], origin: str, data: bytes = FILE) -> requests.Response:
    return requests.post(
        ready["url"],
        data=ready["fields"],
        files={"file": ("notes.pdf", data, "application/pdf")},
        headers={"Origin": origin},
        timeout=10,
    )


async def test_upload_through_the_presigned_post_send_and_download(ws_connect, local_stack) -> None:  # type: ignore[no-untyped-def]
    alice, bob = unique("alice"), unique("bob")
    alice_phone, bob_phone = await ws_connect(alice, "phone"), await ws_connect(bob, "phone")
    first = await alice_phone.request({"action": "send", "to": bob, "clientMsgId": "t1", "body": {"text": "hi"}})
    conversation = first["conversationId"]
    web_origin = local_stack.http_url  # the web client's page is served by the stack itself

    ready = await alice_phone.request(
        {
            "action": "requestUpload",
            "conversationId": conversation,
            "contentType": "application/pdf",
            "size": len(FILE),
            "name": "notes.pdf",
        }
    )
    assert ready["type"] == "uploadReady", ready
    assert ready["url"].startswith("http://127.0.0.1:")  # reachable from this machine's browser and tests

    uploaded = await asyncio.to_thread(post_upload, ready, web_origin)
    assert uploaded.status_code == 204, uploaded.text
    assert uploaded.headers.get("Access-Control-Allow-Origin") == web_origin

    sent = await alice_phone.request(
        {
            "action": "send",
            "conversationId": conversation,
            "clientMsgId": "f1",
            "body": {"text": ""},
            "attachment": {
                "attachmentId": ready["attachmentId"],
                "contentType": "application/pdf",
                "size": len(FILE),
                "name": "notes.pdf",
            },
        }
    )
    assert sent["type"] == "sent" and sent["seq"] == 2, sent

    pushed = await bob_phone.wait_for(is_message(conversation, 2))
    attachment = pushed["attachment"]
    assert (attachment["name"], attachment["size"], attachment["contentType"]) == (
        "notes.pdf",
        len(FILE),
        "application/pdf",
    )
    download = await asyncio.to_thread(requests.get, attachment["url"], headers={"Origin": web_origin}, timeout=10)
    assert download.status_code == 200 and download.content == FILE
    assert download.headers.get("Access-Control-Allow-Origin") == web_origin

    # A page from anywhere else is not let in by CORS: the browser would not hand it the answer.
    foreign = await asyncio.to_thread(
        requests.get, attachment["url"], headers={"Origin": "http://evil.example"}, timeout=10
    )
    assert "Access-Control-Allow-Origin" not in foreign.headers


async def test_an_attachment_never_uploaded_is_refused(ws_connect) -> None:  # type: ignore[no-untyped-def]
    alice, bob = unique("alice"), unique("bob")
    alice_phone = await ws_connect(alice, "phone")
    await ws_connect(bob, "phone")
    first = await alice_phone.request({"action": "send", "to": bob, "clientMsgId": "t1", "body": {"text": "hi"}})
    conversation = first["conversationId"]
    ready = await alice_phone.request(
        {"action": "requestUpload", "conversationId": conversation, "contentType": "image/png", "size": 10}
    )
    refused = await alice_phone.request(
        {
            "action": "send",
            "conversationId": conversation,
            "clientMsgId": "f1",
            "body": {"text": "look"},
            "attachment": {"attachmentId": ready["attachmentId"], "contentType": "image/png", "size": 10},
        }
    )
    assert (refused["type"], refused["code"]) == ("error", "bad_request"), refused
    history = await alice_phone.request({"action": "history", "conversationId": conversation})
    assert [m["seq"] for m in history["messages"]] == [1]
