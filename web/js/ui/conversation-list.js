// The list of chats in the sidebar: one row per conversation, newest activity first, with its last
// message (or who is typing), time and unread badge; the search field filters it by title.
//
// A browser fires `click` only on an element that stayed in place from the button going down to
// it coming up: an element removed or moved in between (even put back at once) gets no click. So
// a click on a chat must survive the re-renders that arrive while the button is held (a message
// landing, a receipt, presence, typing):
// - rows are kept per conversationId and updated in place, never rebuilt;
// - their contents take no pointer events (styles.css), so the row itself is what is pressed;
// - while a button is held on the list, rows are not added, removed or reordered (so nothing
//   shifts under the pointer either); that waits until the button comes up;
// - one click / keydown listener on the list picks the row by its data-conversation-id.

import { h } from "../dom.js";
import { formatListTime } from "../format.js";
import { fillAvatar, statusIcon } from "./widgets.js";
import { messageLine } from "./message-view.js";

const $ = (id) => document.getElementById(id);

/** Sets el's children to make()'s unless they were made for the same `key` last time. */
function fill(el, key, make) {
  if (el._key === key) return;
  el._key = key;
  el.replaceChildren(...[make()].flat().filter(Boolean));
}

export class ConversationList {
  /** onOpen(conversationId): the user picked a chat. requestRender(): render again soon. */
  constructor({ client, on, onOpen, requestRender }) {
    this.client = client;
    this.requestRender = requestRender;
    this.filter = "";
    this.openId = null;
    this.rows = new Map(); // conversationId -> {el, avatar, title, time, preview, badge}
    this.pressed = false; // a button is held down on the list
    this.heldBack = false; // a render left the rows' set or order as it was, because of that
    const list = $("conv-list");
    const picked = (e) => {
      const row = e.target.closest("[data-conversation-id]");
      return row && list.contains(row) ? row.dataset.conversationId : null;
    };
    on(list, "click", (e) => {
      const id = picked(e);
      if (id) onOpen(id);
    });
    on(list, "keydown", (e) => {
      const id = picked(e);
      if (id && (e.key === "Enter" || e.key === " ")) {
        e.preventDefault();
        onOpen(id);
      }
    });
    on(list, "pointerdown", (e) => {
      if (e.button === 0) this.pressed = true;
    });
    // Released anywhere (or never, as far as this page can tell): the list may change again. The
    // click, if any, is dispatched with the release, before the render this asks for.
    const release = () => {
      if (!this.pressed) return;
      this.pressed = false;
      if (this.heldBack) this.requestRender();
    };
    on(window, "pointerup", release, true);
    on(window, "pointercancel", release, true);
    on(window, "blur", release);
    on($("search"), "input", () => {
      this.filter = $("search").value.trim().toLowerCase();
      this.render(this.openId);
    });
  }

  render(openId) {
    this.openId = openId;
    const { conversations } = this.client;
    const list = $("conv-list");
    const sorted = conversations.sorted();
    const wanted = [];
    for (const conv of sorted) {
      const title = conversations.title(conv);
      if (this.filter && !title.toLowerCase().includes(this.filter)) continue;
      wanted.push([conv, title]);
    }
    $("conv-empty").hidden = sorted.length > 0;
    if (this.pressed) {
      // Only rows already there are updated; new, gone and moved ones wait for the release.
      for (const [conv, title] of wanted) {
        const row = this.rows.get(conv.id);
        if (row) this.update(row, conv, title);
      }
      this.heldBack = true;
      return;
    }
    this.heldBack = false;
    const keep = new Set(wanted.map(([conv]) => conv.id));
    for (const [id, row] of this.rows) {
      if (!keep.has(id)) {
        row.el.remove();
        this.rows.delete(id);
      }
    }
    // Move only the rows that are out of place (a chat with a new message goes to the top alone).
    let cursor = list.firstElementChild;
    for (const [conv, title] of wanted) {
      let row = this.rows.get(conv.id);
      if (!row) {
        row = this.createRow(conv.id);
        this.rows.set(conv.id, row);
      }
      this.update(row, conv, title);
      if (row.el !== cursor) list.insertBefore(row.el, cursor);
      else cursor = cursor.nextElementSibling;
    }
  }

  clear() {
    for (const row of this.rows.values()) row.el.remove();
    this.rows.clear();
  }

  createRow(conversationId) {
    const avatar = h("span", { class: "avatar", "aria-hidden": "true" });
    const title = h("span", { class: "conv-title", "data-testid": "conversation-title" });
    const time = h("time", { class: "conv-time", "data-testid": "conversation-time" });
    const preview = h("span", { class: "conv-preview", "data-testid": "conversation-preview" });
    const badge = h("span", { class: "badge", "data-testid": "unread-count" });
    const el = h(
      "li",
      { "data-testid": "conversation-item", "data-conversation-id": conversationId, tabindex: "0", role: "button" },
      avatar,
      h(
        "div",
        { class: "conv-main" },
        h("div", { class: "conv-top" }, title, time),
        h("div", { class: "conv-bottom" }, preview),
      ),
    );
    return { el, avatar, title, time, preview, badge };
  }

  update(row, conv, title) {
    const unread = this.client.watermarks.unreadCount(conv);
    const open = conv.id === this.openId;
    const { el } = row;
    el.className = `conv${open ? " active" : ""}${unread ? " unread" : ""}`;
    el.dataset.kind = conv.kind;
    el.dataset.title = title;
    el.dataset.unread = String(unread);
    if (open) el.setAttribute("aria-current", "true");
    else el.removeAttribute("aria-current");
    const isGroup = conv.kind === "group";
    if (row.avatar._key !== `${isGroup}:${title}`) {
      row.avatar._key = `${isGroup}:${title}`;
      fillAvatar(row.avatar, title, isGroup);
    }
    row.title.textContent = title;
    row.el.dataset.muted = String(Boolean(conv.muted));
    row.el.dataset.blocked = String(this.client.conversations.blockedPeer(conv));
    row.title.title = conv.muted ? "Muted" : "";
    if (conv.muted) row.title.textContent = `${title} 🔕`;
    const { time, key, make } = this.preview(conv);
    row.time.textContent = formatListTime(time);
    fill(row.preview, key, make);
    if (unread) {
      row.badge.textContent = String(unread > 999 ? "999+" : unread);
      row.badge.setAttribute("aria-label", `${unread} unread`);
      if (!row.badge.isConnected) row.preview.after(row.badge);
    } else {
      row.badge.remove();
    }
  }

  /** The time and the second line: {time, key, make} (make() builds what `key` names). */
  preview(conv) {
    const c = this.client;
    const last = c.conversations.lastMessage(conv);
    const typers = c.presence.typingUsers(conv);
    if (typers.length) {
      const who = conv.kind === "group" ? `${typers[0]} is typing…` : "typing…";
      return {
        time: conv.activity,
        key: `typing:${who}`,
        make: () => h("span", { class: "preview-typing", "data-testid": "conversation-typing" }, who),
      };
    }
    if (last && last.pending) {
      const status = last.pending.status === "failed" ? "failed" : "pending";
      const text = last.pending.attachment ? messageLine({ body: { text: last.pending.text }, attachment: last.pending.attachment }) : last.pending.text;
      return {
        time: last.pending.createdAt,
        key: `pending:${status}:${text}`,
        make: () => [statusIcon(status), h("span", { class: "preview-text" }, text)],
      };
    }
    if (last) {
      const msg = last.message;
      const mine = msg.senderId === c.me;
      const prefix = conv.kind === "group" && !mine ? `${msg.senderId}: ` : "";
      const text = msg.deleted ? "This message was deleted" : prefix + messageLine(msg);
      const status = mine ? c.watermarks.statusOf(conv, msg.seq) : null;
      return {
        time: msg.sentAt,
        key: `message:${status}:${text}`,
        make: () => [status ? statusIcon(status) : null, h("span", { class: "preview-text" }, text)],
      };
    }
    let text = "";
    if (conv.draftFor) text = "New chat";
    else if (conv.kind === "group") text = `${conv.members.length} members`;
    return { time: conv.activity, key: `none:${text}`, make: () => h("span", { class: "preview-text muted" }, text) };
  }
}
