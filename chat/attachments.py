"""Attachments: photos and files a message carries, stored in S3, never in DynamoDB.

1. `requestUpload`: a member of the conversation gets a presigned POST for
   uploads/<conversationId>/<attachmentId> (a new random id): the type and the size it promised, its own
   user id as the object's `uploader` metadata, 15 minutes to use it. S3 enforces the policy.
2. The client uploads straight to S3 (nothing here sees the bytes).
3. `send` with `attachment` (chat/messages.py): HeadObject on the upload proves it is there, was uploaded by
   the sender, and has the size and type the frame says; it is then copied to
   attachments/<conversationId>/<attachmentId>, and the message stores the attachment's metadata (no URL).
   Anything else is `bad_request`, and nothing is stored.
4. Every `message` frame (fan-out, `sync`, `history`, `messageChanged`) carries a GET URL presigned for an
   hour; only members get those frames.
5. Deleting the message for everyone drops the metadata and deletes the object.

Uploads that no send copies expire with the bucket's lifecycle rule on uploads/ after a day
(chat/topology.py ATTACHMENTS); copies under attachments/ live as long as their message.
"""

from __future__ import annotations

import time
import urllib.parse
import uuid

from chat import clock
from chat.access import membership
from chat.domain import Attachment, Caller, Message
from chat.errors import BadRequest
from chat.observability import logger
from chat.protocol import AttachmentIn, AttachmentOut, RequestUploadFrame, UploadReadyOut
from chat.store import objects
from chat.topology import ATTACHMENTS_PREFIX, UPLOADS_PREFIX

UPLOAD_EXPIRES_S = 15 * 60
DOWNLOAD_EXPIRES_S = 60 * 60
# The object metadata (x-amz-meta-uploader) the POST policy requires: who may send the upload.
UPLOADER = "uploader"


def upload_key(conversation_id: str, attachment_id: str) -> str:
    return f"{UPLOADS_PREFIX}{conversation_id}/{attachment_id}"


def object_key(conversation_id: str, attachment_id: str) -> str:
    return f"{ATTACHMENTS_PREFIX}{conversation_id}/{attachment_id}"


def request_upload(caller: Caller, frame: RequestUploadFrame) -> UploadReadyOut:
    membership(caller.user_id, frame.conversationId)
    attachment_id = uuid.uuid4().hex
    url, fields = objects.presign_upload(
        upload_key(frame.conversationId, attachment_id),
        content_type=frame.contentType,
        max_size=frame.size,
        metadata={UPLOADER: caller.user_id},
        expires_in_s=UPLOAD_EXPIRES_S,
    )
    return UploadReadyOut(
        attachmentId=attachment_id,
        url=url,
        fields=fields,
        expiresAt=clock.iso(time.time() + UPLOAD_EXPIRES_S),
        maxSize=frame.size,
    )


def accept(caller: Caller, conversation_id: str, promised: AttachmentIn) -> None:
    """Proves the upload of the attachment a send carries and copies it where messages keep theirs; the
    message is built from `promised` when it is stored (`as_attachment`), queued or not."""
    source = upload_key(conversation_id, promised.attachmentId)
    found = objects.head(source)
    if found is None or found.metadata.get(UPLOADER) != caller.user_id:
        # Never uploaded, expired, for another conversation, or someone else's: all the same to the caller.
        raise BadRequest(
            f"attachment {promised.attachmentId} was not uploaded for this conversation by you "
            "(or its upload expired): requestUpload, upload, then send"
        )
    if found.size != promised.size:
        raise BadRequest(f"attachment.size is {promised.size} but {found.size} bytes were uploaded")
    if found.content_type != promised.contentType:
        raise BadRequest(f"attachment.contentType is {promised.contentType} but {found.content_type} was uploaded")
    objects.copy(source, object_key(conversation_id, promised.attachmentId))


def as_attachment(promised: AttachmentIn) -> Attachment:
    return Attachment(
        attachment_id=promised.attachmentId,
        content_type=promised.contentType,
        size=promised.size,
        name=promised.name,
        width=promised.width,
        height=promised.height,
    )


def disposition(attachment: Attachment) -> str | None:
    """How a browser opening the URL treats the file: an image is shown (S3's default), anything else is
    saved under its name (a link's `download` attribute does not apply across origins)."""
    if attachment.content_type.startswith("image/"):
        return None
    name = attachment.name or "file"
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"


def attachment_out(message: Message) -> AttachmentOut | None:
    """The message's attachment with a fresh download URL (presigned here: no request to S3)."""
    attachment = message.attachment
    if attachment is None or message.deleted:
        return None
    url = objects.presign_download(
        object_key(message.conversation_id, attachment.attachment_id), DOWNLOAD_EXPIRES_S, disposition(attachment)
    )
    return AttachmentOut(
        attachmentId=attachment.attachment_id,
        contentType=attachment.content_type,
        size=attachment.size,
        name=attachment.name,
        width=attachment.width,
        height=attachment.height,
        url=url,
        urlExpiresAt=clock.iso(time.time() + DOWNLOAD_EXPIRES_S),
    )


def discard(conversation_id: str, attachment: Attachment) -> None:
    """Deletes the object of a deleted message's attachment. The message no longer names it, so no URL is
    handed out again whatever happens here; an object left behind by a failure is only storage."""
    try:
        objects.delete(object_key(conversation_id, attachment.attachment_id))
    except Exception:
        logger.exception("attachment object not deleted", extra={"attachmentId": attachment.attachment_id})
