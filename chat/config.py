"""Settings from the environment, under the same variable names in AWS and locally. No silent defaults:
a missing variable is an error that names it. The one setting with defaults is CHAT_RATE_LIMITS: the
rate limits are declared per action in chat/actions.py (and documented in docs/PROTOCOL.md), and the
variable only overrides them (the local stack, load tests); a value it cannot read is an error.

`settings()` reads and validates everything once, at a function's cold start (the handler adapters
call it when they are built), so a misconfigured function fails at once, not on the first call that
needs the value. Table names are read when used (`table_name`), from the variables the stack sets on
every function, so tests can point a function at a table of their own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from chat.actions import DECLARED_LIMITS
from chat.token_bucket import RateLimit, effective_limits, parse_overrides
from chat.topology import (
    BUCKETS,
    ENV_CALLBACK_URL,
    ENV_CONNECTION_LEASE_S,
    ENV_JWKS_URL,
    ENV_JWT_AUDIENCE,
    ENV_JWT_ISSUER,
    TABLES,
    Bucket,
    Queue,
    Table,
)

# `off`, or e.g. `send=100/s,sync=10/s` (chat/token_bucket.py says the syntax).
ENV_RATE_LIMITS = "CHAT_RATE_LIMITS"


class ConfigurationError(RuntimeError):
    """The function's environment lacks a setting it needs."""


# A dataclass, not a pydantic model: building a model at cold start costs pydantic's schema machinery
# (scripts/cold_start.py), and only the lease needs checking.
@dataclass(frozen=True)
class Settings:
    region: str
    # topology logical name -> the table's name
    table_names: dict[str, str]
    # topology.CONNECTION_LEASE_S in AWS; shorter in some local stacks for tests.
    connection_lease_s: int
    # action -> its per-user token bucket; an action not listed is not limited.
    rate_limits: dict[str, RateLimit]
    # Where `@connections` is (only functions that post have it).
    callback_url: str | None = None
    # A local DynamoDB (moto); None in AWS.
    dynamodb_endpoint: str | None = None
    # The authorizer's token settings (only the authorizer has them).
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwks_url: str | None = None


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigurationError(f"the environment variable {name} is not set")
    return value


def _positive_int(name: str) -> int:
    value = _required(name)
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {value!r}") from None
    if number <= 0:
        raise ConfigurationError(f"{name} must be greater than 0, not {number}")
    return number


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings(
        region=region(),
        table_names={table.logical_name: table_name(table) for table in TABLES.values()},
        connection_lease_s=_positive_int(ENV_CONNECTION_LEASE_S),
        callback_url=os.environ.get(ENV_CALLBACK_URL) or None,
        dynamodb_endpoint=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None,
        jwt_issuer=os.environ.get(ENV_JWT_ISSUER) or None,
        jwt_audience=os.environ.get(ENV_JWT_AUDIENCE) or None,
        jwks_url=os.environ.get(ENV_JWKS_URL) or None,
        rate_limits=rate_limits(),
    )


def rate_limits() -> dict[str, RateLimit]:
    """The limits of chat/actions.py, as CHAT_RATE_LIMITS overrides them (unset or empty: as declared)."""
    try:
        # Only declared limits are overridden: a function may take tokens only for those (its grants).
        limited = [action for action, limit in DECLARED_LIMITS.items() if limit is not None]
        overrides = parse_overrides(os.environ.get(ENV_RATE_LIMITS, ""), limited)
    except ValueError as exc:
        raise ConfigurationError(f"{ENV_RATE_LIMITS}: {exc}") from None
    return effective_limits(DECLARED_LIMITS, overrides)


def table_name(table: Table) -> str:
    """The table's name, from the variable the stack sets on every function."""
    return _required(table.env)


def queue_url(queue: Queue) -> str:
    """The queue's URL, from the variable the stack sets on the functions that send to it."""
    return _required(queue.env)


def bucket_name(bucket: Bucket) -> str:
    """The bucket's name, from the variable the stack sets on the functions that use it."""
    return _required(bucket.env)


def s3_endpoint() -> str | None:
    """A local S3 (moto); None in AWS."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or None


def connection_lease_s() -> int:
    """How long a connection counts as live after it connected or renewed its lease (chat/liveness.py)."""
    return settings().connection_lease_s


def region() -> str:
    """Lambda sets AWS_REGION; AWS_DEFAULT_REGION is what the AWS CLI and SDK configuration use."""
    value = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not value:
        raise ConfigurationError("neither AWS_REGION nor AWS_DEFAULT_REGION is set")
    return value


def callback_url() -> str:
    """Base URL of the @connections management API (https://{api}.execute-api.{region}.amazonaws.com/{stage})."""
    return _required(ENV_CALLBACK_URL)


def dynamodb_endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None


def default_table_environment(prefix: str = "chat-") -> dict[str, str]:
    """Every table variable with a name of `prefix` + logical name: for the local stack and tests
    (in AWS the stack sets each variable to its table's name)."""
    return {table.env: f"{prefix}{table.logical_name}" for table in TABLES.values()}


def default_bucket_environment(prefix: str = "chat-") -> dict[str, str]:
    """Every bucket variable with a name of `prefix` + the lowercased logical name (S3 names are lowercase)."""
    return {bucket.env: f"{prefix}{bucket.logical_name.lower()}" for bucket in BUCKETS.values()}
