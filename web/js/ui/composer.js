// The message field of the open chat: Enter sends (Shift+Enter: new line), typing is reported, the
// text not sent yet is kept per chat while you switch between chats, and a group you left shows
// why you cannot write.

const MAX_HEIGHT_PX = 160;
const MAX_CHARS = 4096;

const $ = (id) => document.getElementById(id);

export class Composer {
  /** onSent(): a message was handed to the outbox. toast(text, kind): tell the user. */
  constructor({ client, on, toast, onSent }) {
    this.client = client;
    this.toast = toast;
    this.onSent = onSent;
    this.openId = null;
    this.drafts = new Map(); // conversationId -> text typed and not sent
    const input = $("composer-input");
    on($("composer"), "submit", (e) => {
      e.preventDefault();
      this.send();
    });
    on(input, "keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    });
    on(input, "input", () => {
      this.autoGrow();
      if (this.openId) this.client.presence.userTyping(this.openId, input.value.trim().length > 0);
      this.saveDraft();
    });
  }

  /** Another chat opened: keep what was typed in the previous one, show what was typed in this one. */
  switchTo(conversationId) {
    this.saveDraft();
    this.openId = conversationId;
    const input = $("composer-input");
    input.value = (conversationId && this.drafts.get(conversationId)) || "";
    this.autoGrow();
  }

  /** The open draft became the real conversation `to`. */
  replaced(from, to) {
    if (this.openId === from) this.openId = to;
    const text = this.drafts.get(from);
    if (text) this.drafts.set(to, text);
  }

  /** A group the user left cannot be written to. */
  render(conv) {
    $("composer").hidden = conv.left;
    $("composer-disabled").hidden = !conv.left;
  }

  focus() {
    $("composer-input").focus({ preventScroll: true });
  }

  autoGrow() {
    const input = $("composer-input");
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, MAX_HEIGHT_PX)}px`;
  }

  saveDraft() {
    if (this.openId) this.drafts.set(this.openId, $("composer-input").value);
  }

  send() {
    const input = $("composer-input");
    const text = input.value.trim();
    if (!text || !this.openId) return;
    if ([...text].length > MAX_CHARS) {
      this.toast(`Messages can be at most ${MAX_CHARS} characters.`, "error");
      return;
    }
    const entry = this.client.outbox.add(this.openId, text);
    if (!entry) return;
    input.value = "";
    this.drafts.delete(this.openId);
    this.autoGrow();
    this.onSent();
    input.focus();
  }
}
