"""Conversations, their members and their messages.

A message is appended with one TransactWriteItems: the conversation's lastSeq moves from N to N+1
only if it still is N, the message (conversationId, N+1) is created only if absent, the
clientMsgId record is created only if absent and the sender must still be a member. Either all of it
is stored or none of it: a seq can be neither skipped nor reused, and a retried send finds its
clientMsgId record.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chat.domain import Conversation, Member, Message, SentMessage, WatermarkMove
from chat.store.errors import AlreadyExists, DuplicateClientMsgId, NotAMember, StoreConflict
from chat.store.models import (
    ClientMsgIdModel,
    ConversationModel,
    MemberModel,
    MessageModel,
    connection,
)

# The protocol promises idempotency for at least 24 hours; a week costs little.
CLIENT_MSG_ID_TTL_S = 7 * 24 * 3600


def conversation_to_domain(row: ConversationModel) -> Conversation:
    return Conversation(
        conversation_id=row.conversation_id,
        kind=row.kind,  # type: ignore[arg-type]
        name=row.name,
        last_seq=int(row.last_seq or 0),
        admins=tuple(row.admins or ()),
        all_delivered=int(row.all_delivered or 0),
        all_read=int(row.all_read or 0),
        at_min_delivered=frozenset(row.at_min_delivered or ()),
        at_min_read=frozenset(row.at_min_read or ()),
    )


def member_to_domain(row: MemberModel) -> Member:
    return Member(
        conversation_id=row.conversation_id,
        user_id=row.user_id,
        joined_seq=int(row.joined_seq or 0),
        left_seq=None if row.left_seq is None else int(row.left_seq),
        delivered_seq=int(row.delivered_seq or 0),
        read_seq=int(row.read_seq or 0),
        delivered_at=row.delivered_at,
        read_at=row.read_at,
    )


def message_to_domain(row: MessageModel) -> Message:
    return Message(
        conversation_id=row.conversation_id,
        seq=int(row.seq),
        sender_id=row.sender_id,
        sender_device_id=row.sender_device_id,
        sender_connection_id=row.sender_connection_id,
        client_msg_id=row.client_msg_id,
        text=row.body.text,
        sent_at=row.sent_at,
    )


def get_conversation(conversation_id: str) -> Conversation | None:
    try:
        row = ConversationModel.get(conversation_id, consistent_read=True)
    except DoesNotExist:
        return None
    return None if row.kind == "pair" else conversation_to_domain(row)


def get_conversations(conversation_ids: Iterable[str]) -> dict[str, Conversation]:
    rows = ConversationModel.batch_get(list(conversation_ids))
    return {row.conversation_id: conversation_to_domain(row) for row in rows if row.kind != "pair"}


def get_member(conversation_id: str, user_id: str) -> Member | None:
    try:
        return member_to_domain(MemberModel.get(conversation_id, user_id, consistent_read=True))
    except DoesNotExist:
        return None


def list_members(conversation_id: str, consistent: bool = False) -> list[Member]:
    return [member_to_domain(row) for row in MemberModel.query(conversation_id, consistent_read=consistent)]


def memberships_of(user_id: str) -> list[Member]:
    """Every conversation the user is or was a member of (by the byUser index)."""
    return [member_to_domain(row) for row in MemberModel.by_user.query(user_id)]


def pair_key(user_a: str, user_b: str) -> str:
    first, second = sorted((user_a, user_b))
    return f"pair#{first}#{second}"


def find_direct(user_a: str, user_b: str) -> str | None:
    try:
        return ConversationModel.get(pair_key(user_a, user_b), consistent_read=True).target
    except DoesNotExist:
        return None


def direct_partners(user_id: str, others: Iterable[str]) -> set[str]:
    """Those of `others` with whom the user has a direct conversation, read from the table itself
    (strongly consistent: one BatchGetItem per 100, where the byUser index may still lag)."""
    keys = {pair_key(user_id, other): other for other in dict.fromkeys(others) if other != user_id}
    if not keys:
        return set()
    return {keys[row.conversation_id] for row in ConversationModel.batch_get(list(keys), consistent_read=True)}


def find_sent(conversation_id: str, sender_id: str, client_msg_id: str) -> SentMessage | None:
    try:
        row = ClientMsgIdModel.get(_dedup_key(conversation_id, sender_id, client_msg_id), consistent_read=True)
    except DoesNotExist:
        return None
    return SentMessage(conversation_id, client_msg_id, int(row.seq), row.sent_at)


def _dedup_key(conversation_id: str, sender_id: str, client_msg_id: str) -> str:
    return f"{conversation_id}|{sender_id}|{client_msg_id}"


def _message_rows(message: Message) -> tuple[MessageModel, ClientMsgIdModel]:

    msg = MessageModel(
        conversation_id=message.conversation_id,
        seq=message.seq,
        sender_id=message.sender_id,
        sender_device_id=message.sender_device_id,
        sender_connection_id=message.sender_connection_id,
        client_msg_id=message.client_msg_id,
        body={"text": message.text},
        sent_at=message.sent_at,
    )
    dedup = ClientMsgIdModel(
        dedup_key=_dedup_key(message.conversation_id, message.sender_id, message.client_msg_id),
        conversation_id=message.conversation_id,
        seq=message.seq,
        sent_at=message.sent_at,
        expires_at=int(time.time()) + CLIENT_MSG_ID_TTL_S,
    )
    return msg, dedup


def _raise_for(exc: TransactWriteError, roles: list[str]) -> None:
    """Turns the cancellation reasons (one per transaction item, in order) into a domain error."""
    reasons = exc.cancellation_reasons or []
    failed = {roles[i] for i, reason in enumerate(reasons) if reason and reason.code == "ConditionalCheckFailed"}
    # A moved lastSeq is retried first: the retry reads membership and the clientMsgId again.
    if failed & {"conversation", "message", "pair"}:
        raise StoreConflict() from exc
    if "dedup" in failed:
        raise DuplicateClientMsgId() from exc
    if "member" in failed:
        raise NotAMember() from exc
    if any(reason and reason.code == "TransactionConflict" for reason in reasons):
        raise StoreConflict() from exc
    raise exc


def append_message(message: Message, expected_last_seq: int, sender_move: WatermarkMove) -> None:
    """Stores `message` as seq expected_last_seq + 1, atomically with everything that goes with it
    (the sender's own watermark move among it)."""
    from chat.store.receipts import log_row

    assert message.seq == expected_last_seq + 1
    msg, dedup = _message_rows(message)
    receipt = log_row(sender_move)
    conversation = ConversationModel(conversation_id=message.conversation_id)
    sender = MemberModel(conversation_id=message.conversation_id, user_id=message.sender_id)
    roles = ["conversation", "message", "dedup", "member", "receipt"]
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(
                conversation,
                actions=[ConversationModel.last_seq.set(message.seq)],
                condition=ConversationModel.last_seq == expected_last_seq,
            )
            tx.save(msg, condition=MessageModel.seq.does_not_exist())
            tx.save(dedup, condition=ClientMsgIdModel.dedup_key.does_not_exist())
            tx.update(
                sender,
                actions=[
                    MemberModel.delivered_seq.set(message.seq),
                    MemberModel.read_seq.set(message.seq),
                    MemberModel.delivered_at.set(message.sent_at),
                    MemberModel.read_at.set(message.sent_at),
                ],
                condition=MemberModel.user_id.exists() & MemberModel.left_seq.does_not_exist(),
            )
            tx.save(receipt)
    except TransactWriteError as exc:
        _raise_for(exc, roles)


def create_direct_with_message(message: Message, recipient_id: str, sender_move: WatermarkMove) -> None:
    """First message between two users: the conversation, its pair lookup, both members and seq 1."""
    from chat.store.receipts import log_row

    assert message.seq == 1
    msg, dedup = _message_rows(message)
    receipt = log_row(sender_move)
    conversation_id = message.conversation_id
    now = message.sent_at
    pair = ConversationModel(
        conversation_id=pair_key(message.sender_id, recipient_id), kind="pair", created_at=now, target=conversation_id
    )
    conversation = ConversationModel(
        conversation_id=conversation_id,
        kind="direct",
        created_at=now,
        created_by=message.sender_id,
        last_seq=1,
        member_count=2,
    )
    sender = MemberModel(
        conversation_id=conversation_id,
        user_id=message.sender_id,
        joined_seq=0,
        joined_at=now,
        delivered_seq=1,
        read_seq=1,
        delivered_at=now,
        read_at=now,
    )
    recipient = MemberModel(conversation_id=conversation_id, user_id=recipient_id, joined_seq=0, joined_at=now)
    roles = ["pair", "conversation", "member", "member", "message", "dedup", "receipt"]
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(pair, condition=ConversationModel.conversation_id.does_not_exist())
            tx.save(conversation, condition=ConversationModel.conversation_id.does_not_exist())
            tx.save(sender, condition=MemberModel.user_id.does_not_exist())
            tx.save(recipient, condition=MemberModel.user_id.does_not_exist())
            tx.save(msg, condition=MessageModel.seq.does_not_exist())
            tx.save(dedup, condition=ClientMsgIdModel.dedup_key.does_not_exist())
            tx.save(receipt)
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        if reasons and reasons[0] and reasons[0].code == "ConditionalCheckFailed":
            raise AlreadyExists() from exc  # the other user created it first
        _raise_for(exc, roles)


def messages_after(conversation_id: str, after_seq: int, up_to: int | None = None, limit: int = 100) -> list[Message]:
    condition = MessageModel.seq > after_seq if up_to is None else MessageModel.seq.between(after_seq + 1, up_to)
    rows = MessageModel.query(conversation_id, range_key_condition=condition, limit=limit, consistent_read=True)
    return [message_to_domain(row) for row in rows]


def messages_before(conversation_id: str, before_seq: int, floor_seq: int, limit: int) -> list[Message]:
    """Up to `limit` newest messages with floor_seq < seq < before_seq, in ascending order."""
    if before_seq - 1 <= floor_seq:
        return []
    rows = MessageModel.query(
        conversation_id,
        range_key_condition=MessageModel.seq.between(floor_seq + 1, before_seq - 1),
        scan_index_forward=False,
        limit=limit,
        consistent_read=True,
    )
    return sorted((message_to_domain(row) for row in rows), key=lambda m: m.seq)


def message_from_image(image: dict) -> Message:  # type: ignore[type-arg]
    """A message from a stream record's NewImage (DynamoDB JSON)."""
    return message_to_domain(MessageModel.from_raw_data(image))
