"""Where push notifications go: a `Notifier` sends one to one device.

- `SnsNotifier` (AWS): Amazon SNS mobile push. Per device token, a platform endpoint on the platform
  application of its platform (CreatePlatformEndpoint, its ARN kept on the token's row), checked once
  when made (GetEndpointAttributes: SNS hands back an existing endpoint of the same token, maybe disabled)
  and published to with one JSON message per platform (MessageStructure json). A token the platform
  rejects (an endpoint disabled, EndpointDisabled or InvalidParameter from Publish) is `rejected`: its
  endpoint is deleted here, its row by the caller. A platform whose application the deployment did not
  configure (PUSH_APNS_APPLICATION_ARN, PUSH_FCM_APPLICATION_ARN) is skipped with a log line; so is
  webpush, which SNS has no platform for.
- `RecordingNotifier` (the local stack, tests): records what would have been sent (`/dev/notifications`).
  A token starting with "rejected-" (for webpush, a subscription endpoint whose last path segment does)
  is answered as a platform rejecting it.

PUSH_NOTIFIER says which (`sns` or `recording`).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Literal, Protocol

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from chat import clock, config
from chat.domain import Notification, PushToken
from chat.observability import logger

ENV_NOTIFIER = "PUSH_NOTIFIER"
# Platform -> the variable carrying its SNS platform application's ARN (set only when configured).
ENV_PLATFORM_APPLICATIONS = {"apns": "PUSH_APNS_APPLICATION_ARN", "fcm": "PUSH_FCM_APPLICATION_ARN"}
# The recording notifier answers a token starting with this as rejected by its platform.
REJECTED_PREFIX = "rejected-"
# What a notification says when the user turned previews off.
NO_PREVIEW_BODY = "New message"

Outcome = Literal["sent", "rejected", "skipped"]


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    # The SNS endpoint the token has now, when the notifier made one (to keep on the token's row).
    endpoint_arn: str | None = None


class Notifier(Protocol):
    def send(self, notification: Notification) -> Delivery: ...

    def forget(self, token: PushToken) -> None:
        """The device signed out or registered another token: drop what was made for this one."""


# ---- the platforms' payloads (pure) ---------------------------------------------------------------------


def platform_message(notification: Notification) -> dict[str, str]:
    """SNS's MessageStructure json: a message per platform, each itself JSON text."""
    body = notification.preview if notification.preview is not None else NO_PREVIEW_BODY
    data = {"conversationId": notification.conversation_id, "seq": notification.seq}
    apns = {
        "aps": {
            "alert": {"title": notification.sender_id, "body": body},
            "sound": "default",
            "thread-id": notification.conversation_id,
        },
        **data,
    }
    gcm = {
        "notification": {"title": notification.sender_id, "body": body, "tag": notification.conversation_id},
        "data": {key: str(value) for key, value in data.items()},
    }
    return {
        "default": body,
        "APNS": json.dumps(apns, ensure_ascii=False),
        "APNS_SANDBOX": json.dumps(apns, ensure_ascii=False),
        "GCM": json.dumps(gcm, ensure_ascii=False),
    }


def is_rejected_token(token: PushToken) -> bool:
    """The recording notifier's stand-in for a platform rejecting a token."""
    if token.token.startswith(REJECTED_PREFIX):
        return True
    if token.platform == "webpush":
        endpoint = str(json.loads(token.token).get("endpoint", ""))
        return endpoint.rstrip("/").rsplit("/", 1)[-1].startswith(REJECTED_PREFIX)
    return False


# ---- recording ---------------------------------------------------------------------------------------------


class RecordingNotifier:
    """Records each notification instead of sending it (process-wide, so `/dev/notifications` sees them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self.forgotten: list[dict[str, Any]] = []

    def send(self, notification: Notification) -> Delivery:
        device = notification.device
        entry = {
            "userId": device.user_id,
            "deviceId": device.device_id,
            "platform": device.platform,
            "token": device.token,
            "conversationId": notification.conversation_id,
            "seq": notification.seq,
            "senderId": notification.sender_id,
            "preview": notification.preview,
            "message": platform_message(notification),
            "at": clock.now_iso(),
        }
        with self._lock:
            if is_rejected_token(device):
                self.rejected.append(entry)
                return Delivery("rejected")
            self.sent.append(entry)
        return Delivery("sent")

    def forget(self, token: PushToken) -> None:
        with self._lock:
            self.forgotten.append(asdict(token))

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {
                "notifications": list(self.sent),
                "rejected": list(self.rejected),
                "forgotten": list(self.forgotten),
            }

    def clear(self) -> None:
        with self._lock:
            self.sent.clear()
            self.rejected.clear()
            self.forgotten.clear()


# ---- Amazon SNS --------------------------------------------------------------------------------------------

# Publish errors that mean the platform will not take this token again.
REJECTING_ERRORS = ("EndpointDisabled", "InvalidParameter")


class SnsNotifier:
    def __init__(self, client: Any = None, applications: dict[str, str] | None = None) -> None:
        self._client: Any = client or botocore.session.get_session().create_client(
            "sns",
            region_name=config.region(),
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5),
        )
        self.applications = applications if applications is not None else platform_applications()

    def send(self, notification: Notification) -> Delivery:
        device = notification.device
        application = self.applications.get(device.platform)
        if application is None:
            logger.info(
                "push platform not configured: notification skipped",
                extra={"platform": device.platform, "userId": device.user_id, "deviceId": device.device_id},
            )
            return Delivery("skipped")
        endpoint = device.endpoint_arn
        if endpoint is None:
            try:
                endpoint = self._client.create_platform_endpoint(
                    # No CustomUserData: SNS refuses a second endpoint for a token with other attributes
                    # (a phone passed to another user), and answers the existing one when they match.
                    PlatformApplicationArn=application,
                    Token=device.token,
                )["EndpointArn"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "NotFound":
                    raise
                # Named in the stack but not made in the account: retrying cannot help.
                logger.error(
                    "push platform application not found: notification skipped", extra={"application": application}
                )
                return Delivery("skipped")
            # SNS answers with the endpoint the token already has, which the platform may have disabled.
            attributes = self._client.get_endpoint_attributes(EndpointArn=endpoint)["Attributes"]
            if attributes.get("Enabled", "true").lower() == "false":
                return self._rejected(endpoint, "endpoint disabled")
        try:
            self._client.publish(
                TargetArn=endpoint,
                MessageStructure="json",
                Message=json.dumps(platform_message(notification), ensure_ascii=False),
                MessageAttributes={
                    # One alert per conversation on the lock screen: a later one replaces it.
                    "AWS.SNS.MOBILE.APNS.COLLAPSE_ID": {
                        "DataType": "String",
                        "StringValue": notification.conversation_id[:64],
                    },
                },
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in REJECTING_ERRORS:
                return self._rejected(endpoint, code)
            raise
        return Delivery("sent", endpoint)

    def _rejected(self, endpoint: str, why: str) -> Delivery:
        logger.info("push token rejected by its platform: endpoint deleted", extra={"reason": why})
        self._client.delete_endpoint(EndpointArn=endpoint)
        return Delivery("rejected")

    def forget(self, token: PushToken) -> None:
        if token.endpoint_arn:
            self._client.delete_endpoint(EndpointArn=token.endpoint_arn)


def platform_applications() -> dict[str, str]:
    """Platform -> its SNS platform application ARN, for the platforms the deployment configured."""
    return {platform: os.environ[env] for platform, env in ENV_PLATFORM_APPLICATIONS.items() if os.environ.get(env)}


@lru_cache(maxsize=1)
def recording() -> RecordingNotifier:
    return RecordingNotifier()


@lru_cache(maxsize=1)
def default_notifier() -> Notifier:
    kind = os.environ.get(ENV_NOTIFIER)
    if kind == "recording":
        return recording()
    if kind == "sns":
        return SnsNotifier()
    raise config.ConfigurationError(f"{ENV_NOTIFIER} must be sns or recording, not {kind!r}")
