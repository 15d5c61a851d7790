"""Files for `/send-file`: what type a file is, and the upload through a presigned S3 POST (`uploadReady`),
with the standard library only (a multipart form, as a browser sends it)."""

from __future__ import annotations

import mimetypes
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

# What the server takes (chat/protocol.py ATTACHMENT_CONTENT_TYPES); the CLI does not import the server.
ALLOWED_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",
        "application/pdf",
        "text/plain",
        "audio/mpeg",
        "audio/mp4",
        "audio/ogg",
        "video/mp4",
        "video/quicktime",
        "application/zip",
    }
)
MAX_BYTES = 16 * 1024 * 1024


def content_type(path: Path) -> str | None:
    """The file's type as its name says it, if the server takes it."""
    guessed, _encoding = mimetypes.guess_type(path.name)
    return guessed if guessed in ALLOWED_TYPES else None


def multipart(fields: dict[str, str], filename: str, data: bytes, file_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body: every field, then the file last (S3 ignores fields after it)."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    safe_name = filename.replace('"', "'").replace("\r", " ").replace("\n", " ")
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{safe_name}"\r\n'
        f"Content-Type: {file_type}\r\n\r\n".encode()
    )
    parts.append(data + f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload(ready: dict[str, Any], filename: str, data: bytes, file_type: str) -> None:
    """POSTs the file as `uploadReady` says (blocking); raises OSError with S3's answer when refused."""
    body, form_type = multipart(ready["fields"], filename, data, file_type)
    request = urllib.request.Request(ready["url"], data=body, method="POST", headers={"Content-Type": form_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            if response.status not in (200, 201, 204):
                raise OSError(f"the upload was answered {response.status}")
    except urllib.error.HTTPError as exc:
        raise OSError(f"the upload was refused ({exc.code}): {exc.read()[:300]!r}") from None


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
