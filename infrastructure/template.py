"""The ChatStack template as `cdk synth` makes it, synthesized in memory from stand-in assets.

Assets only change S3 keys; the resources, their properties and every IAM statement are the ones
`make synth` writes to cdk.out. The infrastructure tests and the local stack's IAM check read it here,
so they see what `cdk deploy` would ship without packaging the functions first.

`python -m infrastructure.template` prints it as JSON (the local stack runs it in a child process,
so the jsii runtime does not stay alive beside the handlers).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from infrastructure.config import PROJECT_ROOT

STACK_NAME = "ChatStack"


def cdk_context() -> dict[str, Any]:
    """The context of cdk.json (feature flags, the push platform applications), so this template is the
    one the real app synthesizes."""
    return dict(json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"])


def stand_in_assets(root: Path) -> tuple[Path, Path]:
    code = root / "code"
    (code / "functions").mkdir(parents=True, exist_ok=True)
    (code / "functions" / "__init__.py").write_text("")
    layer = root / "layer"
    (layer / "python").mkdir(parents=True, exist_ok=True)
    (layer / "python" / "placeholder.txt").write_text("stand-in for requirements.txt wheels\n")
    return code, layer


def build_stack(code: Path, layer: Path) -> Any:
    """A ChatStack in a fresh app (CloudFormation validation skipped: `make synth` runs it)."""
    import aws_cdk as cdk

    from infrastructure.stack import ChatStack

    app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)
    return ChatStack(app, STACK_NAME, code_asset_dir=code, layer_asset_dir=layer)


def synthesize() -> dict[str, Any]:
    from aws_cdk.assertions import Template

    with tempfile.TemporaryDirectory(prefix="chat-assets-") as root:
        code, layer = stand_in_assets(Path(root))
        return dict(Template.from_stack(build_stack(code, layer)).to_json())


@lru_cache(maxsize=1)
def synthesized_template() -> dict[str, Any]:
    """The template, synthesized once per process in a child process."""
    result = subprocess.run(
        [sys.executable, "-m", "infrastructure.template"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=None,
    )
    if result.returncode != 0:
        raise RuntimeError(f"synthesizing the CDK app failed:\n{result.stderr[-4000:]}")
    return dict(json.loads(result.stdout))


if __name__ == "__main__":
    json.dump(synthesize(), sys.stdout)
