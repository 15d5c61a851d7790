"""scripts/smoke.py without AWS: its Cognito part with a fake cognito-idp client, its report lines.

The WebSocket steps themselves run against the local stack in tests/e2e/test_smoke.py.
"""

from __future__ import annotations

import io
import json
import re
import string
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from scripts import smoke

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = {
    "ChatStack": {
        "WebSocketUrl": "wss://abc123.execute-api.eu-west-3.amazonaws.com/prod",
        "UserPoolId": "eu-west-3_Pool1",
        "UserPoolClientId": "client-1",
        "CallbackUrl": "https://abc123.execute-api.eu-west-3.amazonaws.com/prod",
    }
}


class ClientError(Exception):
    """Shaped like botocore's ClientError: `response["Error"]["Code"]`."""

    def __init__(self, code: str) -> None:
        super().__init__(f"An error occurred ({code})")
        self.response = {"Error": {"Code": code}}


class FakeCognito:
    """Just the cognito-idp calls the smoke test makes, over an in-memory pool; records every call."""

    def __init__(self, fail: dict[tuple[str, int], Exception] | None = None) -> None:
        self.fail = fail or {}  # (operation, nth call of it, from 1) -> raised instead
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.users: dict[str, dict[str, Any]] = {}  # email -> {password, sub, confirmed}

    def _call(self, operation: str, kwargs: dict[str, Any]) -> None:
        self.calls.append((operation, kwargs))
        nth = sum(1 for name, _ in self.calls if name == operation)
        if (operation, nth) in self.fail:
            raise self.fail[(operation, nth)]

    def sign_up(self, **kwargs: Any) -> dict[str, Any]:
        self._call("sign_up", kwargs)
        sub = f"sub-{len(self.users) + 1}"
        self.users[kwargs["Username"]] = {"password": kwargs["Password"], "sub": sub, "confirmed": False}
        return {"UserSub": sub, "UserConfirmed": False}

    def admin_confirm_sign_up(self, **kwargs: Any) -> dict[str, Any]:
        self._call("admin_confirm_sign_up", kwargs)
        self.users[kwargs["Username"]]["confirmed"] = True
        return {}

    def initiate_auth(self, **kwargs: Any) -> dict[str, Any]:
        self._call("initiate_auth", kwargs)
        user = self.users[kwargs["AuthParameters"]["USERNAME"]]
        assert user["confirmed"] and user["password"] == kwargs["AuthParameters"]["PASSWORD"]
        return {"AuthenticationResult": {"IdToken": f"id-token-of-{user['sub']}", "AccessToken": "not this one"}}

    def admin_delete_user(self, **kwargs: Any) -> dict[str, Any]:
        self._call("admin_delete_user", kwargs)
        if kwargs["Username"] not in self.users:
            raise ClientError("UserNotFoundException")
        del self.users[kwargs["Username"]]
        return {}

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


class Run:
    """run_aws with a fake client and a fake exercise (the WebSocket steps) that records its users."""

    def __init__(self, tmp_path: Path, cognito: FakeCognito, exercise_fails: BaseException | None = None) -> None:
        self.outputs = tmp_path / "cdk-outputs.json"
        self.outputs.write_text(json.dumps(OUTPUTS))
        self.cognito = cognito
        self.exercise_fails = exercise_fails
        self.regions: list[str] = []
        self.exercised: list[tuple[str, list[smoke.User]]] = []
        self.out = io.StringIO()

    def make_client(self, region: str) -> FakeCognito:
        self.regions.append(region)
        return self.cognito

    async def exercise(self, ws_url: str, users: list[smoke.User], reporter: smoke.Reporter, timeout: float) -> None:
        self.cognito.calls.append(("exercise", {}))
        self.exercised.append((ws_url, users))
        with reporter.step("connect A, B, C"):
            if self.exercise_fails is not None:
                raise self.exercise_fails

    def __call__(self) -> None:
        smoke.run_aws(self.outputs, smoke.Reporter(self.out), 1.0, self.make_client, self.exercise)

    def lines(self) -> list[str]:
        return without_ms(self.out.getvalue())


def without_ms(output: str) -> list[str]:
    """The printed lines, `ok` lines without their variable ` (<ms> ms)`."""
    return [re.sub(r" \(\d+ ms\)$", "", line) if line.startswith("ok ") else line for line in output.splitlines()]


def test_users_are_signed_up_confirmed_signed_in_used_then_deleted_in_that_order(tmp_path: Path) -> None:
    run = Run(tmp_path, FakeCognito())
    run()

    cognito = run.cognito
    assert cognito.names() == (
        ["sign_up", "admin_confirm_sign_up"] * 3 + ["initiate_auth"] * 3 + ["exercise"] + ["admin_delete_user"] * 3
    )
    emails = [kwargs["Username"] for name, kwargs in cognito.calls if name == "sign_up"]
    assert len(set(emails)) == 3 and all(e.startswith("smoke-") and e.endswith("@example.com") for e in emails)
    for name, kwargs in cognito.calls:
        if name == "sign_up":
            assert kwargs["ClientId"] == "client-1"
            assert kwargs["UserAttributes"] == [{"Name": "email", "Value": kwargs["Username"]}]
        elif name in ("admin_confirm_sign_up", "admin_delete_user"):
            assert kwargs["UserPoolId"] == "eu-west-3_Pool1"
        elif name == "initiate_auth":
            assert (kwargs["ClientId"], kwargs["AuthFlow"]) == ("client-1", "USER_PASSWORD_AUTH")
    for operation in ("admin_confirm_sign_up", "initiate_auth", "admin_delete_user"):
        used = [k.get("Username") or k["AuthParameters"]["USERNAME"] for n, k in cognito.calls if n == operation]
        assert used == emails, operation
    assert cognito.users == {}
    assert run.regions == ["eu-west-3"]

    # The steps get the WebSocket URL and each user's ID token, whose subject is the user's id.
    [(ws_url, users)] = run.exercised
    assert ws_url == OUTPUTS["ChatStack"]["WebSocketUrl"]
    assert [(u.label, u.user_id, u.token) for u in users] == [
        ("A", "sub-1", "id-token-of-sub-1"),
        ("B", "sub-2", "id-token-of-sub-2"),
        ("C", "sub-3", "id-token-of-sub-3"),
    ]
    assert run.lines() == [
        "ok   read stack outputs",
        "ok   sign up users",
        "ok   sign in",
        "ok   connect A, B, C",
        "ok   delete users",
    ]


def test_users_are_deleted_when_a_step_fails(tmp_path: Path) -> None:
    run = Run(tmp_path, FakeCognito(), exercise_fails=smoke.SmokeError("A was refused: HTTP 401"))
    with pytest.raises(smoke.StepFailed):
        run()
    assert run.cognito.names()[-4:] == ["exercise"] + ["admin_delete_user"] * 3
    assert run.cognito.users == {}
    assert run.lines()[-2:] == ["FAIL connect A, B, C: A was refused: HTTP 401", "ok   delete users"]


def test_users_are_deleted_when_the_run_is_interrupted(tmp_path: Path) -> None:
    run = Run(tmp_path, FakeCognito(), exercise_fails=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        run()
    assert run.cognito.names()[-3:] == ["admin_delete_user"] * 3
    assert run.cognito.users == {}


def test_a_failed_sign_up_deletes_every_user_it_tried_and_goes_no_further(tmp_path: Path) -> None:
    run = Run(tmp_path, FakeCognito(fail={("sign_up", 2): ClientError("InvalidPasswordException")}))
    with pytest.raises(smoke.StepFailed):
        run()
    first, second = [k["Username"] for n, k in run.cognito.calls if n == "sign_up"]
    assert run.cognito.names() == [
        "sign_up",
        "admin_confirm_sign_up",
        "sign_up",
        "admin_delete_user",
        "admin_delete_user",
    ]
    # The second may exist if the error came after Cognito created it: it is deleted too (here: not found, fine).
    assert [k["Username"] for n, k in run.cognito.calls if n == "admin_delete_user"] == [first, second]
    assert run.cognito.users == {}
    assert run.lines() == [
        "ok   read stack outputs",
        "FAIL sign up users: ClientError: An error occurred (InvalidPasswordException)",
        "ok   delete users",
    ]


def test_a_failed_sign_in_still_deletes_the_users(tmp_path: Path) -> None:
    run = Run(tmp_path, FakeCognito(fail={("initiate_auth", 3): ClientError("NotAuthorizedException")}))
    with pytest.raises(smoke.StepFailed):
        run()
    assert "exercise" not in run.cognito.names()
    assert run.cognito.names()[-3:] == ["admin_delete_user"] * 3
    assert run.cognito.users == {}
    assert run.lines()[-2:] == [
        "FAIL sign in: ClientError: An error occurred (NotAuthorizedException)",
        "ok   delete users",
    ]


def test_a_user_that_cannot_be_deleted_is_named_and_fails_the_run_after_the_others_are_deleted(tmp_path: Path) -> None:
    run = Run(tmp_path, FakeCognito(fail={("admin_delete_user", 1): ClientError("AccessDeniedException")}))
    with pytest.raises(smoke.StepFailed):
        run()
    left = list(run.cognito.users)
    assert len(left) == 1 and run.cognito.names()[-3:] == ["admin_delete_user"] * 3
    assert run.lines()[-1] == (
        f"FAIL delete users: not deleted, delete by hand: {left[0]} "
        "(ClientError: An error occurred (AccessDeniedException))"
    )


def test_no_outputs_file_fails_before_any_user_is_made(tmp_path: Path) -> None:
    out = io.StringIO()
    assert smoke.main(["--outputs", str(tmp_path / "missing.json")], out=out) == 1
    assert out.getvalue() == (
        f"FAIL read stack outputs: {tmp_path / 'missing.json'} not found: "
        "run `make deploy` first (it writes the stack outputs there)\n"
    )


def test_outputs_without_the_pool_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"ChatStack": {"WebSocketUrl": "wss://x"}}))
    with pytest.raises(smoke.SmokeError, match="has no UserPoolId, UserPoolClientId"):
        smoke.load_outputs(path)
    path.write_text(json.dumps({"OtherStack": {}}))
    with pytest.raises(smoke.SmokeError, match=r"no outputs of stack ChatStack \(stacks: OtherStack\)"):
        smoke.load_outputs(path)


def test_the_region_comes_from_the_websocket_url_else_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    assert smoke.region_of("wss://abc.execute-api.ap-south-1.amazonaws.com/prod") == "ap-south-1"
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert smoke.region_of("wss://chat.example.com/", "us-west-2_x") == "eu-central-1"
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert smoke.region_of("wss://chat.example.com/", "us-west-2_x") == "us-west-2"
    with pytest.raises(smoke.SmokeError, match="set AWS_REGION"):
        smoke.region_of("wss://chat.example.com/")


def test_passwords_meet_the_pool_policy_and_differ() -> None:
    passwords = [smoke.strong_password() for _ in range(200)]
    assert len(set(passwords)) == 200
    for password in passwords:
        assert len(password) >= 12
        for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits, smoke.SYMBOLS):
            assert any(c in chars for c in password), password
    assert len(smoke.strong_password(5)) == 12


def test_the_script_imports_boto3_only_against_aws() -> None:
    probe = "import sys; import scripts.smoke; print('boto3' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout.strip()) == (0, "False"), result.stderr


# A fake server for the failure lines of the WebSocket steps: it accepts every socket and answers
# `send` as told ("silent": nothing, "error": an error frame).


@pytest.fixture
async def fake_server(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    mode = request.param

    async def handler(ws: ServerConnection) -> None:
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("action") == "send" and mode == "error":
                await ws.send(
                    json.dumps(
                        {
                            "type": "error",
                            "code": "not_found",
                            "message": "No such user",
                            "action": "send",
                            "requestId": frame.get("requestId"),
                        }
                    )
                )

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws"


USERS = [smoke.User(label, f"user-{label}", "token") for label in "ABC"]


@pytest.mark.parametrize("fake_server", ["silent"], indirect=True)
async def test_a_frame_that_never_comes_fails_the_step_naming_the_frame(fake_server: str) -> None:
    out = io.StringIO()
    with pytest.raises(smoke.StepFailed):
        await smoke.run_steps(fake_server, USERS, smoke.Reporter(out), 0.2)
    assert without_ms(out.getvalue()) == [
        "ok   connect A, B, C",
        "FAIL A sends B a direct message: sent: A got no `sent` reply to `send` in 0.2 s",
    ]


@pytest.mark.parametrize("fake_server", ["error"], indirect=True)
async def test_an_error_frame_fails_the_step_with_its_code(fake_server: str) -> None:
    out = io.StringIO()
    with pytest.raises(smoke.StepFailed):
        await smoke.run_steps(fake_server, USERS, smoke.Reporter(out), 5)
    assert out.getvalue().splitlines()[-1] == (
        "FAIL A sends B a direct message: sent: A got error not_found to send: No such user"
    )
