"""Accounts: a user exists from the moment their account is confirmed, not from their first connection.

Cognito calls the `signup` function with a post-confirmation event; the local stack builds the
same event when `/dev/token` signs someone in. Either way the user id is the account's `sub`,
which is also the subject of every ID token the authorizer accepts.
"""

from __future__ import annotations

from typing import Any

from chat.clock import now_iso
from chat.observability import logger
from chat.store import users
from chat.user_ids import is_valid_user_id


class InvalidConfirmation(Exception):
    """The event names no usable user; the confirmation fails rather than create a wrong user."""


def confirmed_user_id(event: dict[str, Any]) -> str:
    """The user id a post-confirmation event is about: `request.userAttributes.sub`."""
    try:
        sub = event["request"]["userAttributes"]["sub"]
    except (KeyError, TypeError):
        raise InvalidConfirmation("no request.userAttributes.sub in the event") from None
    if not is_valid_user_id(sub):
        raise InvalidConfirmation("request.userAttributes.sub is not a user id")
    return str(sub)


def account_confirmed(event: dict[str, Any]) -> bool:
    """Creates the confirmed account's user; True if created, False if they existed already.

    Every confirmation (sign-up, and again after a forgotten password) lands here; only the first
    creates anything, so a repeat never resets the user.
    """
    user_id = confirmed_user_id(event)
    created = users.ensure_user(user_id, now_iso())
    logger.info(
        "user created" if created else "user already known",
        extra={"userId": user_id, "triggerSource": event.get("triggerSource")},
    )
    return created
