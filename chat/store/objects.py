"""S3: the one place the functions touch attachment objects (the topology's BUCKETS). Presigning is
computed here, with the function's own credentials: S3 checks the signer's permissions when the URL
is used, so a function presigns only what its role may do (chat/topology.py `objects`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from chat import config
from chat.topology import ATTACHMENTS


@dataclass(frozen=True)
class StoredObject:
    size: int
    content_type: str
    metadata: dict[str, str]


@lru_cache(maxsize=4)
def _client(region: str, endpoint: str | None) -> Any:
    # Path-style addresses for a local S3 (moto on 127.0.0.1:port); virtual-hosted ones in AWS. SigV4
    # always: presigned POST policies and GET URLs are signed as AWS checks them.
    return botocore.session.get_session().create_client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint else "virtual"},
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )


def _s3() -> Any:
    return _client(config.region(), config.s3_endpoint())


def _bucket() -> str:
    return config.bucket_name(ATTACHMENTS)


def head(key: str) -> StoredObject | None:
    """The object's size, type and user metadata, or None when there is none. Without s3:ListBucket, S3
    answers a HeadObject of a missing key 403 rather than 404: both mean "not there" to the caller."""
    try:
        found = _s3().head_object(Bucket=_bucket(), Key=key)
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (403, 404):
            return None
        raise
    return StoredObject(
        size=int(found["ContentLength"]),
        content_type=str(found.get("ContentType", "")),
        metadata={k.lower(): v for k, v in found.get("Metadata", {}).items()},
    )


def copy(source: str, destination: str) -> None:
    """A server-side copy (object, type and metadata); at most 5 GB, far above an attachment's limit."""
    _s3().copy_object(Bucket=_bucket(), Key=destination, CopySource={"Bucket": _bucket(), "Key": source})


def delete(key: str) -> None:
    """Deletes the object (nothing happens when there is none)."""
    _s3().delete_object(Bucket=_bucket(), Key=key)


def presign_upload(
    key: str, content_type: str, max_size: int, metadata: dict[str, str], expires_in_s: int
) -> tuple[str, dict[str, str]]:
    """A browser-form POST that may store one object at `key`: of this type, of 1 to max_size bytes,
    carrying this metadata (x-amz-meta-*), within expires_in_s. Returns (url, form fields)."""
    fields = {"Content-Type": content_type, **{f"x-amz-meta-{k}": v for k, v in metadata.items()}}
    conditions: list[Any] = [
        {"Content-Type": content_type},
        ["content-length-range", 1, max_size],
        *({f"x-amz-meta-{k}": v} for k, v in metadata.items()),
    ]
    post = _s3().generate_presigned_post(
        Bucket=_bucket(), Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in_s
    )
    return str(post["url"]), {str(k): str(v) for k, v in post["fields"].items()}


def presign_download(key: str, expires_in_s: int, disposition: str | None = None) -> str:
    """A GET URL of the object, valid for expires_in_s; S3 answers it with `disposition` as its
    Content-Disposition when given."""
    params = {"Bucket": _bucket(), "Key": key}
    if disposition is not None:
        params["ResponseContentDisposition"] = disposition
    return str(_s3().generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in_s))
