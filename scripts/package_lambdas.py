"""Build the two Lambda assets that `cdk synth` / `cdk deploy` upload, without Docker.

* build/lambda/code: a fresh copy of the project's `chat/` and `functions/` packages (nothing else
  from the repository), rebuilt on every run so deleted modules do not linger. Local-only helpers
  (the token issuer, table creation) live in `local/`, so the copy is exactly what the functions
  import; tests/infrastructure/test_infra_packaging.py fails otherwise.
* build/layer/python: requirements.txt installed for Lambda's arm64 Python runtime from
  manylinux wheels only. Skipped when requirements.txt and the target platform are unchanged,
  which a stamp file inside build/layer records.

Run with the project's virtualenv: `.venv/bin/python scripts/package_lambdas.py [--force] [--strict]`.
--strict fails when a topology handler module is missing from the code asset (used by `make deploy`).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat import topology  # after the path is set: this runs as a plain script
from infrastructure.config import (
    CODE_ASSET_DIR,
    CODE_PACKAGES,
    LAMBDA_PIP_PLATFORM,
    LAMBDA_PYTHON_VERSION,
    LAYER_ASSET_DIR,
    PROJECT_ROOT,
    REQUIREMENTS_FILE,
)

STAMP_NAME = ".requirements.sha256"
# Byte-compiled files and test folders only bloat the assets and change their hashes.
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".pytest_cache", ".mypy_cache")
# The Lambda runtime ships boto3 with a matching botocore. pynamodb pulls botocore in as a dependency;
# a second, different botocore in the layer would shadow the runtime's and break that pairing.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")


def shown(path: Path) -> Path:
    """A path as printed: relative to the project when inside it (tests build assets elsewhere)."""
    return path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path


def pip_args(target: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--platform",
        LAMBDA_PIP_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON_VERSION,
        "--only-binary=:all:",
        "--upgrade",
        "--target",
        str(target),
        "-r",
        str(REQUIREMENTS_FILE),
    ]


def layer_fingerprint() -> str:
    """What the layer was built from: the requirements and the platform they were resolved for."""
    digest = hashlib.sha256()
    digest.update(REQUIREMENTS_FILE.read_bytes())
    digest.update(f"\n{LAMBDA_PIP_PLATFORM} cp{LAMBDA_PYTHON_VERSION}\n".encode())
    return digest.hexdigest()


def build_layer(force: bool) -> None:
    stamp = LAYER_ASSET_DIR / STAMP_NAME
    python_dir = LAYER_ASSET_DIR / "python"
    fingerprint = layer_fingerprint()
    if not force and python_dir.is_dir() and stamp.is_file() and stamp.read_text().strip() == fingerprint:
        print(f"layer: up to date ({shown(python_dir)})")
        return

    print(f"layer: installing {REQUIREMENTS_FILE.name} for {LAMBDA_PIP_PLATFORM} / Python {LAMBDA_PYTHON_VERSION}")
    LAYER_ASSET_DIR.parent.mkdir(parents=True, exist_ok=True)
    # Install next to the final place and swap in, so an interrupted run never leaves a
    # half-filled layer that the stamp would call up to date.
    with tempfile.TemporaryDirectory(dir=LAYER_ASSET_DIR.parent, prefix=".layer-") as tmp:
        staging = Path(tmp) / "python"
        subprocess.run(pip_args(staging), check=True)
        for cache in staging.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        # Console scripts are useless in a layer and carry this machine's interpreter path.
        shutil.rmtree(staging / "bin", ignore_errors=True)
        for package in RUNTIME_PROVIDED:
            for path in [staging / package, *staging.glob(f"{package}-*.dist-info")]:
                shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(LAYER_ASSET_DIR, ignore_errors=True)
        LAYER_ASSET_DIR.mkdir(parents=True)
        staging.rename(python_dir)
    stamp.write_text(fingerprint + "\n")
    print(f"layer: built {shown(python_dir)}")


def build_code() -> None:
    shutil.rmtree(CODE_ASSET_DIR, ignore_errors=True)
    CODE_ASSET_DIR.mkdir(parents=True)
    copied = []
    for package in CODE_PACKAGES:
        source = PROJECT_ROOT / package
        if not source.is_dir():
            # functions/ may not be written yet; the stack still synthesizes without it.
            print(f"code: {package}/ not found, skipped", file=sys.stderr)
            continue
        shutil.copytree(source, CODE_ASSET_DIR / package, ignore=IGNORED)
        copied.append(package)
    print(f"code: copied {', '.join(copied) or 'nothing'} into {shown(CODE_ASSET_DIR)}")


def missing_handlers() -> list[str]:
    """Topology handlers whose module is not in the code asset (functions/ may still be in progress)."""
    missing = []
    for function in topology.FUNCTIONS.values():
        module = function.handler.rsplit(".", 1)[0]
        if not (CODE_ASSET_DIR / (module.replace(".", "/") + ".py")).is_file():
            missing.append(f"{function.name}: {module}")
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--force", action="store_true", help="reinstall the layer even if requirements are unchanged")
    parser.add_argument("--strict", action="store_true", help="fail if a topology handler module is missing")
    args = parser.parse_args(argv)
    build_code()
    missing = missing_handlers()
    for entry in missing:
        print(f"code: handler module missing for {entry}", file=sys.stderr)
    if missing and args.strict:
        return 1
    build_layer(force=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
