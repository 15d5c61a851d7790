"""The local API Gateway stand-in, with fake functions: events, handshake outcomes, routes, limits,
and the @connections management API as boto3 sees it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from local.gateway import Gateway, GatewayConfig
from local.lambdas import FunctionError

Event = dict[str, Any]


class FakeFunctions:
    """Records every invocation; behaviour per function name is set by the test."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Event]] = []
        self.lock = threading.Lock()
        self.behaviour: dict[str, Callable[[Event], Any]] = {
            "authorizer": lambda e: allow(e, "alice", "phone"),
            "connect": lambda e: {"statusCode": 200},
            "disconnect": lambda e: {"statusCode": 200},
            "default": lambda e: {"statusCode": 200, "body": json.dumps({"type": "error", "route": "$default"})},
            "ping": lambda e: {"statusCode": 200, "body": json.dumps({"type": "pong"})},
            "signup": lambda e: e,  # a Cognito trigger hands its event back
        }

    def invoke(self, name: str, event: Event) -> Any:
        with self.lock:
            self.calls.append((name, event))
        behaviour = self.behaviour.get(name, lambda e: {"statusCode": 200})
        try:
            return behaviour(event)
        except Exception as exc:
            raise FunctionError(f"{name}: {exc}", str(exc)) from exc

    def events(self, name: str) -> list[Event]:
        with self.lock:
            return [event for n, event in self.calls if n == name]


def allow(event: Event, user: str, device: str, effect: str = "Allow") -> dict[str, Any]:
    return {
        "principalId": user,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}],
        },
        "context": {"userId": user, "deviceId": device},
    }


def raise_(message: str) -> Callable[[Event], Any]:
    def fail(event: Event) -> Any:
        raise Exception(message)

    return fail


@pytest.fixture
def functions() -> FakeFunctions:
    return FakeFunctions()


@pytest.fixture
async def gateway(functions: FakeFunctions, tmp_path: Path) -> AsyncIterator[Gateway]:
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<h1>chat</h1>")
    (web / "app.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("not for you")
    config = GatewayConfig(port=0, idle_timeout_s=30, max_connection_s=60, web_dir=web)
    gateway = Gateway(config, functions.invoke, lambda user, ttl: f"token-for-{user}-{ttl}", workers=8)
    await gateway.start()
    gateway.ready = True
    yield gateway
    await gateway.stop()


def ws_url(gateway: Gateway, query: str = "token=t&deviceId=phone") -> str:
    return f"ws://127.0.0.1:{gateway.port}/ws?{query}"


async def until(condition: Callable[[], bool], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def status_of(url: str) -> int | None:
    try:
        async with connect(url):
            return None
    except InvalidStatus as exc:
        return exc.response.status_code


def management(gateway: Gateway) -> Any:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"http://127.0.0.1:{gateway.port}",
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}),
    )


async def raw_http(gateway: Gateway, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(request)
    await writer.drain()
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


# ---------------------------------------------------------------- handshake


async def test_events_carry_the_authorizer_context_from_connect_to_disconnect(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    async with connect(ws_url(gateway, "token=abc&deviceId=phone&extra=1"), user_agent_header="tester/1") as ws:
        await ws.send(json.dumps({"action": "ping"}))
        assert json.loads(await ws.recv()) == {"type": "pong"}
    await until(lambda: bool(functions.events("disconnect")))

    [auth] = functions.events("authorizer")
    assert auth["type"] == "REQUEST"
    assert auth["methodArn"] == "arn:aws:execute-api:us-east-1:123456789012:local/local/$connect"
    assert auth["queryStringParameters"] == {"token": "abc", "deviceId": "phone", "extra": "1"}
    assert auth["requestContext"]["routeKey"] == "$connect"
    assert auth["requestContext"]["eventType"] == "CONNECT"
    connection_id = auth["requestContext"]["connectionId"]
    assert connection_id.endswith("=") and len(connection_id) == 16

    [connect_event] = functions.events("connect")
    [ping] = functions.events("ping")
    [disconnect] = functions.events("disconnect")
    expected_authorizer = {"userId": "alice", "deviceId": "phone", "principalId": "alice"}
    for event, route, kind in (
        (connect_event, "$connect", "CONNECT"),
        (ping, "ping", "MESSAGE"),
        (disconnect, "$disconnect", "DISCONNECT"),
    ):
        context = event["requestContext"]
        assert context["routeKey"] == route and context["eventType"] == kind
        assert context["connectionId"] == connection_id
        assert context["authorizer"] == expected_authorizer
        assert context["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "tester/1"}
        assert context["messageDirection"] == "IN"
        assert {
            "requestId",
            "extendedRequestId",
            "requestTime",
            "requestTimeEpoch",
            "connectedAt",
            "apiId",
            "stage",
            "domainName",
        } <= set(context)
        assert event["isBase64Encoded"] is False
    assert connect_event["queryStringParameters"]["token"] == "abc"
    assert ping["body"] == '{"action": "ping"}'
    assert "messageId" in ping["requestContext"]
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1000


@pytest.mark.parametrize("query", ["deviceId=phone", "token=abc", "token=&deviceId=phone", ""])
async def test_missing_identity_sources_are_refused_without_calling_the_authorizer(
    gateway: Gateway, functions: FakeFunctions, query: str
) -> None:
    assert await status_of(ws_url(gateway, query)) == 401
    assert functions.calls == []


@pytest.mark.parametrize(
    ("authorizer", "connect_result", "status"),
    [
        (lambda e: allow(e, "alice", "phone", effect="Deny"), {"statusCode": 200}, 403),
        (raise_("Unauthorized"), {"statusCode": 200}, 401),
        (raise_("boom"), {"statusCode": 200}, 500),
        (lambda e: {"principalId": "x"}, {"statusCode": 200}, 500),  # no policy document
        (lambda e: {**allow(e, "a", "b"), "context": {"nested": {"no": 1}}}, {"statusCode": 200}, 500),
        (lambda e: allow(e, "alice", "phone"), {"statusCode": 403}, 403),
        (lambda e: allow(e, "alice", "phone"), {"statusCode": 429}, 429),
    ],
)
async def test_the_authorizer_and_connect_decide_the_handshake(
    gateway: Gateway, functions: FakeFunctions, authorizer: Any, connect_result: Any, status: int
) -> None:
    functions.behaviour["authorizer"] = authorizer
    functions.behaviour["connect"] = lambda e: connect_result
    assert await status_of(ws_url(gateway)) == status
    assert gateway.connections() == []


async def test_a_policy_for_another_route_does_not_allow_connect(gateway: Gateway, functions: FakeFunctions) -> None:
    functions.behaviour["authorizer"] = lambda e: allow({"methodArn": e["methodArn"] + "x"}, "a", "b")
    assert await status_of(ws_url(gateway)) == 403
    stage_wide = {"methodArn": "arn:aws:execute-api:us-east-1:123456789012:local/local/*"}
    functions.behaviour["authorizer"] = lambda e: allow(stage_wide, "a", "b")
    assert await status_of(ws_url(gateway)) is None


async def test_sockets_live_at_ws_only(gateway: Gateway) -> None:
    assert await status_of(f"ws://127.0.0.1:{gateway.port}/other?token=t&deviceId=d") == 404


# ---------------------------------------------------------------- frames


@pytest.mark.parametrize(
    ("frame", "route"),
    [
        ('{"action": "ping"}', "ping"),
        ('{"action": "send", "to": "bob"}', "send"),
        ('{"action": "read"}', "read"),
        ('{"action": "nope"}', "$default"),
        ('{"action": "$connect"}', "$default"),
        ('{"action": 5}', "$default"),
        ('{"no": "action"}', "$default"),
        ("[1, 2]", "$default"),
        ("not json", "$default"),
    ],
)
async def test_routes_are_selected_on_the_action(
    gateway: Gateway, functions: FakeFunctions, frame: str, route: str
) -> None:
    async with connect(ws_url(gateway)) as ws:
        await ws.send(frame)
        await until(lambda: any(e["requestContext"]["routeKey"] == route for _, e in functions.calls))
    [event] = [e for _, e in functions.calls if e.get("requestContext", {}).get("eventType") == "MESSAGE"]
    assert event["body"] == frame
    assert event["requestContext"]["routeKey"] == route


async def test_a_failing_function_answers_internal_server_error(gateway: Gateway, functions: FakeFunctions) -> None:
    functions.behaviour["ping"] = raise_("boom")
    async with connect(ws_url(gateway)) as ws:
        await ws.send('{"action": "ping"}')
        reply = json.loads(await ws.recv())
    assert reply["message"] == "Internal server error"
    assert {"connectionId", "requestId"} <= set(reply)


async def test_a_function_without_body_sends_nothing(gateway: Gateway, functions: FakeFunctions) -> None:
    functions.behaviour["ping"] = lambda e: {"statusCode": 200}
    async with connect(ws_url(gateway)) as ws:
        await ws.send('{"action": "ping"}')
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)


async def test_frames_over_32_kb_are_refused_with_too_large(gateway: Gateway, functions: FakeFunctions) -> None:
    functions.behaviour["send"] = lambda e: {"statusCode": 200, "body": json.dumps({"size": len(e["body"])})}
    async with connect(ws_url(gateway)) as ws:
        prefix = '{"action": "send", "requestId": "r1", "text": "'
        fits = prefix + "x" * (32 * 1024 - len(prefix) - 2) + '"}'
        await ws.send(fits)
        assert json.loads(await ws.recv()) == {"size": 32 * 1024}
        await ws.send(fits.replace('"x', '"xx'))
        error = json.loads(await ws.recv())
        assert error["type"] == "error" and error["code"] == "too_large"
        assert error["requestId"] == "r1" and error["action"] == "send"
        await ws.send("y" * 200_000)  # not even JSON
        assert json.loads(await ws.recv())["code"] == "too_large"
        # The socket is still usable.
        await ws.send('{"action": "ping"}')
        assert json.loads(await ws.recv()) == {"type": "pong"}
    assert len(functions.events("send")) == 1


async def test_binary_frames_go_to_default_base64_encoded(gateway: Gateway, functions: FakeFunctions) -> None:
    async with connect(ws_url(gateway)) as ws:
        await ws.send(b"\x00\x01")
        await ws.recv()
    [event] = [e for n, e in functions.calls if n == "default"]
    assert event["isBase64Encoded"] is True and event["body"] == "AAE="


# ---------------------------------------------------------------- management API


async def connected(gateway: Gateway) -> tuple[ClientConnection, str]:
    ws = await connect(ws_url(gateway))
    await until(lambda: len(gateway.connections()) == 1)
    return ws, gateway.connections()[0]["connectionId"]


async def test_post_to_connection_sends_a_text_frame(gateway: Gateway) -> None:
    ws, connection_id = await connected(gateway)
    client = management(gateway)
    await asyncio.to_thread(client.post_to_connection, ConnectionId=connection_id, Data=b'{"type": "message"}')
    assert await ws.recv() == '{"type": "message"}'
    await ws.close()


async def test_get_connection_describes_it(gateway: Gateway) -> None:
    ws, connection_id = await connected(gateway)
    info = await asyncio.to_thread(management(gateway).get_connection, ConnectionId=connection_id)
    assert info["Identity"]["SourceIp"] == "127.0.0.1"
    assert info["ConnectedAt"] <= info["LastActiveAt"]
    await ws.close()


async def test_delete_connection_closes_it_and_runs_disconnect(gateway: Gateway, functions: FakeFunctions) -> None:
    ws, connection_id = await connected(gateway)
    await asyncio.to_thread(management(gateway).delete_connection, ConnectionId=connection_id)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    await until(lambda: bool(functions.events("disconnect")))


async def test_unknown_and_closed_connections_are_gone(gateway: Gateway) -> None:
    client = management(gateway)
    for connection_id in ("Xy1abcDEF12=", "a-b_c="):
        with pytest.raises(client.exceptions.GoneException):
            await asyncio.to_thread(client.post_to_connection, ConnectionId=connection_id, Data=b"x")
        with pytest.raises(client.exceptions.GoneException):
            await asyncio.to_thread(client.get_connection, ConnectionId=connection_id)
    ws, connection_id = await connected(gateway)
    await ws.close()
    await until(lambda: gateway.connections() == [])
    with pytest.raises(client.exceptions.GoneException):
        await asyncio.to_thread(client.post_to_connection, ConnectionId=connection_id, Data=b"x")


async def test_a_silently_dropped_connection_is_gone_without_disconnect(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    ws, connection_id = await connected(gateway)
    assert await gateway.drop_silently(connection_id)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    client = management(gateway)
    with pytest.raises(client.exceptions.GoneException):
        await asyncio.to_thread(client.post_to_connection, ConnectionId=connection_id, Data=b"x")
    await asyncio.sleep(0.2)
    assert functions.events("disconnect") == []


async def test_posts_over_128_kb_are_refused(gateway: Gateway) -> None:
    ws, connection_id = await connected(gateway)
    client = management(gateway)
    with pytest.raises(client.exceptions.PayloadTooLargeException):
        await asyncio.to_thread(client.post_to_connection, ConnectionId=connection_id, Data=b"x" * (128 * 1024 + 1))
    await ws.close()


# ---------------------------------------------------------------- time limits


async def test_an_idle_connection_is_closed(functions: FakeFunctions) -> None:
    gateway = Gateway(GatewayConfig(port=0, idle_timeout_s=0.6, max_connection_s=60), functions.invoke, None)
    await gateway.start()
    gateway.ready = True
    try:
        async with connect(ws_url(gateway)) as ws:
            for _ in range(3):  # activity keeps it open past the idle timeout
                await asyncio.sleep(0.4)
                await ws.send('{"action": "ping"}')
                await ws.recv()
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 3)
            assert ws.close_code == 1001
        await until(lambda: bool(functions.events("disconnect")))
        assert functions.events("disconnect")[0]["requestContext"]["disconnectStatusCode"] == 1001
    finally:
        await gateway.stop()


async def test_a_connection_lives_at_most_max_connection_s(functions: FakeFunctions) -> None:
    gateway = Gateway(GatewayConfig(port=0, idle_timeout_s=60, max_connection_s=1.0), functions.invoke, None)
    await gateway.start()
    gateway.ready = True
    try:
        async with connect(ws_url(gateway)) as ws:
            started = asyncio.get_running_loop().time()
            with pytest.raises(ConnectionClosed):
                while True:
                    await ws.send('{"action": "ping"}')
                    await ws.recv()
                    await asyncio.sleep(0.1)
            assert 0.9 < asyncio.get_running_loop().time() - started < 3
            assert ws.close_code == 1001
    finally:
        await gateway.stop()


# ---------------------------------------------------------------- plain HTTP


async def test_health_says_ready_only_when_ready(gateway: Gateway) -> None:
    assert (await raw_http(gateway, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"))[0] == 200
    gateway.ready = False
    assert (await raw_http(gateway, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"))[0] == 503
    assert await status_of(ws_url(gateway)) == 503


async def test_dev_token(gateway: Gateway) -> None:
    status, body = await raw_http(gateway, b"GET /dev/token?userId=bob HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, json.loads(body)) == (200, {"token": "token-for-bob-None"})
    status, body = await raw_http(gateway, b"GET /dev/token?userId=bob&ttlS=60 HTTP/1.1\r\n\r\n")
    assert (status, json.loads(body)) == (200, {"token": "token-for-bob-60"})
    assert (await raw_http(gateway, b"GET /dev/token HTTP/1.1\r\n\r\n"))[0] == 400
    assert (await raw_http(gateway, f"GET /dev/token?userId={'x' * 129} HTTP/1.1\r\n\r\n".encode()))[0] == 400


async def test_dev_token_signs_the_user_up_first_like_cognitos_post_confirmation_trigger(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    status, _ = await raw_http(gateway, b"GET /dev/token?userId=bob HTTP/1.1\r\n\r\n")

    assert status == 200
    [event] = functions.events("signup")
    assert event["triggerSource"] == "PostConfirmation_ConfirmSignUp"
    assert event["request"]["userAttributes"]["sub"] == "bob"
    assert event["userName"] == "bob"
    assert event["response"] == {}
    assert {"version", "region", "userPoolId", "callerContext"} <= set(event)
    # Refused requests sign nobody up.
    await raw_http(gateway, b"GET /dev/token?userId= HTTP/1.1\r\n\r\n")
    await raw_http(gateway, b"GET /dev/token?userId=carol&ttlS=x HTTP/1.1\r\n\r\n")
    assert len(functions.events("signup")) == 1


@pytest.mark.parametrize(
    "signup",
    [raise_("boom"), lambda e: None, lambda e: {**e, "response": {"extra": 1}}],
    ids=["fails", "returns nothing", "returns another event"],
)
async def test_no_token_when_the_sign_up_fails(gateway: Gateway, functions: FakeFunctions, signup: Any) -> None:
    functions.behaviour["signup"] = signup
    status, body = await raw_http(gateway, b"GET /dev/token?userId=bob HTTP/1.1\r\n\r\n")
    assert status == 500
    assert "token" not in json.loads(body)


async def test_the_sign_up_runs_in_the_thread_pool_while_the_gateway_keeps_serving(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    release = threading.Event()
    threads: list[str] = []

    def slow_signup(event: Event) -> Event:
        threads.append(threading.current_thread().name)
        release.wait(10)
        return event

    functions.behaviour["signup"] = slow_signup
    token_request = asyncio.create_task(raw_http(gateway, b"GET /dev/token?userId=bob HTTP/1.1\r\n\r\n"))
    try:
        await until(lambda: bool(threads))
        # The sign-up is still running, and the event loop answers other requests meanwhile.
        assert (await raw_http(gateway, b"GET /health HTTP/1.1\r\n\r\n"))[0] == 200
        assert not token_request.done()
    finally:
        release.set()
    assert (await token_request)[0] == 200
    assert threads[0].startswith("lambda") and threads[0] != threading.current_thread().name


@pytest.mark.parametrize(
    ("target", "status", "body"),
    [
        ("/", 200, b"<h1>chat</h1>"),
        ("/index.html", 200, b"<h1>chat</h1>"),
        ("/app.js", 200, b"console.log(1)"),
        ("/missing.js", 404, None),
        ("/../secret.txt", 404, None),
        ("/%2e%2e/secret.txt", 404, None),
        ("/..%2fsecret.txt", 404, None),
        ("/ws", 426, None),
    ],
)
async def test_static_files_come_from_web_only(gateway: Gateway, target: str, status: int, body: bytes | None) -> None:
    got_status, got_body = await raw_http(gateway, f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert got_status == status
    if body is not None:
        assert got_body == body


async def test_other_methods_are_not_allowed(gateway: Gateway) -> None:
    request = b"POST /index.html HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
    assert (await raw_http(gateway, request))[0] == 405


# ---------------------------------------------------------------- browsers: only the stack's own pages


def own_origins(gateway: Gateway) -> list[str]:
    return [f"http://127.0.0.1:{gateway.port}", f"http://localhost:{gateway.port}"]


def foreign_origins(gateway: Gateway) -> list[str]:
    return ["https://evil.example", f"http://localhost:{gateway.port + 1}", f"https://127.0.0.1:{gateway.port}", "null"]


async def handshake_status(gateway: Gateway, origin: str) -> int | None:
    try:
        async with connect(ws_url(gateway), origin=Origin(origin)):
            return None
    except InvalidStatus as exc:
        return exc.response.status_code


def get(target: str, **headers: str) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def response_head(gateway: Gateway, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(request)
    response = await reader.read()
    writer.close()
    return response.partition(b"\r\n\r\n")[0].lower()


async def test_a_handshake_from_another_origin_is_refused_before_the_authorizer_runs(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    for origin in foreign_origins(gateway):
        assert await handshake_status(gateway, origin) == 403, origin
    assert functions.calls == []
    assert gateway.connections() == []


async def test_a_handshake_from_the_served_web_client_or_without_origin_connects(
    gateway: Gateway, functions: FakeFunctions
) -> None:
    for origin in own_origins(gateway):
        assert await handshake_status(gateway, origin) is None, origin
    assert await status_of(ws_url(gateway)) is None  # no Origin: the CLI, scripts, websockets clients
    assert len(functions.events("authorizer")) == 3


async def test_two_origin_headers_are_refused(gateway: Gateway, functions: FakeFunctions) -> None:
    own = own_origins(gateway)[0]
    headers = [("Origin", own), ("Origin", "https://evil.example")]
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(gateway), additional_headers=headers):
            pass
    assert refused.value.response.status_code == 403
    assert functions.calls == []


async def test_dev_token_answers_same_origin_requests_only(gateway: Gateway, functions: FakeFunctions) -> None:
    for origin in foreign_origins(gateway):
        assert (await raw_http(gateway, get("/dev/token?userId=bob", Origin=origin)))[0] == 403, origin
    for site in ("cross-site", "same-site"):  # sent by browsers even on a GET without Origin
        assert (await raw_http(gateway, get("/dev/token?userId=bob", **{"Sec-Fetch-Site": site})))[0] == 403
    assert functions.events("signup") == []  # nobody was signed up by a refused request

    for origin in own_origins(gateway):
        assert (await raw_http(gateway, get("/dev/token?userId=bob", Origin=origin)))[0] == 200, origin
    for site in ("same-origin", "none"):  # the web client's fetch; the address bar
        assert (await raw_http(gateway, get("/dev/token?userId=bob", **{"Sec-Fetch-Site": site})))[0] == 200
    assert (await raw_http(gateway, get("/dev/token?userId=bob")))[0] == 200  # curl, the CLI, scripts


@pytest.mark.parametrize("target", ["/dev/token?userId=bob", "/health"])
async def test_no_response_lets_another_origin_read_it(gateway: Gateway, target: str) -> None:
    head = await response_head(gateway, get(target))
    assert head.startswith(b"http/1.1 200")
    assert b"access-control-allow" not in head


async def test_the_other_endpoints_refuse_other_origins_too(gateway: Gateway, functions: FakeFunctions) -> None:
    ws, connection_id = await connected(gateway)
    evil = "Origin: https://evil.example\r\n"
    for request in (
        f"POST /@connections/{connection_id} HTTP/1.1\r\n{evil}Content-Length: 5\r\n\r\nhello",
        f"DELETE /@connections/{connection_id} HTTP/1.1\r\n{evil}\r\n",
        f"POST /dev/connections/{connection_id}/drop HTTP/1.1\r\n{evil}Content-Length: 0\r\n\r\n",
        f"GET /dev/connections HTTP/1.1\r\n{evil}\r\n",
        f"GET /health HTTP/1.1\r\n{evil}\r\n",
    ):
        assert (await raw_http(gateway, request.encode()))[0] == 403, request
    assert [c["connectionId"] for c in gateway.connections()] == [connection_id]
    # The socket got nothing and is still open.
    await ws.send('{"action": "ping"}')
    assert json.loads(await ws.recv()) == {"type": "pong"}
    await ws.close()


async def test_the_web_client_may_be_opened_from_a_link_anywhere(gateway: Gateway) -> None:
    request = get("/", Origin="https://evil.example", **{"Sec-Fetch-Site": "cross-site"})
    assert await raw_http(gateway, request) == (200, b"<h1>chat</h1>")
