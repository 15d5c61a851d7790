"""The local stack's own HTTP endpoints, which AWS has no counterpart of, and the web client's files.

- `GET /health`: 200 once the stack is ready, 503 before; it lists the behaviours switched on, and
  the faults (chat/faults.py) with how often each fired so far;
- `GET /dev/token?userId=…[&ttlS=…]`: signing in (`sign_in`): the signup function runs as Cognito's
  post-confirmation trigger would, then a token is issued;
- `GET /dev/connections` and `POST /dev/connections/{id}/drop`: the open connections, and dropping
  one without `$disconnect` (test hooks for a stack in another process);
- `GET /dev/notifications`: the push notifications the functions would have sent (chat/notifiers.py's
  recording notifier): `notifications`, `rejected` (tokens answered as rejected, "rejected-…") and
  `forgotten` (tokens replaced or signed out);
- `GET /dev/costs`: the cost meter's counters (`local/costs.py`), 404 unless LOCAL_COST_METER is set;
- anything else under GET or HEAD: a file of the web client (`web/`), never one outside it.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from chat import faults, notifiers
from chat.topology import SIGNUP
from chat.user_ids import MAX_USER_ID_LENGTH, is_valid_user_id
from local import costs
from local.events import post_confirmation_event
from local.http import HttpRequest, HttpResponse
from local.lambdas import FunctionError

if TYPE_CHECKING:
    from local.gateway import Gateway

log = logging.getLogger("local.gateway")

TokenIssuer = Callable[[str, int | None], str]


def is_dev_path(path: str) -> bool:
    return path == "/health" or path.startswith("/dev/")


class DevEndpoints:
    def __init__(
        self,
        gateway: Gateway,
        issue_token: TokenIssuer | None,
        web_dir: Path | None,
        behaviours: Callable[[], list[str]],
    ) -> None:
        self.gateway = gateway
        self.issue_token = issue_token
        self.web_dir = web_dir
        # What the stack was told to do unlike a quiet AWS (slow functions, DynamoDB quirks).
        self.behaviours = behaviours

    async def handle(self, request: HttpRequest) -> HttpResponse | None:
        """The answer of a `/health` or `/dev/` endpoint, or None if the request is for none of them."""
        path = request.path
        if path == "/health":
            if self.gateway.ready:
                health = {"status": "ok", "behaviours": self.behaviours(), "faults": faults.current().active}
                return HttpResponse.json(200, health)
            return HttpResponse.json(503, {"status": "starting"})
        if path == "/dev/token" and request.method == "GET":
            return await self._token(request)
        if path == "/dev/connections" and request.method == "GET":
            return HttpResponse.json(200, {"connections": self.gateway.connections()})
        if path == "/dev/notifications" and request.method == "GET":
            return HttpResponse.json(200, notifiers.recording().snapshot())
        if path == "/dev/costs" and request.method == "GET":
            meter = costs.active()
            if meter is None:
                return HttpResponse.json(404, {"message": "The cost meter is off (LOCAL_COST_METER=1 switches it on)"})
            return HttpResponse.json(200, meter.snapshot())
        if path.startswith("/dev/connections/") and path.endswith("/drop") and request.method == "POST":
            connection_id = unquote(path[len("/dev/connections/") : -len("/drop")])
            found = await self.gateway.drop_silently(connection_id)
            return HttpResponse(204) if found else HttpResponse.json(404, {"message": "No such connection"})
        return None

    async def _token(self, request: HttpRequest) -> HttpResponse:
        if self.issue_token is None:
            return HttpResponse.json(404, {"message": "No token issuer"})
        user_id = request.query.get("userId", "")
        if not is_valid_user_id(user_id):
            return HttpResponse.json(400, {"message": f"userId is required (1-{MAX_USER_ID_LENGTH} characters)"})
        ttl = request.query.get("ttlS")
        try:
            ttl_s = int(ttl) if ttl else None
        except ValueError:
            return HttpResponse.json(400, {"message": "ttlS must be an integer"})
        try:
            token = await self.sign_in(user_id, ttl_s)
        except FunctionError:
            return HttpResponse.json(500, {"message": "Sign-up failed"})
        return HttpResponse.json(200, {"token": token})

    async def sign_in(self, user_id: str, ttl_s: int | None = None) -> str:
        """What signing in is locally: the account is confirmed, then a token is issued.

        Confirming runs the signup function with the event Cognito's post-confirmation trigger
        sends, through the same invocation path as every other function (in the thread pool, not
        on this event loop); so the user exists before anyone can write to them, as in AWS.
        """
        assert self.issue_token is not None
        event = post_confirmation_event(self.gateway.api, user_id)
        result = await self.gateway.call(SIGNUP, event)
        if result != event:
            # Cognito fails the confirmation when a trigger does not hand its event back.
            log.error("signup returned %r instead of its event", result)
            raise FunctionError("signup: the trigger did not return its event")
        return self.issue_token(user_id, ttl_s)

    def static(self, path: str) -> HttpResponse:
        web = self.web_dir
        not_found = HttpResponse(404, b"Not Found\n", "text/plain; charset=utf-8")
        if web is None or not web.is_dir():
            return not_found
        relative = unquote(path).lstrip("/")
        if "\x00" in relative:
            return not_found
        root = web.resolve()
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            return not_found
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return not_found
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
            content_type += "; charset=utf-8"
        return HttpResponse(200, target.read_bytes(), content_type, {"Cache-Control": "no-cache"})
