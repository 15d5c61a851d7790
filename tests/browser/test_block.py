"""Block in the web client: the button in a direct chat's header blocks the other person for all of the
user's devices. The composer closes on every device of the blocker (one of them learns it through
`sync`), the blocked person's messages are refused with a clear error, and an unblock opens it again."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, expect

from tests.browser.test_message_actions import Device
from tests.browser.test_web_client import DESKTOP, PHONE, Shots, browser  # noqa: F401 (fixture)


def test_a_block_closes_the_chat_on_the_blockers_devices_and_refuses_the_blocked(
    browser: Browser,  # noqa: F811
    local_stack,
) -> None:
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
        alice2.conversation(bob.user_id).click()
        expect(alice2.conversation(bob.user_id)).to_have_attribute("data-blocked", "false")

        # alice blocks bob on her desktop (after confirming): her composer closes, and her phone's too
        toggle = alice.tid("block-toggle")
        expect(toggle).to_have_attribute("aria-pressed", "false")
        assert alice.page is not None
        alice.page.once("dialog", lambda dialog: dialog.accept())
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "true")
        expect(alice.tid("composer-disabled")).to_contain_text(f"You blocked {bob.user_id}")
        expect(alice2.conversation(bob.user_id)).to_have_attribute("data-blocked", "true")
        expect(alice2.tid("composer-disabled")).to_be_visible()

        # bob's message is refused with a clear error, and reaches no one
        bob.conversation(alice.user_id).click()
        expect(bob.tid("block-toggle")).to_have_attribute("aria-pressed", "false")
        bob.send("are you there?")
        expect(bob.page.get_by_text("you cannot message this user").first).to_be_visible()  # type: ignore[union-attr]
        expect(alice.page.get_by_text("are you there?")).to_have_count(0)

        # a device that signs in now learns the block from its first sync
        alice3.sign_in()
        expect(alice3.conversation(bob.user_id)).to_have_attribute("data-blocked", "true")
        shots.all("block-final")

        # unblocking on the phone opens the chat again everywhere
        alice2.tid("block-toggle").click()
        expect(alice.tid("block-toggle")).to_have_attribute("aria-pressed", "false")
        expect(alice.tid("composer-disabled")).to_be_hidden()
        expect(alice3.conversation(bob.user_id)).to_have_attribute("data-blocked", "false")
    except BaseException:
        shots.all("block-failure")
        raise
    finally:
        for device in devices:
            if device.page is not None:
                device.context.close()
