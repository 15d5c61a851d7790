// The message field of the open chat: Enter sends (Shift+Enter: new line), typing is reported, the
// text not sent yet is kept per chat while you switch between chats, and a group you left shows
// why you cannot write.
//
// Above the field, the message being answered (Reply) or edited (Edit) is shown until it is sent
// or canceled (the x, or Escape). An edit puts the message's text in the field; sending it edits
// the message instead of sending a new one.
//
// The paperclip picks a photo or file: it is checked (type, 16 MB), uploaded and sent with what is in
// the field as its caption (attachments.js). A draft of a new direct chat has no paperclip: an
// attachment goes to an existing conversation, so the first message is text.

import { DELETED_TEXT, messageLine } from "./message-view.js";

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
    this.context = null; // {mode: "reply" | "edit", conversationId, seq}
    const input = $("composer-input");
    on($("composer-context-cancel"), "click", () => this.cancelContext(true));
    on($("composer-attach"), "click", () => $("attach-input").click());
    on($("attach-input"), "change", () => {
      const picker = $("attach-input");
      const files = [...(picker.files || [])];
      picker.value = ""; // the same file may be picked again
      if (files.length) this.attach(files[0]);
    });
    on($("composer"), "submit", (e) => {
      e.preventDefault();
      this.send();
    });
    on(input, "keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      } else if (e.key === "Escape" && this.context) {
        e.stopPropagation();
        this.cancelContext(true);
      }
    });
    on(input, "input", () => {
      this.autoGrow();
      const editing = this.context && this.context.mode === "edit"; // an edit is not typing a message
      if (this.openId && !editing) this.client.presence.userTyping(this.openId, input.value.trim().length > 0);
      this.saveDraft();
    });
  }

  /** Another chat opened: keep what was typed in the previous one, show what was typed in this one. */
  switchTo(conversationId) {
    if (this.context && this.context.conversationId !== conversationId) {
      this.cancelContext(this.context.mode === "edit", false);
    }
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

  /** A group the user left, or a chat with someone the user blocked, cannot be written to. */
  render(conv) {
    const blocked = this.client.conversations.blockedPeer(conv);
    const closed = conv.left || blocked;
    $("composer").hidden = closed;
    $("composer-disabled").hidden = !closed;
    $("composer-attach").hidden = Boolean(conv.draftFor);
    $("composer-disabled").textContent = blocked
      ? `You blocked ${this.client.conversations.peerOf(conv)}. Unblock them to send messages.`
      : "You can't send messages to this group because you're no longer a member.";
    this.renderContext(conv);
  }

  // ---- reply and edit ----------------------------------------------------------------------------

  /** Answer msg of conv: its quote shows above the field. */
  replyTo(conv, msg) {
    if (this.context && this.context.mode === "edit") this.cancelContext(true);
    this.context = { mode: "reply", conversationId: conv.id, seq: msg.seq };
    this.renderContext(conv);
    this.focus();
  }

  /** Edit msg (your own) of conv: its text goes into the field. */
  edit(conv, msg) {
    if (!this.context || this.context.mode !== "edit") this.saveDraft();
    this.context = { mode: "edit", conversationId: conv.id, seq: msg.seq, draft: $("composer-input").value };
    const input = $("composer-input");
    input.value = (msg.body && msg.body.text) || "";
    this.autoGrow();
    this.renderContext(conv);
    this.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  /** Stop replying or editing (an edit gives the field back what was typed before it). */
  cancelContext(restore, focus = restore) {
    const ctx = this.context;
    this.context = null;
    if (ctx && ctx.mode === "edit" && restore) {
      $("composer-input").value = ctx.draft || "";
      this.autoGrow();
      this.saveDraft();
    }
    $("composer-context").hidden = true;
    if (focus) this.focus();
  }

  renderContext(conv) {
    const box = $("composer-context");
    const ctx = this.context;
    const msg = ctx && conv && ctx.conversationId === conv.id ? conv.messages.get(ctx.seq) : null;
    if (!ctx || !msg || conv.left || (ctx.mode === "edit" && msg.deleted)) {
      if (ctx && conv && ctx.conversationId === conv.id) this.cancelContext(ctx.mode === "edit", false);
      box.hidden = true;
      return;
    }
    const title = ctx.mode === "edit" ? "Edit message" : `Replying to ${msg.senderId === this.client.me ? "yourself" : msg.senderId}`;
    const text = msg.deleted ? DELETED_TEXT : messageLine(msg);
    box.hidden = false;
    box.dataset.mode = ctx.mode;
    box.dataset.seq = String(ctx.seq);
    if ($("composer-context-title").textContent !== title) $("composer-context-title").textContent = title;
    if ($("composer-context-text").textContent !== text) $("composer-context-text").textContent = text;
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
    const ctx = this.context && this.context.conversationId === this.openId ? this.context : null;
    if (ctx && ctx.mode === "edit") {
      this.sendEdit(ctx, text);
      return;
    }
    const entry = this.client.outbox.add(this.openId, text, ctx ? ctx.seq : null);
    if (!entry) return;
    if (ctx) this.cancelContext(false);
    input.value = "";
    this.drafts.delete(this.openId);
    this.autoGrow();
    this.onSent();
    input.focus();
  }

  /** Sends file in the open chat, with the field's text as its caption. */
  attach(file) {
    const conv = this.openId ? this.client.conversations.get(this.openId) : null;
    if (!conv) return;
    const ctx = this.context && this.context.conversationId === this.openId ? this.context : null;
    if (ctx && ctx.mode === "edit") {
      this.toast("Finish or cancel the edit before sending a file.", "error");
      return;
    }
    const input = $("composer-input");
    const caption = input.value.trim();
    if ([...caption].length > MAX_CHARS) {
      this.toast(`Captions can be at most ${MAX_CHARS} characters.`, "error");
      return;
    }
    const problem = this.client.attachments.add(this.openId, file, caption, ctx ? ctx.seq : null);
    if (problem) {
      this.toast(problem, "error");
      return;
    }
    if (ctx) this.cancelContext(false);
    input.value = "";
    this.drafts.delete(this.openId);
    this.autoGrow();
    this.client.presence.stopTyping(this.openId);
    this.onSent();
    this.focus();
  }

  sendEdit(ctx, text) {
    const conv = this.client.conversations.get(ctx.conversationId);
    const msg = conv ? conv.messages.get(ctx.seq) : null;
    if (!msg) return;
    if (text !== ((msg.body && msg.body.text) || "")) {
      if (!this.client.changes.canEdit(msg)) {
        this.toast("Messages can be edited for 15 minutes after they were sent.", "error");
        return;
      }
      this.client.changes.edit(ctx.conversationId, ctx.seq, text).catch(() => {});
    }
    this.cancelContext(true);
  }
}
