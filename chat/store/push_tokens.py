"""The PushTokens table: one row per device (userId, deviceId) that registered for push notifications,
and the notification markers that coalesce a burst into one alert (in the Limits table).

The user's Users item lists its devices with a token (`pushDevices`), so `notify` finds who has any in
one BatchGetItem per 100 members (with their previews setting) and queries the tokens of those users
only: a 500-member group costs 5 reads, not 500 Queries. The list is written before a row is stored and
after one is removed, so every stored token is listed; a device listed without a row (a registration
that stopped halfway) costs one Query that finds nothing.
"""

from __future__ import annotations

from typing import Any

from chat.domain import PushPlatform, PushToken
from chat.store.models import LimitModel, PushTokenModel, UserModel
from chat.store.writes import Delete, Update, applied


def _to_domain(row: PushTokenModel) -> PushToken:
    return PushToken(
        user_id=row.user_id,
        device_id=row.device_id,
        platform=row.platform,  # type: ignore[arg-type]
        token=row.token,
        registered_at=row.registered_at,
        endpoint_arn=row.endpoint_arn,
    )


def _from_image(user_id: str, device_id: str, image: dict[str, Any] | None) -> PushToken | None:
    if not image:
        return None
    return _to_domain(PushTokenModel.from_raw_data({**image, "userId": {"S": user_id}, "deviceId": {"S": device_id}}))


def register(user_id: str, device_id: str, platform: PushPlatform, token: str, now: str) -> PushToken | None:
    """Stores the device's token (replacing any other it had); returns the row it replaced, if any
    (the device listed on the user, then one PutItem, ReturnValues ALL_OLD)."""
    _list_device(user_id, device_id, True)
    row = PushTokenModel(user_id=user_id, device_id=device_id, platform=platform, token=token, registered_at=now)
    args, kwargs = row._get_save_args()
    kwargs["return_values"] = "ALL_OLD"
    old = PushTokenModel._get_connection().put_item(*args, **kwargs)
    return _from_image(user_id, device_id, old.get("Attributes"))


def unregister(user_id: str, device_id: str) -> PushToken | None:
    """Removes the device's token; returns the row removed, if there was one (one DeleteItem)."""
    old = PushTokenModel._get_connection().delete_item(user_id, range_key=device_id, return_values="ALL_OLD")
    _list_device(user_id, device_id, False)
    return _from_image(user_id, device_id, old.get("Attributes"))


def take_over(user_id: str, device_id: str, token: str) -> int:
    """Removes every other (user, device) row holding this token (a phone now signed in as another
    user): notifications for the user it was must not reach it. The SNS endpoint stays, the same token's.
    One Query of the byToken index (which may lag a registration of a moment ago), one conditional
    DeleteItem per row found."""
    removed = 0
    for row in PushTokenModel.by_token.query(token):
        if (row.user_id, row.device_id) == (user_id, device_id):
            continue
        if applied(Delete(PushTokenModel(user_id=row.user_id, device_id=row.device_id), PushTokenModel.token == token)):
            _list_device(row.user_id, row.device_id, False)
            removed += 1
    return removed


def tokens_of(user_id: str) -> list[PushToken]:
    """Every registered device of the user (one Query)."""
    return [_to_domain(row) for row in PushTokenModel.query(user_id)]


def remember_endpoint(token: PushToken, endpoint_arn: str) -> bool:
    """Stores the SNS endpoint made for the token, if the device still has that token."""
    row = PushTokenModel(user_id=token.user_id, device_id=token.device_id)
    return applied(Update(row, [PushTokenModel.endpoint_arn.set(endpoint_arn)], PushTokenModel.token == token.token))


def remove_rejected(token: PushToken) -> bool:
    """Removes a token the platform rejected, unless the device registered another one meanwhile."""
    row = PushTokenModel(user_id=token.user_id, device_id=token.device_id)
    if not applied(Delete(row, PushTokenModel.token == token.token)):
        return False
    _list_device(token.user_id, token.device_id, False)
    return True


def _list_device(user_id: str, device_id: str, listed: bool) -> None:
    devices = UserModel.push_devices
    action = devices.add({device_id}) if listed else devices.delete({device_id})
    applied(Update(UserModel(user_id=user_id), [action], UserModel.user_id.exists()))


def set_previews(user_id: str, previews: bool) -> None:
    """The user's pushPreviews setting (stored only while it is off: absent means on)."""
    action = UserModel.push_previews.remove() if previews else UserModel.push_previews.set(False)
    applied(Update(UserModel(user_id=user_id), [action], UserModel.user_id.exists()))


def push_settings(user_ids: list[str]) -> dict[str, tuple[frozenset[str], bool]]:
    """For those of these users with a device registered: its devices and whether notifications show
    previews (one BatchGetItem per 100 users)."""
    if not user_ids:
        return {}
    rows = UserModel.batch_get(user_ids, attributes_to_get=["userId", "pushDevices", "pushPreviews"])
    return {
        row.user_id: (frozenset(row.push_devices), row.push_previews is not False) for row in rows if row.push_devices
    }


def _marker(token: PushToken, conversation_id: str) -> LimitModel:
    return LimitModel(limit_key=f"notified#{token.user_id}#{token.device_id}#{conversation_id}")


def take_notification(token: PushToken, conversation_id: str, seq: int, read_seq: int, now: int, until: int) -> bool:
    """Whether this device may be alerted for message `seq` of this conversation now: True once per
    window, or again once the user read up to the seq of the last alert (`read_seq`: its read watermark,
    on any device: a message after that is news). Taken by one conditional UpdateItem (concurrent takers
    cannot both win); the marker expires with the window."""
    row = _marker(token, conversation_id)
    marker = LimitModel
    return applied(
        Update(
            row,
            [marker.notified_until.set(until), marker.notified_seq.set(seq), marker.expires_at.set(until)],
            marker.notified_until.does_not_exist() | (marker.notified_until <= now) | (marker.notified_seq <= read_seq),
        )
    )


def give_back_notification(token: PushToken, conversation_id: str, until: int) -> None:
    """Undoes `take_notification` (the alert did not go out): the retry may alert again."""
    row = _marker(token, conversation_id)
    applied(Update(row, [LimitModel.notified_until.set(0)], LimitModel.notified_until == until))
