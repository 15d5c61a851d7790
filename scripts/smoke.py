"""Smoke test of a running deployment: real users, the real WebSocket URL, the main paths once each.

    .venv/bin/python scripts/smoke.py                                # AWS: after `make deploy`
    .venv/bin/python scripts/smoke.py --local http://127.0.0.1:8080   # a local stack (`make dev`)

Against AWS it reads the stack outputs from build/cdk-outputs.json, signs up three throwaway users
in the stack's Cognito user pool (`SignUp` with the app client, then `AdminConfirmSignUp`, which
fires the pool's post-confirmation trigger), signs them in (USER_PASSWORD_AUTH) for ID tokens, and
deletes them at the end whatever happened (`AdminDeleteUser`). Against a local stack the tokens
come from `GET <url>/dev/token` and there is nothing to delete.

Then, over the WebSocket URL: A, B and C connect; A sends B a direct message (`sent`); B gets the
`message`; B acks `delivered`, then `read`, and A gets each `receipt`; A creates a group of A, B
and C and sends into it; B and C get the `message`; a new device of B `sync`s and its `synced`
lists both conversations, after their `message` frames, with a `syncToken`; a `sync` with that token
is answered too.

Each step prints one line, `ok   <step> (<ms> ms)` or `FAIL <step>: <reason>`; the first failure
ends the run with exit status 1. An `error` frame on any socket fails the step it came in.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import string
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUTS = ROOT / "build" / "cdk-outputs.json"
STACK_NAME = "ChatStack"
STEP_TIMEOUT_S = 15.0
SYMBOLS = "!#$%&*+-=?@^_~"

Frame = dict[str, Any]


class SmokeError(Exception):
    """What went wrong in a step, in words for the FAIL line."""


class StepFailed(Exception):
    """A step failed; its FAIL line is printed."""


class Reporter:
    """Prints one line per step: `ok   <step> (<ms> ms)` or `FAIL <step>: <reason>`."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except Exception as exc:
            reason = str(exc) if isinstance(exc, SmokeError) else f"{type(exc).__name__}: {exc}"
            print(f"FAIL {name}: {reason}", file=self.out, flush=True)
            raise StepFailed(name) from exc
        print(f"ok   {name} ({(time.perf_counter() - started) * 1000:.0f} ms)", file=self.out, flush=True)


@dataclass
class User:
    label: str  # "A", "B", "C" in the output
    user_id: str  # the token's subject
    token: str


# --------------------------------------------------------------------------------------- AWS


@dataclass
class Outputs:
    websocket_url: str
    user_pool_id: str
    user_pool_client_id: str


def load_outputs(path: Path, stack: str = STACK_NAME) -> Outputs:
    """The stack outputs `make deploy` wrote (`cdk deploy --outputs-file`)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SmokeError(f"{path} not found: run `make deploy` first (it writes the stack outputs there)") from None
    except ValueError as exc:
        raise SmokeError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get(stack), dict):
        found = ", ".join(data) if isinstance(data, dict) else "none"
        raise SmokeError(f"{path} has no outputs of stack {stack} (stacks: {found})")
    values = data[stack]
    missing = [k for k in ("WebSocketUrl", "UserPoolId", "UserPoolClientId") if not values.get(k)]
    if missing:
        raise SmokeError(f"{path}: stack {stack} has no {', '.join(missing)}")
    return Outputs(values["WebSocketUrl"], values["UserPoolId"], values["UserPoolClientId"])


def region_of(websocket_url: str, user_pool_id: str = "") -> str:
    """The region of `wss://<api>.execute-api.<region>.amazonaws.com/<stage>`, else AWS_REGION."""
    host = urllib.parse.urlsplit(websocket_url).hostname or ""
    match = re.search(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$", host)
    if match:
        return match.group(1)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        return region
    if "_" in user_pool_id:  # pool ids are <region>_<id>
        return user_pool_id.split("_", 1)[0]
    raise SmokeError(f"cannot tell the region from {websocket_url}: set AWS_REGION")


def strong_password(length: int = 24) -> str:
    """Random, and meets the pool's policy: at least 12 characters with lower, upper, digit and symbol."""
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, SYMBOLS]
    chars = [secrets.choice(c) for c in classes]
    chars += [secrets.choice("".join(classes)) for _ in range(max(length, 12) - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def cognito_client(region: str) -> Any:
    import boto3  # only AWS mode needs boto3

    return boto3.client("cognito-idp", region_name=region)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


@dataclass
class CognitoUsers:
    """Throwaway users of the stack's pool; every one it tried to sign up is deleted by `delete_all`."""

    cognito: Any  # a boto3 cognito-idp client
    user_pool_id: str
    client_id: str
    # email -> (password, sub); the email is recorded before SignUp is called, so a sign-up that
    # failed after Cognito created the user is cleaned up too.
    users: dict[str, tuple[str, str]] = field(default_factory=dict)

    def sign_up(self, count: int) -> None:
        """SignUp with the app client, then AdminConfirmSignUp (fires the post-confirmation trigger)."""
        for _ in range(count):
            email = f"smoke-{uuid.uuid4().hex[:12]}@example.com"
            password = strong_password()
            self.users[email] = (password, "")
            reply = self.cognito.sign_up(
                ClientId=self.client_id,
                Username=email,  # the pool signs in by email
                Password=password,
                UserAttributes=[{"Name": "email", "Value": email}],
            )
            self.users[email] = (password, str(reply["UserSub"]))
            self.cognito.admin_confirm_sign_up(UserPoolId=self.user_pool_id, Username=email)

    def sign_in(self, labels: list[str]) -> list[User]:
        """An ID token for each user (USER_PASSWORD_AUTH); its subject is the user's id."""
        signed_in = []
        for label, (email, (password, sub)) in zip(labels, self.users.items(), strict=True):
            reply = self.cognito.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
            token = (reply.get("AuthenticationResult") or {}).get("IdToken")
            if not token:
                raise SmokeError(f"{email} got no ID token (challenge: {reply.get('ChallengeName')})")
            signed_in.append(User(label, sub, str(token)))
        return signed_in

    def delete_all(self) -> None:
        """AdminDeleteUser for every user; tries them all, then reports those that are left."""
        left = []
        for email in list(self.users):
            try:
                self.cognito.admin_delete_user(UserPoolId=self.user_pool_id, Username=email)
            except Exception as exc:
                if _error_code(exc) != "UserNotFoundException":
                    left.append(f"{email} ({type(exc).__name__}: {exc})")
                    continue
            del self.users[email]
        if left:
            raise SmokeError(f"not deleted, delete by hand: {'; '.join(left)}")


Exercise = Callable[[str, list[User], Reporter, float], Coroutine[Any, Any, None]]


def run_aws(
    outputs_path: Path,
    reporter: Reporter,
    timeout: float,
    make_client: Callable[[str], Any] = cognito_client,
    exercise: Exercise | None = None,
) -> None:
    with reporter.step("read stack outputs"):
        outputs = load_outputs(outputs_path)
        cognito = make_client(region_of(outputs.websocket_url, outputs.user_pool_id))
    pool = CognitoUsers(cognito, outputs.user_pool_id, outputs.user_pool_client_id)
    try:
        with reporter.step("sign up users"):
            pool.sign_up(3)
        with reporter.step("sign in"):
            users = pool.sign_in(["A", "B", "C"])
        asyncio.run((exercise or run_steps)(outputs.websocket_url, users, reporter, timeout))
    finally:
        with reporter.step("delete users"):
            pool.delete_all()


# ------------------------------------------------------------------------------------- local


def local_urls(http_url: str) -> tuple[str, str]:
    """(http base, WebSocket URL) of a local stack given as http://host:port."""
    parts = urllib.parse.urlsplit(http_url.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SmokeError(f"--local wants the stack's http://host:port, not {http_url!r}")
    ws_scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{parts.scheme}://{parts.netloc}", f"{ws_scheme}://{parts.netloc}/ws"


def local_token(http_base: str, user_id: str) -> str:
    url = f"{http_base}/dev/token?{urllib.parse.urlencode({'userId': user_id})}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(json.loads(response.read())["token"])
    except urllib.error.HTTPError as exc:
        raise SmokeError(f"GET {url} answered HTTP {exc.code} (only a local stack issues tokens)") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SmokeError(f"GET {url} failed: {exc}") from None


def run_local(http_url: str, reporter: Reporter, timeout: float) -> None:
    with reporter.step("local tokens"):
        http_base, ws_url = local_urls(http_url)
        run = uuid.uuid4().hex[:8]
        users = [User(label, f"smoke-{run}-{label.lower()}", "") for label in ("A", "B", "C")]
        for user in users:
            user.token = local_token(http_base, user.user_id)
    asyncio.run(run_steps(ws_url, users, reporter, timeout))


# --------------------------------------------------------------------------------- WebSocket


class Sockets:
    """The run's open sockets. Waiting on one fails at once on an `error` frame from any of them."""

    def __init__(self, ws_url: str, timeout: float) -> None:
        self.ws_url = ws_url
        self.timeout = timeout
        self.devices: list[Device] = []
        self.arrived = asyncio.Condition()

    async def open(self, user: User, device_id: str) -> Device:
        query = urllib.parse.urlencode({"token": user.token, "deviceId": device_id})
        separator = "&" if "?" in self.ws_url else "?"
        try:
            ws = await connect(f"{self.ws_url}{separator}{query}", open_timeout=self.timeout, max_size=None)
        except InvalidStatus as exc:
            raise SmokeError(f"{user.label} was refused: HTTP {exc.response.status_code}") from None
        except TimeoutError:
            raise SmokeError(f"{user.label} could not connect in {self.timeout:g} s") from None
        except OSError as exc:
            raise SmokeError(f"{user.label} could not connect: {exc}") from None
        device = Device(self, user, device_id, ws)
        self.devices.append(device)
        return device

    async def close(self) -> None:
        await asyncio.gather(*(d.close() for d in self.devices), return_exceptions=True)

    def first_error(self) -> str | None:
        for device in self.devices:
            for frame in device.frames:
                if frame.get("type") == "error":
                    return (
                        f"{device.user.label} got error {frame.get('code')} to {frame.get('action')}: "
                        f"{frame.get('message')}"
                    )
        return None

    async def wait_for(self, device: Device, predicate: Callable[[Frame], bool], what: str) -> Frame:
        """The first frame on `device` matching `predicate`; `what` names it in the timeout message."""

        def found() -> Frame | None:
            return next((f for f in device.frames if predicate(f)), None)

        async with self.arrived:
            try:
                async with asyncio.timeout(self.timeout):
                    while True:
                        if (error := self.first_error()) is not None:
                            raise SmokeError(error)
                        if (frame := found()) is not None:
                            return frame
                        if device.reader.done():
                            raise SmokeError(
                                f"{device.user.label}'s socket closed ({device.ws.close_code}) before {what} came"
                            )
                        await self.arrived.wait()
            except TimeoutError:
                raise SmokeError(f"{device.user.label} got no {what} in {self.timeout:g} s") from None


class Device:
    """One socket: keeps every frame it receives."""

    def __init__(self, sockets: Sockets, user: User, device_id: str, ws: ClientConnection) -> None:
        self.sockets = sockets
        self.user = user
        self.device_id = device_id
        self.ws = ws
        self.frames: list[Frame] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    frame = {"type": "error", "code": "(not JSON)", "message": str(raw)[:200]}
                async with self.sockets.arrived:
                    self.frames.append(frame if isinstance(frame, dict) else {"type": None, "frame": frame})
                    self.sockets.arrived.notify_all()
        except ConnectionClosed:
            pass
        finally:
            async with self.sockets.arrived:
                self.sockets.arrived.notify_all()

    async def send(self, frame: Frame) -> None:
        try:
            await self.ws.send(json.dumps(frame))
        except ConnectionClosed:
            raise SmokeError(f"{self.user.label}'s socket closed ({self.ws.close_code})") from None

    async def request(self, frame: Frame, reply_type: str) -> Frame:
        """Sends `frame` with a requestId; returns the `reply_type` reply carrying it."""
        request_id = uuid.uuid4().hex
        await self.send({**frame, "requestId": request_id})
        return await self.sockets.wait_for(
            self, lambda f: f.get("requestId") == request_id, f"`{reply_type}` reply to `{frame['action']}`"
        )

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait([self.reader], timeout=5)


def expect(reply: Frame, type_: str, **fields: Any) -> Frame:
    """`reply` is a `type_` frame with these field values, or the step fails saying what came instead."""
    wrong = {k: reply.get(k) for k, v in fields.items() if reply.get(k) != v}
    if reply.get("type") != type_ or wrong:
        raise SmokeError(f"expected `{type_}` with {fields}, got {reply}")
    return reply


def is_frame(type_: str, **fields: Any) -> Callable[[Frame], bool]:
    return lambda f: f.get("type") == type_ and all(f.get(k) == v for k, v in fields.items())


# ------------------------------------------------------------------------------------- steps


async def run_steps(ws_url: str, users: list[User], reporter: Reporter, timeout: float) -> None:
    """The smoke steps over the WebSocket URL, for users A, B and C (see the module docstring)."""
    a, b, c = users
    run = uuid.uuid4().hex[:8]
    sockets = Sockets(ws_url, timeout)
    try:
        with reporter.step("connect A, B, C"):
            # Each user exists once connected (or from sign-up): B and C before anyone names them.
            phone_a, phone_b, phone_c = [await sockets.open(u, f"smoke-{run}-{u.label.lower()}") for u in users]

        with reporter.step("A sends B a direct message: sent"):
            direct_msg_id = f"smoke-{run}-direct"
            sent = await phone_a.request(
                {"action": "send", "to": b.user_id, "clientMsgId": direct_msg_id, "body": {"text": "smoke: hi B"}},
                "sent",
            )
            expect(sent, "sent", clientMsgId=direct_msg_id)
            direct, direct_seq = sent["conversationId"], sent["seq"]

        with reporter.step("B receives the message"):
            message = await sockets.wait_for(
                phone_b, is_frame("message", conversationId=direct, seq=direct_seq), "`message`"
            )
            expect(message, "message", senderId=a.user_id, clientMsgId=direct_msg_id)

        with reporter.step("B delivered: A gets receipt delivered"):
            await phone_b.send({"action": "delivered", "conversationId": direct, "seq": direct_seq})
            await sockets.wait_for(
                phone_a,
                is_frame("receipt", conversationId=direct, userId=b.user_id, kind="delivered", seq=direct_seq),
                "`receipt` (kind delivered)",
            )

        with reporter.step("B read: A gets receipt read"):
            await phone_b.send({"action": "read", "conversationId": direct, "seq": direct_seq})
            await sockets.wait_for(
                phone_a,
                is_frame("receipt", conversationId=direct, userId=b.user_id, kind="read", seq=direct_seq),
                "`receipt` (kind read)",
            )

        with reporter.step("A creates a group of A, B, C"):
            created = await phone_a.request(
                {"action": "createGroup", "name": f"smoke {run}", "members": [b.user_id, c.user_id]}, "group"
            )
            expect(created, "group", change="created")
            group = created["conversationId"]
            if set(created.get("members") or []) != {a.user_id, b.user_id, c.user_id}:
                raise SmokeError(f"the group's members are {created.get('members')}")

        with reporter.step("A sends into the group: sent"):
            group_msg_id = f"smoke-{run}-group"
            sent = await phone_a.request(
                {"action": "send", "conversationId": group, "clientMsgId": group_msg_id, "body": {"text": "smoke: hi"}},
                "sent",
            )
            expect(sent, "sent", conversationId=group, clientMsgId=group_msg_id)
            group_seq = sent["seq"]

        with reporter.step("B and C receive the group message"):
            for phone in (phone_b, phone_c):
                message = await sockets.wait_for(
                    phone, is_frame("message", conversationId=group, seq=group_seq), "the group `message`"
                )
                expect(message, "message", senderId=a.user_id, clientMsgId=group_msg_id)

        with reporter.step("a new device of B syncs both conversations"):
            laptop_b = await sockets.open(b, f"smoke-{run}-b2")
            synced = await laptop_b.request({"action": "sync", "cursors": {}, "since": ""}, "synced")
            expect(synced, "synced", complete=True)
            token = synced.get("syncToken")
            if not isinstance(token, str) or not token:
                raise SmokeError(f"`synced` in answer to `since` holds no syncToken: {synced}")
            listed = {conv.get("conversationId"): conv for conv in synced.get("conversations") or []}
            for conversation_id, kind, seq, msg_id in (
                (direct, "direct", direct_seq, direct_msg_id),
                (group, "group", group_seq, group_msg_id),
            ):
                conv = listed.get(conversation_id)
                if conv is None or conv.get("kind") != kind or conv.get("lastSeq") != seq:
                    raise SmokeError(f"`synced` lists {conversation_id} as {conv} (expected a {kind} at lastSeq {seq})")
                # sync sends the `message` frames before `synced`, so they are here already.
                synced_message = is_frame("message", conversationId=conversation_id, seq=seq, clientMsgId=msg_id)
                if not any(synced_message(f) for f in laptop_b.frames):
                    raise SmokeError(f"no `message` {conversation_id} #{seq} before `synced`")

        with reporter.step("B's new device syncs again with its token"):
            cursors = {direct: direct_seq, group: group_seq}
            again = await laptop_b.request({"action": "sync", "cursors": cursors, "since": token}, "synced")
            expect(again, "synced", complete=True)
            # Changes of the last minutes may be listed again; nothing else is.
            relisted = {conv.get("conversationId") for conv in again.get("conversations") or []}
            if not relisted <= {direct, group} or not again.get("syncToken"):
                raise SmokeError(f"`synced` with a token: {again}")
    finally:
        await sockets.close()


# -------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local", metavar="URL", help="a local stack's http://host:port instead of AWS")
    parser.add_argument(
        "--outputs", type=Path, default=DEFAULT_OUTPUTS, help="AWS: the stack outputs (default build/cdk-outputs.json)"
    )
    parser.add_argument("--timeout", type=float, default=STEP_TIMEOUT_S, help="seconds per step (default 15)")
    args = parser.parse_args(argv)
    reporter = Reporter(out)
    try:
        if args.local:
            run_local(args.local, reporter, args.timeout)
        else:
            run_aws(args.outputs, reporter, args.timeout)
    except StepFailed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
