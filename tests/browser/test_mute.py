"""Mute in the web client: the bell in the chat header mutes the conversation for all of the user's
devices; the other device shows it at once, a device that signs in later learns it through `sync`."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, expect

from tests.browser.test_message_actions import Device
from tests.browser.test_web_client import DESKTOP, PHONE, Shots, browser  # noqa: F401 (fixture)


def test_mute_reaches_the_users_other_devices_live_and_through_sync(browser: Browser, local_stack) -> None:  # noqa: F811
    run = uuid.uuid4().hex[:8]
    base_url = local_stack.http_url.rstrip("/") + "/"
    shots = Shots()
    alice = Device(browser, base_url, f"alice-{run}", DESKTOP, shots, f"alice-{run}")
    alice2 = Device(browser, base_url, alice.user_id, PHONE, shots, f"alice2-{run}")
    alice3 = Device(browser, base_url, alice.user_id, DESKTOP, shots, f"alice3-{run}")
    bob = Device(browser, base_url, f"bob-{run}", PHONE, shots, f"bob-{run}")
    devices = [alice, alice2, alice3, bob]
    try:
        bob.sign_in()
        alice.sign_in()
        alice.start_chat(bob.user_id)
        alice.send("hello")
        alice2.sign_in()
        expect(alice2.conversation(bob.user_id)).to_have_attribute("data-muted", "false")

        # alice mutes on her desktop: the bell shows it, and her phone shows it without reloading
        toggle = alice.tid("mute-toggle")
        expect(toggle).to_have_attribute("aria-pressed", "false")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "true")
        expect(alice2.conversation(bob.user_id)).to_have_attribute("data-muted", "true")
        expect(alice.conversation(bob.user_id)).to_have_attribute("data-muted", "true")
        # bob's side knows nothing of it
        bob.conversation(alice.user_id).click()
        expect(bob.tid("mute-toggle")).to_have_attribute("aria-pressed", "false")

        # a device that signs in now learns it from its first sync
        alice3.sign_in()
        expect(alice3.conversation(bob.user_id)).to_have_attribute("data-muted", "true")
        shots.all("mute-final")

        # unmuting on the phone reaches the others
        alice2.conversation(bob.user_id).click()
        alice2.tid("mute-toggle").click()
        expect(alice.tid("mute-toggle")).to_have_attribute("aria-pressed", "false")
        expect(alice3.conversation(bob.user_id)).to_have_attribute("data-muted", "false")
    except BaseException:
        shots.all("mute-failure")
        raise
    finally:
        for device in devices:
            if device.page is not None:
                device.context.close()
