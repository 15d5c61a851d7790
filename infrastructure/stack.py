"""ChatStack: everything chat/topology.py declares, on AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from chat import topology
from infrastructure.buckets import Buckets
from infrastructure.config import CODE_ASSET_DIR, LAYER_ASSET_DIR
from infrastructure.functions import Functions
from infrastructure.identity import Identity
from infrastructure.monitoring import Monitoring
from infrastructure.queues import Queues
from infrastructure.schedules import Schedules
from infrastructure.streams import Streams
from infrastructure.tables import Tables
from infrastructure.websocket_api import WebSocketApi

PACKAGING_HINT = "run `make synth` (or `.venv/bin/python scripts/package_lambdas.py`) first"


class ChatStack(Stack):
    """Environment-agnostic: synthesizes without AWS credentials; region and account come at deploy."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_asset_dir: Path = CODE_ASSET_DIR,
        layer_asset_dir: Path = LAYER_ASSET_DIR,
        create_api_gateway_account_role: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        for asset in (code_asset_dir, layer_asset_dir):
            if not asset.is_dir():
                raise FileNotFoundError(f"Lambda asset directory {asset} is missing: {PACKAGING_HINT}")

        self.tables = Tables(self, "Tables")
        self.buckets = Buckets(self, "Buckets")
        self.identity = Identity(self, "Identity")
        self.api = WebSocketApi(self, "WebSocket", create_account_log_role=create_api_gateway_account_role)
        self.functions = Functions(
            self,
            "Functions",
            tables=self.tables,
            buckets=self.buckets,
            api=self.api,
            identity=self.identity,
            code_asset_dir=code_asset_dir,
            layer_asset_dir=layer_asset_dir,
        )
        self.api.add_routes(dict(self.functions.by_name))
        self.identity.on_confirmation(self.functions[topology.SIGNUP])
        self.streams = Streams(self, "Streams", tables=self.tables, functions=self.functions)
        self.queues = Queues(self, "Queues", functions=self.functions)
        self.schedules = Schedules(self, "Schedules", functions=self.functions)
        self.monitoring = Monitoring(
            self, "Monitoring", api=self.api, functions=self.functions, streams=self.streams, queues=self.queues
        )

        CfnOutput(self, "WebSocketUrl", value=self.api.url, description="wss:// endpoint clients connect to")
        CfnOutput(self, "CallbackUrl", value=self.api.callback_url, description="@connections management endpoint")
        CfnOutput(self, "UserPoolId", value=self.identity.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.identity.client.user_pool_client_id)
        CfnOutput(
            self,
            "AttachmentsBucket",
            value=self.buckets["Attachments"].bucket_name,
            description="Attachments (uploads/ expire after a day; attachments/ live with their message)",
        )
        CfnOutput(self, "DeadLetterQueueUrl", value=self.streams.dead_letters.queue_url)
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.monitoring.topic.topic.topic_arn,
            description="SNS topic every alarm notifies: subscribe to it (e.g. aws sns subscribe --protocol email)",
        )
        CfnOutput(self, "DashboardName", value=self.monitoring.dashboard.dashboard.dashboard_name)
