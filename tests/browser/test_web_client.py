"""The web client in a real browser (Debian's chromium driven by Playwright) against the local stack.

Three people, each in their own browser context (own localStorage, so own deviceId):
alice on a desktop-sized window, bob on a phone-sized one, carol on a desktop one.

Run with `python -m pytest tests/browser -q`; chromium comes from scripts/install_browser.sh.
Screenshots land in test-artifacts/browser/ (at the end, and of every open page on failure).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from local.process import LocalStackProcess

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
TIMEOUT_MS = 10_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 780}

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_browser.sh (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Person:
    """One user in one browser context; `page` is their current window."""

    def __init__(self, browser: Browser, base_url: str, user_id: str, viewport: dict[str, int], shots: Shots):
        self.user_id = user_id
        self.base_url = base_url
        self.context: BrowserContext = browser.new_context(viewport=viewport, locale="en-GB")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.shots = shots
        self.page: Page | None = None
        self.console: list[str] = []

    def open(self) -> Page:
        page = self.context.new_page()
        page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda err: self.console.append(f"pageerror: {err}"))
        page.goto(self.base_url)
        self.page = page
        self.shots.pages[self.user_id] = page
        return page

    def sign_in(self) -> Page:
        page = self.open()
        page.get_by_test_id("login-user").fill(self.user_id)
        page.get_by_test_id("login-submit").click()
        self.wait_connected()
        return page

    def wait_connected(self) -> None:
        assert self.page is not None
        expect(self.page.get_by_test_id("connection-state")).to_have_text("online")

    def close(self) -> None:
        if self.page is not None:
            self.page.close()
            self.page = None
            self.shots.pages.pop(self.user_id, None)

    # -- helpers on the current page --

    def tid(self, test_id: str) -> Locator:
        assert self.page is not None
        return self.page.get_by_test_id(test_id)

    def conversation(self, title: str) -> Locator:
        assert self.page is not None
        return self.page.locator(f'[data-testid="conversation-item"][data-title="{title}"]')

    def message(self, text: str) -> Locator:
        return self.tid("message").filter(has_text=text)

    def start_chat(self, other: str) -> None:
        self.tid("new-chat-button").click()
        self.tid("new-chat-user").fill(other)
        self.tid("new-chat-submit").click()
        expect(self.tid("chat-title")).to_have_text(other)

    def send(self, text: str) -> None:
        self.tid("composer-input").fill(text)
        self.tid("composer-send").click()
        expect(self.tid("composer-input")).to_have_value("")

    def create_group(self, name: str, members: list[str]) -> None:
        self.tid("new-group-button").click()
        self.tid("new-group-name").fill(name)
        self.tid("new-group-members").fill(", ".join(members))
        self.tid("new-group-submit").click()
        expect(self.tid("chat-title")).to_have_text(name)


class Shots:
    def __init__(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.pages: dict[str, Page] = {}

    def take(self, page: Page, name: str) -> None:
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)
        except Exception as exc:  # a screenshot must never hide the real failure
            print(f"screenshot {name} failed: {exc}")

    def all(self, prefix: str) -> None:
        for user, page in list(self.pages.items()):
            if not page.is_closed():
                self.take(page, f"{prefix}-{user.split('-')[0]}")


def test_chat_between_browsers(browser: Browser, local_stack) -> None:
    run = uuid.uuid4().hex[:8]
    base_url = local_stack.http_url.rstrip("/") + "/"
    shots = Shots()
    alice = Person(browser, base_url, f"alice-{run}", DESKTOP, shots)
    bob = Person(browser, base_url, f"bob-{run}", PHONE, shots)
    carol = Person(browser, base_url, f"carol-{run}", DESKTOP, shots)
    people = [alice, bob, carol]
    try:
        # bob and carol sign in once so the system knows them; bob then closes his window, so
        # alice's first message can only be stored, not delivered.
        bob.sign_in()
        carol.sign_in()
        bob.close()

        alice.sign_in()
        alice.start_chat(bob.user_id)
        alice.send("Hi Bob! Grüße")
        to_bob = alice.message("Hi Bob!")
        expect(to_bob).to_have_attribute("data-status", "sent")  # one grey check
        expect(to_bob.get_by_test_id("message-status")).to_have_attribute("aria-label", "Sent")
        expect(to_bob).to_have_attribute("data-seq", "1")

        # bob opens the app again (the session is remembered): sync brings the message, his
        # device acknowledges delivery, alice sees two grey checks.
        bob.open()
        bob.wait_connected()
        bob_chat = bob.conversation(alice.user_id)
        expect(bob_chat.get_by_test_id("unread-count")).to_have_text("1")
        expect(bob_chat.get_by_test_id("conversation-preview")).to_contain_text("Hi Bob!")
        expect(to_bob).to_have_attribute("data-status", "delivered")

        # bob opens the conversation: read -> blue checks for alice, badge gone for bob.
        bob_chat.click()
        expect(bob.tid("chat-title")).to_have_text(alice.user_id)
        expect(bob.message("Hi Bob!")).to_be_visible()
        expect(to_bob).to_have_attribute("data-status", "read")
        expect(bob.tid("unread-count")).to_have_count(0)

        # presence and typing, seen from bob's phone
        expect(bob.tid("presence")).to_have_text("online")
        alice.tid("composer-input").press_sequentially("I'm typing", delay=40)
        expect(bob.tid("typing")).to_be_visible()
        expect(bob.tid("typing")).to_contain_text("typing")
        alice.tid("composer-input").fill("")

        # bob answers; alice gets it live.
        bob.send("Hello Alice")
        expect(alice.message("Hello Alice")).to_be_visible()
        expect(bob.message("Hello Alice")).to_have_attribute("data-status", "read")

        # a group of three: blue only once both others have read.
        group = f"Team {run}"
        bob.tid("back-button").click()  # bob goes back to his chat list
        expect(bob.tid("conversation-list")).to_be_visible()
        alice.create_group(group, [bob.user_id, carol.user_id])
        expect(bob.conversation(group)).to_be_visible()
        expect(carol.conversation(group)).to_be_visible()
        alice.send("Hello team")
        to_team = alice.message("Hello team")
        expect(to_team).to_have_attribute("data-status", "delivered")  # reached both devices

        bob.conversation(group).click()
        expect(bob.tid("chat-title")).to_have_text(group)
        expect(bob.message("Hello team")).to_be_visible()
        to_team.click()  # message info
        info = alice.tid("info-panel")
        expect(info).to_be_visible()
        expect(info.locator(f'[data-testid="info-read-row"][data-user-id="{bob.user_id}"]')).to_be_visible()
        expect(info.locator(f'[data-testid="info-delivered-row"][data-user-id="{carol.user_id}"]')).to_be_visible()
        expect(to_team).to_have_attribute("data-status", "delivered")  # carol has not read yet

        carol.conversation(group).click()
        expect(carol.tid("chat-title")).to_have_text(group)
        expect(carol.message("Hello team")).to_be_visible()
        expect(to_team).to_have_attribute("data-status", "read")
        expect(info.locator(f'[data-testid="info-read-row"][data-user-id="{carol.user_id}"]')).to_be_visible()
        expect(to_team.get_by_test_id("message-status")).to_have_attribute("aria-label", "Read")

        # alice leaves: bob, back in their direct chat, sees "last seen".
        bob.tid("back-button").click()
        bob.conversation(alice.user_id).click()
        expect(bob.tid("chat-title")).to_have_text(alice.user_id)
        expect(bob.tid("presence")).to_have_text("online")
        shots.all("final")
        alice.close()
        expect(bob.tid("presence")).to_have_text(re.compile(r"^last seen "))
        shots.take(bob.page, "final-bob-last-seen")
    except BaseException:
        shots.all("failure")
        for person in people:
            if person.console:
                print(f"--- console of {person.user_id} ---")
                print("\n".join(person.console[-40:]))
        raise
    finally:
        for person in people:
            person.context.close()


def test_message_written_offline_is_sent_after_reconnect(browser: Browser, local_stack) -> None:
    """A message typed while disconnected shows a clock, then is sent once the network is back."""
    run = uuid.uuid4().hex[:8]
    base_url = local_stack.http_url.rstrip("/") + "/"
    shots = Shots()
    dana = Person(browser, base_url, f"dana-{run}", PHONE, shots)
    erin = Person(browser, base_url, f"erin-{run}", DESKTOP, shots)
    try:
        erin.sign_in()
        dana.sign_in()
        dana.start_chat(erin.user_id)
        dana.send("first, while online")
        expect(dana.message("first, while online")).to_have_attribute("data-seq", "1")

        # The network goes away: the socket is dropped and reconnecting fails until it is back.
        dana.context.set_offline(True)
        assert dana.page is not None
        dana.page.evaluate("window.chatApp && window.chatApp.conn.ws && window.chatApp.conn.ws.close()")
        expect(dana.tid("connection-state")).to_have_text("offline")
        expect(dana.tid("connection-banner")).to_contain_text("offline")
        dana.send("second, written offline")
        pending = dana.message("second, written offline")
        expect(pending).to_have_attribute("data-status", "pending")  # the clock
        expect(pending.get_by_test_id("message-status")).to_have_attribute("aria-label", "Sending")

        dana.context.set_offline(False)
        dana.wait_connected()
        expect(pending).to_have_attribute("data-seq", "2")
        expect(pending).to_have_attribute("data-status", re.compile(r"^(sent|delivered|read)$"))
        # erin's list shows the message before she opens the chat (the click that opens it must not
        # be lost to a re-render of the list: see test_a_click_survives_a_re_render_under_the_pointer).
        erin_chat = erin.conversation(dana.user_id)
        expect(erin_chat.get_by_test_id("conversation-preview")).to_have_text("second, written offline")
        expect(erin_chat).to_have_attribute("data-unread", "2")
        erin_chat.click()
        expect(erin.tid("chat-title")).to_have_text(dana.user_id)
        expect(erin.message("second, written offline")).to_have_count(1)
        expect(erin.tid("message")).to_have_count(2)
        shots.all("offline-final")
    except BaseException:
        shots.all("offline-failure")
        for person in (dana, erin):
            if person.console:
                print(f"--- console of {person.user_id} ---")
                print("\n".join(person.console[-40:]))
        raise
    finally:
        dana.context.close()
        erin.context.close()


def center_of(locator: Locator) -> tuple[float, float]:
    """Where locator's element is, measured in one step in the page (a handle could go stale)."""
    x, y = locator.evaluate(
        "el => { const r = el.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }"
    )
    return x, y


def press(person: Person, locator: Locator) -> None:
    """The mouse button goes down on locator's element, and stays down."""
    assert person.page is not None
    person.page.mouse.move(*center_of(locator))
    person.page.mouse.down()


def release(person: Person) -> None:
    assert person.page is not None
    person.page.mouse.up()


def test_a_click_survives_a_re_render_under_the_pointer(browser: Browser, local_stack) -> None:
    """Each time, the view re-renders between the mouse button going down and coming up.

    A browser fires `click` only if the element the button went down on is still in place when it
    comes up. A view that rebuilds (or moves) that element as something arrives loses the click:
    1. frank clicks gina's chat, the second in his list, as her new message lands in it (the row
       shows the message, and the chat would move to the top);
    2. gina clicks the check marks of that message, for message info, as they turn blue;
    3. gina removes hank from a group in its info panel as hank's message lands.
    """
    run = uuid.uuid4().hex[:8]
    base_url = local_stack.http_url.rstrip("/") + "/"
    shots = Shots()
    frank = Person(browser, base_url, f"frank-{run}", DESKTOP, shots)
    gina = Person(browser, base_url, f"gina-{run}", DESKTOP, shots)
    hank = Person(browser, base_url, f"hank-{run}", PHONE, shots)
    people = [frank, gina, hank]
    try:
        for person in people:
            person.sign_in()
        gina.start_chat(frank.user_id)
        gina.send("first")
        expect(frank.conversation(gina.user_id)).to_be_visible()
        hank.start_chat(frank.user_id)
        hank.send("hello from hank")
        rows = frank.tid("conversation-item")
        expect(rows).to_have_count(2)
        expect(rows.first).to_have_attribute("data-title", hank.user_id)
        row = frank.conversation(gina.user_id)
        expect(row).to_have_attribute("data-unread", "1")
        expect(row.get_by_test_id("conversation-preview")).to_have_text("first")

        # 1. The button goes down on the preview, the very text gina's next message replaces.
        press(frank, row.get_by_test_id("conversation-preview"))
        gina.send("second, as frank clicks")
        expect(row.get_by_test_id("conversation-preview")).to_have_text("second, as frank clicks")
        expect(row).to_have_attribute("data-unread", "2")

        # 2. gina's button goes down on that message's check marks while frank's is still down.
        second = gina.message("second, as frank clicks")
        expect(second).to_have_attribute("data-status", "delivered")
        press(gina, second.get_by_test_id("message-status"))

        release(frank)
        expect(frank.tid("chat-title")).to_have_text(gina.user_id)
        expect(frank.message("second, as frank clicks")).to_be_visible()
        expect(frank.tid("message")).to_have_count(2)
        expect(rows.first).to_have_attribute("data-title", gina.user_id)  # the newest chat on top
        expect(row).to_have_attribute("data-unread", "0")

        expect(second).to_have_attribute("data-status", "read")  # frank read it: blue
        release(gina)
        info = gina.tid("info-panel")
        expect(info).to_be_visible()
        expect(info.locator(f'[data-testid="info-read-row"][data-user-id="{frank.user_id}"]')).to_be_visible()

        # 3. The button goes down on "Remove" (hank) in the group's info panel; hank writes.
        group = f"Crew {run}"
        gina.create_group(group, [frank.user_id, hank.user_id])
        gina.tid("chat-heading").click()
        hank_row = gina.tid("group-member").and_(gina.page.locator(f'[data-user-id="{hank.user_id}"]'))
        expect(hank_row).to_be_visible()
        hank.tid("back-button").click()
        hank.conversation(group).click()
        expect(hank.tid("chat-title")).to_have_text(group)
        press(gina, hank_row.get_by_test_id("remove-member"))
        hank.send("hank in the group")
        expect(gina.message("hank in the group")).to_be_visible()
        release(gina)
        expect(hank_row).to_have_count(0)
        expect(gina.tid("group-member")).to_have_count(2)
        shots.all("click-during-render-final")
    except BaseException:
        shots.all("click-during-render-failure")
        for person in people:
            if person.console:
                print(f"--- console of {person.user_id} ---")
                print("\n".join(person.console[-40:]))
        raise
    finally:
        for person in people:
            person.context.close()


@pytest.fixture(scope="module")
def send_limited_stack() -> Iterator[LocalStackProcess]:
    """A stack whose send bucket holds one token and refills one every 2 s."""
    log = ARTIFACTS.parent / "local-stack-browser-rate-limits.log"
    with LocalStackProcess(log_path=log, env={"CHAT_RATE_LIMITS": "send=30/min:1"}) as stack:
        yield stack


def test_messages_over_the_send_limit_wait_their_turn_and_are_sent_in_order(
    browser: Browser, send_limited_stack: LocalStackProcess
) -> None:
    """`rate_limited` is no failure: the outbox waits retryAfterMs and sends the rest one at a time."""
    run = uuid.uuid4().hex[:8]
    shots = Shots()
    hana = Person(browser, send_limited_stack.http_url.rstrip("/") + "/", f"hana-{run}", DESKTOP, shots)
    ivan = f"ivan-{run}"
    send_limited_stack.token(ivan)  # ivan exists
    try:
        hana.sign_in()
        hana.start_chat(ivan)
        texts = [f"quick {n}" for n in range(1, 5)]
        for text in texts:  # four in well under 2 s: the second meets an empty bucket at least
            hana.send(text)

        for seq, text in enumerate(texts, start=1):
            expect(hana.message(text)).to_have_attribute("data-seq", str(seq), timeout=20_000)
            expect(hana.message(text)).to_have_attribute("data-status", re.compile(r"^(sent|delivered|read)$"))
        expect(hana.tid("toast")).to_have_count(0)  # nothing for the person to do: no error shown
        assert any("Too many at once" in line for line in hana.console), "the limit was never met"
        shots.all("rate-limited-final")
    except BaseException:
        shots.all("rate-limited-failure")
        if hana.console:
            print("\n".join(hana.console[-40:]))
        raise
    finally:
        hana.context.close()
