"""Creates the buckets declared in the topology (local stack and tests; CDK does it in AWS), with the
CORS rule that lets the web client's pages upload (POST) and download (GET) with presigned URLs.

moto applies neither lifecycle rules nor POST policies (size, type, metadata conditions): the send path's
HeadObject check (chat/attachments.py) is what tests exercise either way."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chat.config import bucket_name
from chat.topology import BUCKETS


def create_buckets(s3: Any, web_origins: Iterable[str] = ()) -> None:
    """`s3` is a boto3 S3 client; `web_origins` the browser origins allowed to use presigned URLs."""
    origins = list(web_origins)
    for bucket in BUCKETS.values():
        name = bucket_name(bucket)
        s3.create_bucket(Bucket=name)
        if origins:
            s3.put_bucket_cors(
                Bucket=name,
                CORSConfiguration={
                    "CORSRules": [
                        {
                            "AllowedMethods": ["POST", "GET"],
                            "AllowedOrigins": origins,
                            "AllowedHeaders": ["*"],
                            "MaxAgeSeconds": 3600,
                        }
                    ]
                },
            )
