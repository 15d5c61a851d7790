"""Cognito post-confirmation trigger: the confirmed account's user exists from now on."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from chat import accounts
from chat.observability import instrumented


@instrumented
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    accounts.account_confirmed(event)
    # Cognito requires a trigger to return the event it was given; anything else fails the confirmation.
    return event
