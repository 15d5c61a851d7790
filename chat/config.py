"""Environment: table names and endpoints, under the same variable names in AWS and locally."""

from __future__ import annotations

import os

from chat.topology import ENV_CALLBACK_URL, Table


def table_name(table: Table) -> str:
    """The deployed name comes from the stack; locally and in tests the default is used."""
    return os.environ.get(table.env, f"chat-{table.logical_name}")


def callback_url() -> str:
    """Base URL of the @connections management API (https://{api}.execute-api.{region}.amazonaws.com/{stage})."""
    return os.environ[ENV_CALLBACK_URL]


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
