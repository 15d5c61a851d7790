"""Photos and files in the web client: the paperclip uploads to S3 (the local stack's moto, through the
presigned POST the server hands out) and sends the message with its attachment.

alice writes from a desktop window and has a second device; bob reads on a phone-sized one. A photo
shows inline on every device (loaded from S3, not only laid out), with its caption under it, and
opens full screen; a text file shows as a chip whose link downloads the very bytes; an expired URL is
renewed; a file of a type the server does not take is refused before anything is sent.
Screenshots land in test-artifacts/browser/ (attachments-*.png).
"""

from __future__ import annotations

import struct
import urllib.request
import uuid
import zlib
from pathlib import Path

from playwright.sync_api import Browser, Locator, Route, expect

from tests.browser.test_message_actions import Device
from tests.browser.test_web_client import DESKTOP, PHONE, Shots, browser  # noqa: F401 (fixture)

BROKEN = "http://127.0.0.1:9/expired.png"


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG (8-bit RGB, no filter)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def wait_loaded(device: Device, image: Locator) -> None:
    """The image really came (from S3 or this device's own copy): decoded, with its pixels. The element
    is looked up again on every try (a message is redrawn when its URL changes)."""
    expect(image).to_be_visible()
    assert device.page is not None
    width = 0
    for _ in range(100):
        width = image.evaluate("(img, broken) => (img.src !== broken && img.complete && img.naturalWidth) || 0", BROKEN)
        if width:
            break
        device.page.wait_for_timeout(100)
    assert width == 64


def test_photos_and_files_across_devices(browser: Browser, local_stack, tmp_path: Path) -> None:  # noqa: F811
    run = uuid.uuid4().hex[:8]
    base_url = local_stack.http_url.rstrip("/") + "/"
    shots = Shots()
    alice = Device(browser, base_url, f"alice-{run}", DESKTOP, shots, f"alice-{run}")
    alice2 = Device(browser, base_url, alice.user_id, DESKTOP, shots, f"alice2-{run}")
    bob = Device(browser, base_url, f"bob-{run}", PHONE, shots, f"bob-{run}")
    devices = [alice, alice2, bob]
    photo = tmp_path / "sunset.png"
    photo.write_bytes(png(64, 48, (230, 120, 40)))
    notes = b"Shopping list\n- bread\n- milk\n"
    notes_file = tmp_path / "notes.txt"
    notes_file.write_bytes(notes)
    try:
        bob.sign_in()
        alice.sign_in()
        alice.start_chat(bob.user_id)
        # a draft of a new direct chat has no paperclip: the first message is text
        expect(alice.tid("attach-button")).to_be_hidden()
        alice.send("hi bob, photos coming")
        expect(alice.message("photos coming")).to_have_attribute("data-status", "sent")
        expect(alice.tid("attach-button")).to_be_visible()
        alice2.sign_in()
        alice2.conversation(bob.user_id).click()
        bob.conversation(alice.user_id).click()
        expect(bob.message("photos coming")).to_be_visible()

        # alice sends a photo with a caption: the text in the field goes with it, and the field empties
        alice.tid("composer-input").fill("Sunset from the balcony")
        alice.tid("attach-input").set_input_files(str(photo))
        expect(alice.tid("composer-input")).to_have_value("")
        mine = alice.message("Sunset from the balcony")
        expect(mine).to_have_attribute("data-status", "read")  # stored, and bob has it open
        expect(alice.tid("upload")).to_have_count(0)
        wait_loaded(alice, mine.get_by_test_id("message-image"))

        seen = bob.message("Sunset from the balcony")
        image = seen.get_by_test_id("message-image")
        wait_loaded(bob, image)
        expect(image).to_have_attribute("alt", "sunset.png")
        # the caption is under the photo
        assert seen.evaluate(
            """el => {
              const img = el.querySelector('[data-testid=message-image]');
              const text = el.querySelector('[data-testid=message-text]');
              return img.getBoundingClientRect().bottom <= text.getBoundingClientRect().top + 1;
            }"""
        )
        assert "X-Amz-" in (image.get_attribute("src") or "") or "Signature" in (image.get_attribute("src") or "")
        other = alice2.message("Sunset from the balcony").get_by_test_id("message-image")
        wait_loaded(alice2, other)

        # a click opens it full screen (with a download link); Escape closes it
        image.click()
        viewer = bob.tid("image-viewer")
        expect(viewer).to_be_visible()
        expect(viewer.get_by_test_id("viewer-download")).to_have_attribute("download", "sunset.png")
        assert bob.page is not None
        shots.take(bob.page, "attachments-viewer-bob")
        bob.page.keyboard.press("Escape")
        expect(viewer).to_have_count(0)

        # a file without a caption. Its upload to S3 is held at first (the pending bubble shows its
        # progress), then fails: an error, Retry / Dismiss, nothing sent; Retry sends it.
        held: list[Route] = []
        release = {"now": False}

        def hold_uploads(route: Route) -> None:
            if route.request.method == "POST" and not release["now"]:
                held.append(route)
            else:
                route.continue_()

        assert alice.page is not None
        alice.page.route(lambda url: not url.startswith(base_url), hold_uploads)
        alice.tid("attach-input").set_input_files(str(notes_file))
        upload = alice.tid("upload")
        expect(upload.get_by_test_id("upload-progress")).to_be_visible()
        expect(upload).to_contain_text("notes.txt")
        for _ in range(100):
            if held:
                break
            alice.page.wait_for_timeout(50)
        assert held, "the upload never reached S3"
        expect(upload).to_have_attribute("data-status", "uploading")
        held.pop().abort()
        expect(upload).to_have_attribute("data-status", "failed")
        expect(alice.tid("toast").filter(has_text="notes.txt")).to_be_visible()
        expect(bob.tid("file-chip")).to_have_count(0)
        release["now"] = True
        upload.get_by_test_id("upload-retry").click()
        expect(alice.tid("upload")).to_have_count(0)
        alice.page.unroute_all()

        # it shows as a chip with its name and size, whose link downloads the bytes
        chip = bob.tid("file-chip")
        expect(chip).to_be_visible()
        expect(chip.get_by_test_id("file-name")).to_have_text("notes.txt")
        expect(chip).to_contain_text("B")
        expect(chip).to_have_attribute("download", "notes.txt")
        href = chip.get_attribute("href")
        assert href and href.startswith("http"), href
        with urllib.request.urlopen(href, timeout=10) as answer:
            assert answer.read() == notes
        # the chat list says what it was
        preview = alice.conversation(bob.user_id).get_by_test_id("conversation-preview")
        expect(preview).to_contain_text("📎 notes.txt")
        expect(alice2.tid("file-chip")).to_be_visible()

        # an expired URL is asked for again (history of that one message) and the photo comes back
        assert alice2.page is not None
        alice2.page.evaluate(
            """(broken) => {
              const client = window.chatApp.client;
              const conv = client.conversations.get(client.openId);
              const msg = [...conv.messages.values()].find((m) => m.attachment && m.attachment.width);
              msg.attachment = {
                ...msg.attachment, url: broken, urlExpiresAt: '2000-01-01T00:00:00Z',
              };
              client.changed();
            }""",
            BROKEN,
        )
        renewed = alice2.message("Sunset from the balcony").get_by_test_id("message-image")
        # the model holds a new URL (only the answer to the refresh brings one), and the photo shows it
        fresh = """(img, broken) => {
          const client = window.chatApp.client;
          const conv = client.conversations.get(client.openId);
          const msg = [...conv.messages.values()].find((m) => m.attachment && m.attachment.width);
          const url = msg.attachment.url;
          return url !== broken && img.src === url && img.complete && img.naturalWidth > 0;
        }"""
        for _ in range(100):
            if renewed.evaluate(fresh, BROKEN):
                break
            alice2.page.wait_for_timeout(100)
        assert renewed.evaluate(fresh, BROKEN), "the expired URL was not renewed"
        wait_loaded(alice2, renewed)

        # a file of a type the server does not take: an error, nothing uploaded or sent
        count = bob.tid("message").count()
        alice.tid("attach-input").set_input_files(
            files=[{"name": "setup.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ" + b"\x00" * 64}]
        )
        expect(alice.tid("toast").filter(has_text="setup.exe")).to_be_visible()
        expect(alice.tid("upload")).to_have_count(0)
        # so is one over 16 MB
        alice.tid("attach-input").set_input_files(
            files=[{"name": "huge.png", "mimeType": "image/png", "buffer": b"\x00" * (16 * 1024 * 1024 + 1)}]
        )
        expect(alice.tid("toast").filter(has_text="too large")).to_be_visible()
        expect(alice.tid("upload")).to_have_count(0)
        alice.send("that's all")
        expect(bob.message("that's all")).to_be_visible()
        assert bob.tid("message").count() == count + 1
        shots.all("attachments-final")
    except BaseException:
        shots.all("attachments-failure")
        raise
    finally:
        for device in devices:
            if device.page is not None:
                device.context.close()
