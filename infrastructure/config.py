"""Build settings shared by the CDK app and the packaging script.

Nothing here imports aws_cdk, so `scripts/package_lambdas.py` can use it before CDK is involved.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The Lambda runtime and the wheels in the dependency layer must agree on this.
LAMBDA_PYTHON_VERSION = "3.12"
# The platform tag pip resolves wheels for: Lambda's arm64 (Graviton) runtime.
LAMBDA_PIP_PLATFORM = "manylinux2014_aarch64"

# Project packages shipped as the function code asset (never the whole repo). Only modules the
# functions import belong in them: local-stack and test helpers live in local/.
CODE_PACKAGES = ("chat", "functions")

BUILD_DIR = PROJECT_ROOT / "build"
# Code asset: a copy of CODE_PACKAGES, built by scripts/package_lambdas.py.
CODE_ASSET_DIR = BUILD_DIR / "lambda" / "code"
# Layer asset: requirements.txt installed under python/ (Lambda adds /opt/python to sys.path).
LAYER_ASSET_DIR = BUILD_DIR / "layer"
REQUIREMENTS_FILE = PROJECT_ROOT / "requirements.txt"

STAGE_NAME = "prod"
SERVICE_NAME = "chat"
METRICS_NAMESPACE = "Chat"
