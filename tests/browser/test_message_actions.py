"""Reply, edit, delete for everyone and reactions in the web client, on several devices at once.

alice writes from a desktop window and from a second device (another browser context: its own
localStorage, so its own deviceId); bob from a phone-sized window, and from a second device that is
offline while everything happens and catches up through `sync` (its change cursors) when it is back.
Last, a reply written offline waits in the outbox and keeps its `replyTo` when it is sent.
Screenshots land in test-artifacts/browser/ (message-actions-*.png).
"""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, Locator, expect

from tests.browser.test_web_client import DESKTOP, PHONE, Person, Shots, browser  # noqa: F401 (fixture)

DELETED = "This message was deleted"


class Device(Person):
    """A Person whose window is named `label` in the screenshots (one user may have two devices)."""

    def __init__(
        self, chromium: Browser, base_url: str, user_id: str, viewport: dict[str, int], shots: Shots, label: str
    ):
        super().__init__(chromium, base_url, user_id, viewport, shots)
        self.label = label

    def open(self):
        other = self.shots.pages.get(self.user_id)  # the same user's other device, if any
        page = super().open()
        if other is not None and other is not page:
            self.shots.pages[self.user_id] = other
        else:
            self.shots.pages.pop(self.user_id, None)
        self.shots.pages[self.label] = page
        return page

    def close(self) -> None:
        assert self.page is not None
        page = self.page
        self.page.close()
        self.page = None
        for key in [k for k, v in self.shots.pages.items() if v is page]:
            del self.shots.pages[key]

    def at(self, seq: int) -> Locator:
        assert self.page is not None
        return self.page.locator(f'[data-testid="message"][data-seq="{seq}"]')

    def menu(self, seq: int) -> Locator:
        """Opens the menu of message seq (hovering it first, as a mouse user does)."""
        message = self.at(seq)
        message.hover()
        message.get_by_test_id("message-menu-button").click()
        menu = self.tid("message-menu")
        expect(menu).to_be_visible()
        return menu

    def react(self, seq: int, emoji: str) -> None:
        self.menu(seq).locator(f'[data-testid="react-option"][data-emoji="{emoji}"]').click()
        expect(self.tid("message-menu")).to_have_count(0)

    def go_offline(self) -> None:
        self.context.set_offline(True)
        assert self.page is not None
        self.page.evaluate("window.chatApp && window.chatApp.conn.ws && window.chatApp.conn.ws.close()")
        expect(self.tid("connection-state")).to_have_text("offline")


def chip(device: Device, seq: int, emoji: str) -> Locator:
    return device.at(seq).locator(f'[data-testid="reaction"][data-emoji="{emoji}"]')


def test_reply_edit_delete_and_react_across_devices(browser: Browser, local_stack) -> None:  # noqa: F811
    run = uuid.uuid4().hex[:8]
    base_url = local_stack.http_url.rstrip("/") + "/"
    shots = Shots()
    alice = Device(browser, base_url, f"alice-{run}", DESKTOP, shots, f"alice-{run}")
    alice2 = Device(browser, base_url, alice.user_id, DESKTOP, shots, f"alice2-{run}")
    bob = Device(browser, base_url, f"bob-{run}", PHONE, shots, f"bob-{run}")
    bob2 = Device(browser, base_url, bob.user_id, DESKTOP, shots, f"bob2-{run}")
    devices = [alice, alice2, bob, bob2]
    try:
        bob.sign_in()
        alice.sign_in()
        alice.start_chat(bob.user_id)
        alice.send("Lunch at noon?")  # 1
        expect(alice.at(1)).to_contain_text("Lunch at noon?")
        bob.conversation(alice.user_id).click()
        bob.send("Sure, where?")  # 2
        expect(alice.at(2)).to_contain_text("Sure, where?")
        alice.send("The usual plaec")  # 3, to be edited
        alice.send("Wrong chat, sorry")  # 4, to be deleted
        expect(bob.at(4)).to_contain_text("Wrong chat, sorry")

        # alice's second device and bob's second device hold all four; then bob2 goes offline.
        alice2.sign_in()
        alice2.conversation(bob.user_id).click()
        expect(alice2.at(4)).to_contain_text("Wrong chat, sorry")
        bob2.sign_in()
        bob2.conversation(alice.user_id).click()
        expect(bob2.at(4)).to_contain_text("Wrong chat, sorry")
        expect(bob2.tid("message")).to_have_count(4)
        bob2.go_offline()

        # Reply: the quote shows above the composer, can be canceled, and goes with the message.
        menu = alice.menu(2)
        expect(menu.get_by_test_id("menu-edit")).to_have_count(0)  # not alice's message
        expect(menu.get_by_test_id("menu-delete")).to_have_count(0)
        shots.take(alice.page, "message-actions-menu")
        menu.get_by_test_id("menu-reply").click()
        context = alice.tid("composer-context")
        expect(context).to_be_visible()
        expect(context).to_have_attribute("data-mode", "reply")
        expect(alice.tid("composer-context-text")).to_have_text("Sure, where?")
        alice.tid("composer-context-cancel").click()
        expect(context).to_be_hidden()
        alice.menu(2).get_by_test_id("menu-reply").click()
        expect(alice.tid("composer-context-text")).to_have_text("Sure, where?")
        alice.send("At the usual place")  # 5, answers 2
        expect(context).to_be_hidden()
        for device in (alice, alice2, bob):
            quote = device.at(5).get_by_test_id("message-quote")
            expect(quote).to_have_attribute("data-reply-to", "2")
            expect(quote.get_by_test_id("quote-text")).to_have_text("Sure, where?")
            expect(device.at(5).get_by_test_id("message-text")).to_have_text("At the usual place")
        expect(bob.at(5).get_by_test_id("quote-sender")).to_have_text("You")
        expect(alice2.at(5).get_by_test_id("quote-sender")).to_have_text(bob.user_id)

        # Edit: in the composer; "edited" and the new text everywhere.
        alice.menu(3).get_by_test_id("menu-edit").click()
        expect(context).to_have_attribute("data-mode", "edit")
        expect(alice.tid("composer-input")).to_have_value("The usual plaec")
        alice.tid("composer-input").fill("The usual place")
        alice.tid("composer-send").click()
        expect(context).to_be_hidden()
        expect(alice.tid("composer-input")).to_have_value("")
        for device in (alice, alice2, bob):
            expect(device.at(3).get_by_test_id("message-text")).to_have_text("The usual place")
            expect(device.at(3).get_by_test_id("message-edited")).to_have_text("edited")
        expect(alice.tid("message")).to_have_count(5)  # an edit sends no new message

        # Delete for everyone: the placeholder, the text gone.
        alice.page.once("dialog", lambda dialog: dialog.accept())
        alice.menu(4).get_by_test_id("menu-delete").click()
        for device in (alice, alice2, bob):
            expect(device.at(4)).to_have_attribute("data-deleted", "true")
            expect(device.at(4).get_by_test_id("message-deleted")).to_have_text(DELETED)
            expect(device.at(4).get_by_test_id("message-text")).to_have_count(0)
            expect(device.message("Wrong chat, sorry")).to_have_count(0)
        expect(bob.at(4).get_by_test_id("message-menu-button")).to_have_count(0)  # nothing left to do

        # Reactions: bob 👍, alice (from her second device) 👍 too, then bob changes to ❤️.
        bob.react(1, "👍")
        expect(chip(alice, 1, "👍")).to_have_attribute("data-count", "1")
        expect(chip(alice, 1, "👍")).to_have_attribute("data-mine", "false")
        expect(chip(bob, 1, "👍")).to_have_attribute("data-mine", "true")
        alice2.react(1, "👍")
        for device in (alice, alice2):
            expect(chip(device, 1, "👍")).to_have_attribute("data-count", "2")
            expect(chip(device, 1, "👍")).to_have_attribute("data-mine", "true")
        bob.react(1, "❤️")
        for device in (alice, alice2):
            expect(chip(device, 1, "👍")).to_have_attribute("data-count", "1")
            expect(chip(device, 1, "👍")).to_have_attribute("data-mine", "true")
            expect(chip(device, 1, "❤️")).to_have_attribute("data-count", "1")
            expect(chip(device, 1, "❤️")).to_have_attribute("data-mine", "false")
            expect(device.at(1).get_by_test_id("reaction")).to_have_count(2)
        # A click on her own chip takes alice's reaction back; bob reacts to the reply too.
        chip(alice, 1, "👍").click()
        expect(chip(alice2, 1, "👍")).to_have_count(0)
        expect(chip(bob, 1, "👍")).to_have_count(0)
        alice.react(1, "😂")
        bob.react(5, "🙏")
        expect(chip(alice2, 1, "😂")).to_have_attribute("data-mine", "true")
        expect(chip(alice2, 5, "🙏")).to_have_attribute("data-count", "1")

        # What the server refuses shows as a toast: bob may not edit alice's message.
        bob.page.evaluate(
            "([id, seq]) => window.chatApp.client.changes.edit(id, seq, 'not mine').catch(() => {})",
            [bob.page.evaluate("window.chatApp.client.openId"), 1],
        )
        expect(bob.tid("toast").filter(has_text="Could not edit the message")).to_be_visible()
        expect(bob.at(1).get_by_test_id("message-text")).to_have_text("Lunch at noon?")

        # bob's second device comes back: sync brings the reply, and the changes since its cursor.
        bob2.context.set_offline(False)
        bob2.wait_connected()
        expect(bob2.tid("message")).to_have_count(5)
        expect(bob2.at(5).get_by_test_id("message-quote").get_by_test_id("quote-text")).to_have_text("Sure, where?")
        expect(bob2.at(3).get_by_test_id("message-text")).to_have_text("The usual place")
        expect(bob2.at(3).get_by_test_id("message-edited")).to_be_visible()
        expect(bob2.at(4).get_by_test_id("message-deleted")).to_have_text(DELETED)
        expect(bob2.message("Wrong chat, sorry")).to_have_count(0)
        expect(chip(bob2, 1, "❤️")).to_have_attribute("data-mine", "true")
        expect(chip(bob2, 1, "😂")).to_have_attribute("data-mine", "false")
        expect(chip(bob2, 1, "👍")).to_have_count(0)
        expect(chip(bob2, 5, "🙏")).to_have_attribute("data-mine", "true")
        expect(bob2.at(1).get_by_test_id("reaction")).to_have_count(2)

        # A reply written offline waits in the outbox with its replyTo and keeps it when sent.
        alice2.go_offline()
        alice2.menu(1).get_by_test_id("menu-reply").click()
        alice2.send("Or somewhere new?")
        pending = alice2.message("Or somewhere new?")
        expect(pending).to_have_attribute("data-status", "pending")
        expect(pending.get_by_test_id("quote-text")).to_have_text("Lunch at noon?")
        alice2.context.set_offline(False)
        alice2.wait_connected()
        expect(pending).to_have_attribute("data-seq", "6")
        for device in (bob, bob2, alice):
            expect(device.at(6).get_by_test_id("message-quote")).to_have_attribute("data-reply-to", "1")
            expect(device.at(6).get_by_test_id("quote-text")).to_have_text("Lunch at noon?")
        shots.all("message-actions-final")
    except BaseException:
        shots.all("message-actions-failure")
        for device in devices:
            if device.console:
                print(f"--- console of {device.label} ---")
                print("\n".join(device.console[-40:]))
        raise
    finally:
        for device in devices:
            device.context.close()
