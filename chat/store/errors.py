"""What the data-access layer reports to the domain (no PynamoDB types leak out)."""


class StoreConflict(Exception):
    """A conditional write lost a race; the caller reads again and retries."""


class DuplicateClientMsgId(Exception):
    """The (conversation, sender, clientMsgId) was stored by a concurrent send."""


class NotAMember(Exception):
    """The acting user is not (or no longer) a member."""


class AlreadyExists(Exception):
    """The item being created exists already."""


class ConnectionLimitReached(Exception):
    """The user has as many live connections as a new one may join."""


class StoreUnavailable(Exception):
    """DynamoDB did not answer (throttled, failing or unreachable, after the SDK's own retries)."""
