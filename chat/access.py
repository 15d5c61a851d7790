"""Who may do what in a conversation: one answer for every action."""

from __future__ import annotations

from chat.domain import Conversation, Member
from chat.errors import Forbidden, NotFound
from chat.store import conversations, members


def membership(user_id: str, conversation_id: str, *, former_ok: bool = False) -> tuple[Conversation, Member]:
    """The conversation and the user's membership, or not_found / forbidden.

    Conversation ids are random and unguessable, so telling "no such conversation" from "not yours"
    reveals nothing a client could not learn from an id it was given.
    """
    conversation = conversations.get_conversation(conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    member = members.get_member(conversation_id, user_id)
    if member is None or (not member.active and not former_ok):
        raise Forbidden("you are not a member of this conversation")
    return conversation, member


def require_admin(conversation: Conversation, user_id: str) -> None:
    if conversation.kind != "group":
        raise Forbidden("only groups have admins")
    if user_id not in conversation.admins:
        raise Forbidden("only an admin of this group may do that")
