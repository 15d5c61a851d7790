"""Push notifications: registerPush / unregisterPush, and the notify function on the Messages stream."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chat import clock, notifiers
from chat.notifiers import RecordingNotifier, SnsNotifier
from chat.store.models import PushTokenModel, UserModel
from local.streams import StreamReader
from tests.integration.conftest import drain
from tests.integration.support import invoke

APNS_TOKEN = "ab" * 32
WEBPUSH = json.dumps({"endpoint": "https://push.example/send/abc", "keys": {"p256dh": "BEl6" * 20, "auth": "c2VjcmV0"}})


def register(dev: Any, platform: str = "apns", token: str = APNS_TOKEN, **more: Any) -> dict[str, Any]:
    reply = dev.do({"action": "registerPush", "platform": platform, "token": token, **more})
    assert reply is not None and reply["type"] == "pushRegistered", reply
    return reply


def stored_tokens() -> dict[tuple[str, str], str]:
    return {(row.user_id, row.device_id): row.token for row in PushTokenModel.scan(consistent_read=True)}


def offline_phone(
    device: Any, *registration: Any, notified_first: StreamReader | None = None, **more: Any
) -> tuple[Any, Any, str]:
    """alice's phone registered for push (`register`'s arguments) and went offline; bob wrote to her once
    before she registered (a message `notified_first`, when given, has processed: nobody notified).
    Returns (phone, bob, their conversation)."""
    bob, phone = device("bob"), device("alice", "phone")
    conversation_id = bob.send("hello", to="alice")["conversationId"]
    if notified_first is not None:
        notify(notified_first)  # no token yet: nobody notified
    register(phone, *registration, **more)
    phone.disconnect()
    return phone, bob, conversation_id


def past_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clock, moved past the coalescing window of every alert so far."""
    later = clock.epoch_s() + 31
    monkeypatch.setattr(clock, "epoch_s", lambda: later)


@pytest.fixture
def chat(device: Any, notify_stream: StreamReader) -> Any:
    """alice's phone registered for push (APNs) and went offline; bob wrote to her once, before that."""
    return offline_phone(device, notified_first=notify_stream)


def notify(reader: StreamReader) -> dict[str, Any]:
    result = drain(reader, "notify")
    assert result == {"batchItemFailures": []}
    return result


def test_register_stores_the_devices_token_and_unregister_removes_it(device: Any) -> None:
    phone, laptop = device("alice", "phone"), device("alice", "laptop")

    reply = phone.do({"action": "registerPush", "platform": "apns", "token": APNS_TOKEN, "requestId": "r"})
    assert reply == {"type": "pushRegistered", "platform": "apns", "requestId": "r"}
    register(laptop, "webpush", WEBPUSH, previews=False)
    assert stored_tokens() == {("alice", "phone"): APNS_TOKEN, ("alice", "laptop"): WEBPUSH}

    register(phone, "fcm", "fcm-token-2")  # the device's new token replaces its old one
    assert stored_tokens()[("alice", "phone")] == "fcm-token-2"

    assert phone.do({"action": "unregisterPush", "requestId": "s"}) == {"type": "pushUnregistered", "requestId": "s"}
    assert stored_tokens() == {("alice", "laptop"): WEBPUSH}
    assert phone.do({"action": "unregisterPush"}) == {"type": "pushUnregistered"}  # nothing left: still answered


@pytest.mark.parametrize(
    "platform, token",
    [
        ("apns", "not hex"),
        ("apns", "ab" * 10),
        ("fcm", "has space"),
        ("webpush", "{}"),
        ("webpush", json.dumps({"endpoint": "http://plain.example/x", "keys": {"p256dh": "a", "auth": "b"}})),
        ("webpush", json.dumps({"endpoint": "https://p.example/" + "x" * 1100, "keys": {"p256dh": "a", "auth": "b"}})),
        ("webpush", json.dumps({"endpoint": "https://p.example/x", "keys": {"p256dh": "a" * 200, "auth": "b"}})),
        ("gcm", "token"),
    ],
)
def test_a_bad_token_is_bad_request_and_stores_nothing(device: Any, platform: str, token: str) -> None:
    reply = device("alice").do({"action": "registerPush", "platform": platform, "token": token})
    assert reply is not None and reply["code"] == "bad_request", reply
    assert stored_tokens() == {}


def test_an_offline_device_is_notified_once_for_a_burst(
    chat: Any, notify_stream: StreamReader, notifier: RecordingNotifier
) -> None:
    _phone, bob, conversation_id = chat
    for i in range(50):
        bob.send(f"message {i}", conversationId=conversation_id)
    notify(notify_stream)

    assert len(notifier.sent) == 1
    sent = notifier.sent[0]
    assert (sent["userId"], sent["deviceId"], sent["senderId"], sent["conversationId"]) == (
        "alice",
        "phone",
        "bob",
        conversation_id,
    )
    assert sent["preview"] == "message 0"
    assert json.loads(sent["message"]["APNS"])["aps"]["alert"] == {"title": "bob", "body": "message 0"}


def test_after_the_window_the_device_is_notified_again(
    chat: Any, notify_stream: StreamReader, notifier: RecordingNotifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    _phone, bob, conversation_id = chat
    bob.send("one", conversationId=conversation_id)
    notify(notify_stream)
    past_the_window(monkeypatch)
    bob.send("two", conversationId=conversation_id)
    notify(notify_stream)
    assert [n["preview"] for n in notifier.sent] == ["one", "two"]


def test_once_the_user_read_the_chat_elsewhere_the_next_message_alerts_at_once(
    chat: Any, device: Any, notify_stream: StreamReader, notifier: RecordingNotifier
) -> None:
    # Given alice's phone (offline) was alerted of "one", within the window
    _phone, bob, conversation_id = chat
    seq = bob.send("one", conversationId=conversation_id)["seq"]
    notify(notify_stream)
    bob.send("two", conversationId=conversation_id)
    notify(notify_stream)  # coalesced: she has not read "one" yet
    # When she reads the chat on her laptop, and bob writes again, still within the window
    laptop = device("alice", "laptop")
    assert laptop.do({"action": "read", "conversationId": conversation_id, "seq": seq + 1}) is None
    laptop.disconnect()
    bob.send("three", conversationId=conversation_id)
    notify(notify_stream)

    # Then her phone is alerted of it: it is news since she read
    assert [n["preview"] for n in notifier.sent] == ["one", "three"]


def test_a_muted_conversation_is_not_notified(
    device: Any, notify_stream: StreamReader, notifier: RecordingNotifier
) -> None:
    bob, laptop, phone = device("bob"), device("alice", "laptop"), device("alice", "phone")
    conversation_id = bob.send("hello", to="alice")["conversationId"]
    register(phone)
    phone.disconnect()
    laptop.do({"action": "mute", "conversationId": conversation_id})
    laptop.disconnect()
    bob.send("muted", conversationId=conversation_id)
    notify(notify_stream)
    assert notifier.sent == []


def test_an_online_device_and_the_senders_devices_are_not_notified(
    device: Any, notify_stream: StreamReader, notifier: RecordingNotifier
) -> None:
    bob, tablet, phone = device("bob"), device("bob", "tablet"), device("alice", "phone")
    conversation_id = bob.send("hello", to="alice")["conversationId"]
    register(phone)  # alice's phone stays connected
    register(tablet, "fcm", "bobs-tablet")
    tablet.disconnect()  # bob's other device is offline, but bob is the sender
    bob.send("hi", conversationId=conversation_id)
    notify(notify_stream)
    assert notifier.sent == []


def test_a_token_the_platform_rejects_is_removed(
    device: Any, notify_stream: StreamReader, notifier: RecordingNotifier
) -> None:
    _phone, bob, conversation_id = offline_phone(device, "fcm", "rejected-uninstalled")
    bob.send("anyone there?", conversationId=conversation_id)
    notify(notify_stream)
    assert [n["token"] for n in notifier.rejected] == ["rejected-uninstalled"]
    assert stored_tokens() == {}
    assert not UserModel.get("alice", consistent_read=True).push_devices  # no longer read for each message


def test_previews_off_sends_no_text(device: Any, notify_stream: StreamReader, notifier: RecordingNotifier) -> None:
    bob, phone = device("bob"), device("alice", "phone")
    conversation_id = bob.send("hello", to="alice")["conversationId"]
    assert register(phone, previews=False)["previews"] is False
    phone.disconnect()
    bob.send("a secret", conversationId=conversation_id)
    notify(notify_stream)
    (sent,) = notifier.sent
    assert sent["preview"] is None
    assert "a secret" not in json.dumps(sent)
    assert json.loads(sent["message"]["GCM"])["notification"]["body"] == "New message"


def test_a_failed_send_fails_the_record_and_its_retry_notifies(
    chat: Any, notify_stream: StreamReader, notifier: RecordingNotifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    _phone, bob, conversation_id = chat
    real_send = notifier.send
    calls = []

    def flaky(notification: Any) -> Any:
        calls.append(notification)
        if len(calls) == 1:
            raise RuntimeError("the push service is down")
        return real_send(notification)

    monkeypatch.setattr(notifier, "send", flaky)
    bob.send("one", conversationId=conversation_id)
    event = notify_stream.event()
    with pytest.raises(Exception, match="All records failed"):
        invoke("notify", event)
    assert invoke("notify", event) == {"batchItemFailures": []}  # Lambda's retry: the marker was given back
    assert [n["preview"] for n in notifier.sent] == ["one"]


# ---- Amazon SNS (moto) ---------------------------------------------------------------------------------------


@pytest.fixture
def sns(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """SNS platform applications named as cdk.json names them (the tested template's), and the SNS
    notifier as the functions use it in AWS."""
    client = boto3.client("sns", region_name="us-east-1")
    applications = {
        "apns": client.create_platform_application(Name="chat-apns", Platform="APNS", Attributes={})[
            "PlatformApplicationArn"
        ],
        "fcm": client.create_platform_application(Name="chat-fcm", Platform="GCM", Attributes={})[
            "PlatformApplicationArn"
        ],
    }
    sns_notifier = SnsNotifier(applications=applications)
    monkeypatch.setattr(notifiers, "default_notifier", lambda: sns_notifier)
    return client


def endpoints(client: Any) -> dict[str, dict[str, str]]:
    found = {}
    for app in client.list_platform_applications()["PlatformApplications"]:
        for endpoint in client.list_endpoints_by_platform_application(
            PlatformApplicationArn=app["PlatformApplicationArn"]
        )["Endpoints"]:
            found[endpoint["EndpointArn"]] = endpoint["Attributes"]
    return found


def test_sns_an_endpoint_per_token_published_to_then_removed_once_disabled(
    chat: Any, sns: Any, notify_stream: StreamReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    _phone, bob, conversation_id = chat
    bob.send("hi", conversationId=conversation_id)
    notify(notify_stream)

    (endpoint_arn,) = endpoints(sns)
    assert ":endpoint/APNS/chat-apns/" in endpoint_arn
    assert PushTokenModel.get("alice", "phone", consistent_read=True).endpoint_arn == endpoint_arn

    # The platform gave up on the token (the app was removed): SNS disables the endpoint.
    sns.set_endpoint_attributes(EndpointArn=endpoint_arn, Attributes={"Enabled": "false"})
    past_the_window(monkeypatch)
    bob.send("still there?", conversationId=conversation_id)
    notify(notify_stream)

    assert endpoints(sns) == {}
    assert stored_tokens() == {}


def test_sns_an_unconfigured_platform_is_skipped(
    device: Any, sns: Any, notify_stream: StreamReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    _phone, bob, conversation_id = offline_phone(device, "webpush", WEBPUSH)
    bob.send("hi", conversationId=conversation_id)
    notify(notify_stream)
    assert endpoints(sns) == {}
    assert stored_tokens() == {("alice", "phone"): WEBPUSH}  # kept: nothing rejected it


def test_sns_a_new_token_or_signing_out_deletes_the_old_endpoint(
    chat: Any, sns: Any, notify_stream: StreamReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone, bob, conversation_id = chat
    bob.send("hi", conversationId=conversation_id)
    notify(notify_stream)
    assert len(endpoints(sns)) == 1

    phone.connect()
    register(phone, "fcm", "a-new-fcm-token")
    assert endpoints(sns) == {}  # the APNs endpoint of the replaced token
    phone.disconnect()
    past_the_window(monkeypatch)
    bob.send("again", conversationId=conversation_id)
    notify(notify_stream)
    (endpoint_arn,) = endpoints(sns)
    assert ":endpoint/GCM/chat-fcm/" in endpoint_arn

    assert phone.do({"action": "unregisterPush"}) == {"type": "pushUnregistered"}
    assert endpoints(sns) == {}
    assert stored_tokens() == {}


def test_sns_a_disabled_fcm_endpoint_is_deleted_too(
    device: Any, sns: Any, notify_stream: StreamReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    _phone, bob, conversation_id = offline_phone(device, "fcm", "fcm-registration-token")
    bob.send("hi", conversationId=conversation_id)
    notify(notify_stream)
    (endpoint_arn,) = endpoints(sns)
    assert ":endpoint/GCM/chat-fcm/" in endpoint_arn

    sns.set_endpoint_attributes(EndpointArn=endpoint_arn, Attributes={"Enabled": "false"})
    past_the_window(monkeypatch)
    bob.send("still there?", conversationId=conversation_id)
    notify(notify_stream)

    assert endpoints(sns) == {}
    assert stored_tokens() == {}


def test_sns_an_application_named_but_never_made_skips_the_notification_without_failing(
    chat: Any, notify_stream: StreamReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployment whose cdk.json names an APNs application nobody made in the account
    missing = "arn:aws:sns:us-east-1:123456789012:app/APNS/chat-apns"
    monkeypatch.setattr(notifiers, "default_notifier", lambda: SnsNotifier(applications={"apns": missing}))
    _phone, bob, conversation_id = chat

    # When a message is stored: the record succeeds (nothing to retry), nothing is sent, the token stays
    bob.send("hi", conversationId=conversation_id)
    notify(notify_stream)

    assert PushTokenModel.get("alice", "phone", consistent_read=True).endpoint_arn is None


def test_in_a_group_only_the_members_with_a_registered_device_have_their_tokens_read(
    device: Any, notify_stream: StreamReader, notifier: RecordingNotifier
) -> None:
    from local.capacity_counter import CapacityCounter

    # Given a group of 30 where one member's tablet registered and went offline (its phone stays online)
    owner = device("owner")
    others = [f"m{i:02d}" for i in range(29)]
    for user_id in others:
        device(user_id, "phone")
    group = owner.do({"action": "createGroup", "name": "big", "members": others})
    assert group is not None
    tablet = device("m07", "tablet")
    register(tablet)
    tablet.disconnect()
    notify(notify_stream)

    # When a message is stored: one BatchGetItem finds the one member with a device; one Query its tokens
    with CapacityCounter().installed() as counting:
        owner.send("hello all", conversationId=group["conversationId"])
        notify(notify_stream)

    assert [n["userId"] for n in notifier.sent] == ["m07"]
    requests = dict(counting.of("notify").requests)
    assert requests["BatchGetItem"] == 1 and requests["Query"] == 1 + 1 + 1, requests  # members, tokens, sockets


def test_a_device_that_unregisters_is_no_longer_listed(device: Any) -> None:
    phone = device("alice", "phone")
    register(phone)
    assert UserModel.get("alice", consistent_read=True).push_devices == {"phone"}

    assert phone.do({"action": "unregisterPush"})["type"] == "pushUnregistered"  # type: ignore[index]

    assert not UserModel.get("alice", consistent_read=True).push_devices


def test_sns_a_token_that_passed_to_another_user_is_taken_over_with_its_endpoint(
    chat: Any, sns: Any, device: Any, notify_stream: StreamReader
) -> None:
    # Given alice's phone has an endpoint for its token
    _phone, bob, conversation_id = chat
    bob.send("hi", conversationId=conversation_id)
    notify(notify_stream)
    (endpoint_arn,) = endpoints(sns)

    # When the phone, signed in as carol now (alice never signed out), registers the same token
    carol = device("carol", "phone")
    register(carol)
    carol.disconnect()
    # alice's row for it is gone: her notifications must not reach carol's phone
    assert stored_tokens() == {("carol", "phone"): APNS_TOKEN}
    assert not UserModel.get("alice", consistent_read=True).push_devices
    bob.send("hi carol", to="carol")
    result = notify(notify_stream)

    # Then SNS answers the endpoint the token has: no second endpoint, no failed record
    assert result == {"batchItemFailures": []}
    assert list(endpoints(sns)) == [endpoint_arn]
    assert PushTokenModel.get("carol", "phone", consistent_read=True).endpoint_arn == endpoint_arn
