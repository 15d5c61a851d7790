// The menu of one message: a few reactions, Reply, Edit (your own, within 15 minutes) and Delete
// for everyone (your own, within 48 hours). It opens from the small button on a message (shown on
// hover with a mouse, always on touch screens), from a right click, or from a long press. Escape
// closes it (app.js).

import { h } from "../dom.js";
import { REACTIONS } from "../chat/changes.js";

const LONG_PRESS_MS = 500;

export class MessageMenu {
  /** onReply(conv, msg), onEdit(conv, msg): the composer takes over. toast(text, kind). */
  constructor({ client, on, onReply, onEdit, toast }) {
    this.client = client;
    this.onReply = onReply;
    this.onEdit = onEdit;
    this.toast = toast;
    this.el = null;
    this.target = null; // {conversationId, seq}
    on(document, "pointerdown", (e) => {
      if (this.el && !this.el.contains(e.target) && !e.target.closest("[data-testid=message-menu-button]")) this.close();
    });
    on(document.getElementById("messages"), "scroll", () => this.close());
    on(window, "resize", () => this.close());
  }

  get isOpen() {
    return Boolean(this.el);
  }

  /** Makes el (a message's element) open the menu on right click and long press. */
  attach(el, conversationId, seq) {
    el.addEventListener("contextmenu", (e) => {
      if (e.target.closest("a")) return;
      e.preventDefault();
      this.open(conversationId, seq, el);
    });
    let timer = null;
    const cancel = () => clearTimeout(timer);
    el.addEventListener("touchstart", () => {
      cancel();
      timer = setTimeout(() => this.open(conversationId, seq, el), LONG_PRESS_MS);
    }, { passive: true });
    for (const type of ["touchend", "touchmove", "touchcancel"]) el.addEventListener(type, cancel, { passive: true });
  }

  message(conversationId, seq) {
    const conv = this.client.conversations.get(conversationId);
    const msg = conv ? conv.messages.get(seq) : null;
    return conv && msg ? { conv, msg } : null;
  }

  toggle(conversationId, seq, anchor) {
    if (this.target && this.target.conversationId === conversationId && this.target.seq === seq) this.close();
    else this.open(conversationId, seq, anchor);
  }

  open(conversationId, seq, anchor) {
    this.close();
    const found = this.message(conversationId, seq);
    if (!found) return;
    const { conv, msg } = found;
    const { changes } = this.client;
    const act = (fn) => () => {
      this.close();
      fn();
    };
    const mine = msg.reactions ? msg.reactions[this.client.me] : null;
    const item = (testId, label, fn, danger) =>
      h("button", { type: "button", role: "menuitem", class: `menu-item${danger ? " danger" : ""}`, "data-testid": testId, onclick: act(fn) }, label);
    const failed = (err) => err; // the notice was shown already
    this.el = h(
      "div",
      { class: "message-menu", role: "menu", "data-testid": "message-menu", "aria-label": "Message actions" },
      changes.canReact(msg) && !conv.left
        ? h(
            "div",
            { class: "menu-reactions", role: "group", "aria-label": "React" },
            REACTIONS.map((emoji) =>
              h(
                "button",
                {
                  type: "button",
                  class: `react-option${mine === emoji ? " chosen" : ""}`,
                  "data-testid": "react-option",
                  "data-emoji": emoji,
                  "aria-pressed": String(mine === emoji),
                  "aria-label": mine === emoji ? `Remove your reaction ${emoji}` : `React with ${emoji}`,
                  onclick: act(() => changes.react(conv.id, seq, emoji).catch(failed)),
                },
                emoji,
              ),
            ),
          )
        : null,
      conv.left || msg.deleted ? null : item("menu-reply", "Reply", () => this.onReply(conv, msg)),
      changes.canEdit(msg) && !conv.left ? item("menu-edit", "Edit", () => this.onEdit(conv, msg)) : null,
      changes.canDelete(msg) && !conv.left
        ? item("menu-delete", "Delete for everyone", () => {
            if (!confirm("Delete this message for everyone?")) return;
            changes.remove(conv.id, seq).catch(failed);
          }, true)
        : null,
    );
    if (this.el.childElementCount === 0) {
      this.el = null;
      return;
    }
    this.target = { conversationId, seq };
    document.body.append(this.el);
    this.place(anchor);
    const first = this.el.querySelector("button");
    if (first) first.focus({ preventScroll: true });
  }

  place(anchor) {
    const r = anchor.getBoundingClientRect();
    const m = this.el.getBoundingClientRect();
    const top = r.bottom + m.height + 8 < window.innerHeight ? r.bottom + 4 : Math.max(8, r.top - m.height - 4);
    const mine = anchor.closest(".msg.mine");
    let left = mine ? r.right - m.width : r.left;
    left = Math.max(8, Math.min(left, window.innerWidth - m.width - 8));
    this.el.style.top = `${top}px`;
    this.el.style.left = `${left}px`;
  }

  close() {
    if (this.el) this.el.remove();
    this.el = null;
    this.target = null;
  }
}
