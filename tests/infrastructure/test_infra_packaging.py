"""scripts/package_lambdas.py: the code asset holds only the project packages, and of those only what
the functions import; the layer is built for arm64 from wheels, and only when requirements.txt (or
the target platform) changed."""

from __future__ import annotations

import ast
import importlib.util
import json
import modulefinder
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from chat import topology
from chat.actions import ACTIONS
from chat.config import default_table_environment
from infrastructure.config import PROJECT_ROOT


def load_packaging_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("package_lambdas", PROJECT_ROOT / "scripts" / "package_lambdas.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def packaging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = load_packaging_script()
    project = tmp_path / "project"
    (project / "chat" / "__pycache__").mkdir(parents=True)
    (project / "chat" / "__init__.py").write_text("")
    (project / "chat" / "topology.py").write_text("TABLES = {}\n")
    (project / "chat" / "__pycache__" / "topology.cpython-311.pyc").write_bytes(b"\0")
    (project / "requirements.txt").write_text("pydantic==2.14.4\n")
    (project / "README.md").write_text("not shipped\n")
    monkeypatch.setattr(module, "PROJECT_ROOT", project)
    monkeypatch.setattr(module, "REQUIREMENTS_FILE", project / "requirements.txt")
    monkeypatch.setattr(module, "CODE_ASSET_DIR", project / "build" / "lambda" / "code")
    monkeypatch.setattr(module, "LAYER_ASSET_DIR", project / "build" / "layer")
    return module


class FakePip:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, args: list[str], check: bool) -> subprocess.CompletedProcess[Any]:
        assert check is True
        self.calls.append(args)
        if self.fail:
            raise subprocess.CalledProcessError(1, args)
        target = Path(args[args.index("--target") + 1])
        (target / "pydantic").mkdir(parents=True)
        (target / "pydantic" / "__init__.py").write_text("")
        (target / "pydantic" / "__pycache__").mkdir()
        (target / "bin").mkdir()
        (target / "bin" / "tool").write_text("#!/somewhere/python\n")
        return subprocess.CompletedProcess(args, 0)


def test_code_asset_is_the_project_packages_only(packaging: ModuleType) -> None:
    packaging.build_code()
    code = packaging.CODE_ASSET_DIR
    files = sorted(str(p.relative_to(code)) for p in code.rglob("*") if p.is_file())
    # functions/ does not exist in this project: tolerated, not invented.
    assert files == ["chat/__init__.py", "chat/topology.py"]


def test_code_asset_is_rebuilt_from_scratch(packaging: ModuleType) -> None:
    packaging.build_code()
    (packaging.PROJECT_ROOT / "functions" / "ping").mkdir(parents=True)
    (packaging.PROJECT_ROOT / "functions" / "ping" / "handler.py").write_text("")
    (packaging.PROJECT_ROOT / "chat" / "topology.py").unlink()
    packaging.build_code()
    code = packaging.CODE_ASSET_DIR
    files = sorted(str(p.relative_to(code)) for p in code.rglob("*") if p.is_file())
    assert files == ["chat/__init__.py", "functions/ping/handler.py"]


def test_layer_is_installed_for_lambda_arm64_from_wheels_only(
    packaging: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip = FakePip()
    monkeypatch.setattr(packaging.subprocess, "run", pip)
    packaging.build_layer(force=False)
    (args,) = pip.calls
    assert args[:4] == [sys.executable, "-m", "pip", "install"]
    command = " ".join(args)
    assert "--platform manylinux2014_aarch64" in command
    assert "--implementation cp" in command
    assert "--python-version 3.12" in command
    assert "--only-binary=:all:" in command
    assert args[args.index("-r") + 1] == str(packaging.REQUIREMENTS_FILE)
    python = packaging.LAYER_ASSET_DIR / "python"
    assert (python / "pydantic" / "__init__.py").is_file()
    assert not (python / "pydantic" / "__pycache__").exists()
    assert not (python / "bin").exists()


def test_layer_is_reinstalled_only_when_requirements_change(
    packaging: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip = FakePip()
    monkeypatch.setattr(packaging.subprocess, "run", pip)
    packaging.build_layer(force=False)
    packaging.build_layer(force=False)
    assert len(pip.calls) == 1
    packaging.REQUIREMENTS_FILE.write_text("pydantic==2.14.4\nPyJWT==2.15.1\n")
    packaging.build_layer(force=False)
    assert len(pip.calls) == 2
    packaging.build_layer(force=True)
    assert len(pip.calls) == 3


def test_a_failed_install_is_retried_next_time(packaging: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packaging.subprocess, "run", FakePip())
    packaging.build_layer(force=False)
    packaging.REQUIREMENTS_FILE.write_text("pydantic==2.14.4\nPyJWT==2.15.1\n")
    monkeypatch.setattr(packaging.subprocess, "run", FakePip(fail=True))
    with pytest.raises(subprocess.CalledProcessError):
        packaging.build_layer(force=False)
    # The previous layer is still whole, and not mistaken for the new requirements' layer.
    assert (packaging.LAYER_ASSET_DIR / "python" / "pydantic" / "__init__.py").is_file()
    retry = FakePip()
    monkeypatch.setattr(packaging.subprocess, "run", retry)
    packaging.build_layer(force=False)
    assert len(retry.calls) == 1


def test_runtime_provided_sdk_is_left_out_of_the_layer(packaging: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    class PipWithBotocore(FakePip):
        def __call__(self, args: list[str], check: bool) -> subprocess.CompletedProcess[Any]:
            result = super().__call__(args, check)
            target = Path(args[args.index("--target") + 1])
            for name in ("botocore", "botocore-1.44.8.dist-info", "boto3", "boto3-1.44.8.dist-info", "jmespath"):
                (target / name).mkdir()
            return result

    monkeypatch.setattr(packaging.subprocess, "run", PipWithBotocore())
    packaging.build_layer(force=False)
    assert sorted(p.name for p in (packaging.LAYER_ASSET_DIR / "python").iterdir()) == ["jmespath", "pydantic"]


def test_strict_run_refuses_missing_handlers(packaging: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    pip = FakePip()
    monkeypatch.setattr(packaging.subprocess, "run", pip)
    assert len(packaging.missing_handlers()) == len(topology.FUNCTIONS)
    assert packaging.main(["--strict"]) == 1
    assert pip.calls == []
    assert packaging.main([]) == 0
    assert len(pip.calls) == 1


def test_no_missing_handler_once_every_module_exists(packaging: ModuleType) -> None:
    for function in topology.FUNCTIONS.values():
        module = packaging.PROJECT_ROOT / (function.handler.rsplit(".", 1)[0].replace(".", "/") + ".py")
        module.parent.mkdir(parents=True, exist_ok=True)
        module.write_text("def handler(event, context):\n    return None\n")
    packaging.build_code()
    assert packaging.missing_handlers() == []


# Importable in the dev virtualenv but never in Lambda: the local stack, the tests, the scripts,
# moto and boto3-stubs (whose modules are named mypy_boto3_*).
DEV_ONLY_PACKAGES = frozenset({"local", "tests", "scripts", "moto"})
HANDLER_MODULES = sorted({function.handler.rsplit(".", 1)[0] for function in topology.FUNCTIONS.values()})
DYNAMICALLY_IMPORTED = sorted(
    {action.serves.partition(":")[0] for action in ACTIONS}
    | {stream.consumer.partition(":")[0] for stream in topology.STREAMS}
    | {queue.consumer.partition(":")[0] for queue in topology.QUEUES}
)


def is_dev_only(module: str) -> bool:
    top = module.split(".")[0]
    return top in DEV_ONLY_PACKAGES or top.startswith("mypy_boto3")


@pytest.fixture
def code_asset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The code asset `make synth` builds from this checkout, built into a temporary directory."""
    module = load_packaging_script()
    monkeypatch.setattr(module, "CODE_ASSET_DIR", tmp_path / "code")
    module.build_code()
    return tmp_path / "code"


def asset_modules(asset: Path) -> set[str]:
    """Dotted names of every Python module in the asset (a package is its __init__.py)."""
    names = set()
    for path in asset.rglob("*.py"):
        parts = path.relative_to(asset).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def handler_import_closure(asset: Path) -> set[str]:
    """Asset modules the topology handlers import, directly or not, wherever the import statement is
    (module level or inside a function): modulefinder reads the bytecode, it runs nothing."""
    finder = modulefinder.ModuleFinder(path=[str(asset)])
    # The handlers import the modules chat/actions.py and chat/topology.py name by string, too.
    for module in [*HANDLER_MODULES, *DYNAMICALLY_IMPORTED]:
        finder.import_hook(module)
    return {
        name
        for name, module in finder.modules.items()
        if module.__file__ and Path(module.__file__).resolve().is_relative_to(asset.resolve())
    }


def test_code_asset_holds_only_what_the_handlers_import(code_asset: Path) -> None:
    shipped = asset_modules(code_asset)
    assert set(HANDLER_MODULES) <= shipped
    assert "chat.topology" in shipped, "handlers read the topology at run time"
    unused = shipped - handler_import_closure(code_asset)
    assert not unused, f"in the Lambda code asset but imported by no function: {sorted(unused)}"


def test_nothing_in_the_code_asset_imports_dev_only_packages(code_asset: Path) -> None:
    offenders = []
    for path in sorted(code_asset.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported = [node.module]
            else:
                continue
            where = f"{path.relative_to(code_asset)}:{node.lineno}"
            offenders += [f"{where} imports {name}" for name in imported if is_dev_only(name)]
    assert offenders == []


def test_handlers_import_with_only_the_asset_on_the_path(code_asset: Path) -> None:
    """As in Lambda: the asset and installed packages, not the checkout (no local/, tests/, scripts/)."""
    probe = (
        "import importlib, json, sys\n"
        f"sys.path.insert(0, {str(code_asset)!r})\n"
        f"for name in {HANDLER_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    # -I: no PYTHONPATH, no user site, and neither the working directory nor the checkout on sys.path.
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe],
        cwd=code_asset,
        env={
            "AWS_DEFAULT_REGION": "us-east-1",
            topology.ENV_CONNECTION_LEASE_S: str(topology.CONNECTION_LEASE_S),
            **default_table_environment(),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.splitlines()[-1])
    assert [name for name in loaded if is_dev_only(name)] == []
    # Nothing traces; the X-Ray SDK (which a Powertools Tracer imports) would add ~0.5 s to cold starts.
    assert [name for name in loaded if name.split(".")[0] == "aws_xray_sdk"] == []
