"""Web Push in the web client: where the browser offers a service worker and PushManager and the config
names a VAPID key, the device sends `registerPush` (platform webpush) once its socket is open (signing
out sends `unregisterPush`: not checked here). Headless chromium has no push service: the subscription is
stubbed in the page (what the server does with it is tested in tests/integration and tests/e2e)."""

from __future__ import annotations

import json
import uuid

from playwright.sync_api import Browser

from tests.browser.test_web_client import DESKTOP, Person, Shots, browser  # noqa: F401 (fixture)

SUBSCRIPTION = {
    "endpoint": "https://push.example/send/browser-test",
    "keys": {
        "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
        "auth": "tBHItJI5svbpez7KI4CCXg",
    },
}
# Stands in for the browser's push service: a service worker registration whose PushManager subscribes.
STUB = """
(() => {
  const subscription = SUBSCRIPTION;
  const pushManager = {
    getSubscription: async () => null,
    permissionState: async () => "granted",
    subscribe: async (options) => {
      window.__pushSubscribeOptions = options;
      return { toJSON: () => subscription };
    },
  };
  window.PushManager = function PushManager() {};
  Object.defineProperty(navigator, "serviceWorker", {
    configurable: true,
    value: { register: async () => ({ pushManager }) },
  });
})();
""".replace("SUBSCRIPTION", json.dumps(SUBSCRIPTION))


def test_the_client_registers_for_web_push_once_its_socket_is_open(browser: Browser, local_stack) -> None:  # noqa: F811
    base_url = local_stack.http_url.rstrip("/") + "/"
    person = Person(browser, base_url, f"pusher-{uuid.uuid4().hex[:8]}", DESKTOP, Shots())
    person.context.add_init_script(STUB)
    person.context.route(
        "**/config.json",
        lambda route: route.fulfill(
            content_type="application/json",
            body=json.dumps({"mode": "local", "tokenUrl": "/dev/token", "webPushPublicKey": "BEl6" * 22}),
        ),
    )
    sent: list[dict] = []
    received: list[dict] = []
    person.context.on(
        "page",
        lambda page: page.on(
            "websocket",
            lambda ws: (
                ws.on("framesent", lambda payload: sent.append(json.loads(payload))),
                ws.on("framereceived", lambda payload: received.append(json.loads(payload))),
            ),
        ),
    )
    try:
        page = person.sign_in()
        page.wait_for_function("() => window.__pushSubscribeOptions !== undefined")
        page.wait_for_timeout(500)
        registrations = [f for f in sent if f.get("action") == "registerPush"]
        assert len(registrations) == 1
        assert registrations[0]["platform"] == "webpush"
        assert json.loads(registrations[0]["token"]) == SUBSCRIPTION
        assert page.evaluate("() => window.__pushSubscribeOptions.userVisibleOnly") is True
        assert any(f.get("type") == "pushRegistered" for f in received), received
    finally:
        person.context.close()
