"""registerPush and unregisterPush: where a device is sent push notifications while it has no open socket.

A device keeps its token across reconnects, so the token is the device's (userId, deviceId: the deviceId
of the handshake), not the connection's: one row per device, replaced when the device registers another
token and removed when it signs out. The SNS endpoint made for a replaced token is deleted with it. A
token registered by another user's device before (a phone signed in as someone else without signing
out) is taken over: the other row goes, so that user's notifications stop reaching the phone.
`previews` is the user's: whether notifications to any of its devices show the text (chat/notify.py).
"""

from __future__ import annotations

from chat import clock, notifiers
from chat.domain import Caller
from chat.protocol import PushRegisteredOut, PushUnregisteredOut, RegisterPushFrame, UnregisterPushFrame
from chat.store import push_tokens as token_store


def register_push(caller: Caller, frame: RegisterPushFrame) -> PushRegisteredOut:
    old = token_store.register(caller.user_id, caller.device_id, frame.platform, frame.token, clock.now_iso())
    token_store.take_over(caller.user_id, caller.device_id, frame.token)
    if old is not None and old.endpoint_arn and (old.token, old.platform) != (frame.token, frame.platform):
        notifiers.default_notifier().forget(old)
    if frame.previews is not None:
        token_store.set_previews(caller.user_id, frame.previews)
    return PushRegisteredOut(platform=frame.platform, previews=frame.previews)


def unregister_push(caller: Caller, frame: UnregisterPushFrame) -> PushUnregisteredOut:
    old = token_store.unregister(caller.user_id, caller.device_id)
    if old is not None:
        notifiers.default_notifier().forget(old)
    return PushUnregisteredOut()
