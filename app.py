#!/usr/bin/env python3
"""CDK entry point: `cdk synth` / `cdk deploy` (see the Makefile's synth and deploy targets)."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infrastructure.stack import ChatStack

app = cdk.App()
ChatStack(
    app,
    "ChatStack",
    description="Serverless chat backend: WebSocket API, Lambda functions, DynamoDB tables, Cognito",
    # Set `-c createApiGatewayAccountRole=false` when the account already names an API Gateway log role.
    create_api_gateway_account_role=app.node.try_get_context("createApiGatewayAccountRole") not in (False, "false"),
)
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
app.synth()
