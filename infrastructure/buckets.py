"""One S3 bucket per `topology.BUCKETS` entry (attachments), and the bucket their access logs go to.

Private (all public access blocked, TLS only, S3-managed encryption, bucket-owner-enforced ownership):
clients reach objects only through URLs a function presigned. CORS lets the web client's pages POST
uploads and GET downloads. Each prefix the topology gives an expiry gets a lifecycle rule (uploads/:
a day), and incomplete multipart uploads are cleaned up.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from chat import topology

# The web client's origins (CORS), from the CDK context `chat:webOrigins` (a list, or a comma-separated
# text with `cdk deploy -c chat:webOrigins=https://chat.example.com`).
WEB_ORIGINS_CONTEXT = "chat:webOrigins"
ACCESS_LOGS_KEPT = Duration.days(90)
# A presigned POST answers 204; the browser reads nothing else. GETs are downloads.
CORS_METHODS = [s3.HttpMethods.POST, s3.HttpMethods.GET]


def web_origins(scope: Construct) -> list[str]:
    value = scope.node.try_get_context(WEB_ORIGINS_CONTEXT)
    if isinstance(value, str):
        value = [origin.strip() for origin in value.split(",")]
    origins = [str(origin) for origin in value or [] if origin]
    if not origins:
        raise ValueError(f"set the CDK context {WEB_ORIGINS_CONTEXT} to the web client's origins (cdk.json)")
    return origins


class Buckets(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # Server access logs can only be delivered to an SSE-S3 bucket.
            encryption=s3.BucketEncryption.S3_MANAGED,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=ACCESS_LOGS_KEPT)],
            removal_policy=RemovalPolicy.RETAIN,
        )
        # cdk-nag's S1 (server access logs) does not apply to a bucket that receives them.
        origins = web_origins(self)
        self.by_name: dict[str, s3.Bucket] = {}
        for spec in topology.BUCKETS.values():
            self.by_name[spec.logical_name] = s3.Bucket(
                self,
                spec.logical_name,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                encryption=s3.BucketEncryption.S3_MANAGED,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                server_access_logs_bucket=self.access_logs,
                server_access_logs_prefix=f"{spec.logical_name.lower()}/",
                cors=[
                    s3.CorsRule(
                        allowed_methods=CORS_METHODS,
                        allowed_origins=origins,
                        allowed_headers=["*"],
                        max_age=3600,
                    )
                ],
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="AbortIncompleteUploads", abort_incomplete_multipart_upload_after=Duration.days(1)
                    ),
                    *(
                        s3.LifecycleRule(
                            id=f"Expire-{prefix.strip('/')}", prefix=prefix, expiration=Duration.days(days)
                        )
                        for prefix, days in spec.expire_after_days
                    ),
                ],
                # Attachments are message data, kept like the Messages table through a `cdk destroy`.
                removal_policy=RemovalPolicy.RETAIN,
            )

    def __getitem__(self, logical_name: str) -> s3.Bucket:
        return self.by_name[logical_name]

    def environment(self) -> dict[str, str]:
        """Every bucket's env variable -> its physical name."""
        return {topology.BUCKETS[name].env: bucket.bucket_name for name, bucket in self.by_name.items()}
