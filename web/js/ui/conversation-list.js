// The list of chats in the sidebar: one row per conversation, newest activity first, with its last
// message (or who is typing), time and unread badge; the search field filters it by title.

import { clear, h } from "../dom.js";
import { formatListTime } from "../format.js";
import { avatar, statusIcon } from "./widgets.js";

const $ = (id) => document.getElementById(id);

export class ConversationList {
  /** onOpen(conversationId): the user picked a chat. */
  constructor({ client, on, onOpen }) {
    this.client = client;
    this.onOpen = onOpen;
    this.filter = "";
    this.openId = null;
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
    const items = [];
    for (const conv of sorted) {
      const title = conversations.title(conv);
      if (this.filter && !title.toLowerCase().includes(this.filter)) continue;
      items.push(this.item(conv, title));
    }
    clear(list).append(...items);
    $("conv-empty").hidden = sorted.length > 0;
  }

  clear() {
    clear($("conv-list"));
  }

  preview(conv) {
    const c = this.client;
    const last = c.conversations.lastMessage(conv);
    const typers = c.presence.typingUsers(conv);
    if (typers.length) {
      const who = conv.kind === "group" ? `${typers[0]} is typing…` : "typing…";
      return { time: conv.activity, content: h("span", { class: "preview-typing", "data-testid": "conversation-typing" }, who) };
    }
    if (last && last.pending) {
      const status = last.pending.status === "failed" ? "failed" : "pending";
      return { time: last.pending.createdAt, content: [statusIcon(status), h("span", { class: "preview-text" }, last.pending.text)] };
    }
    if (last) {
      const msg = last.message;
      const mine = msg.senderId === c.me;
      const prefix = conv.kind === "group" && !mine ? `${msg.senderId}: ` : "";
      return {
        time: msg.sentAt,
        content: [
          mine ? statusIcon(c.watermarks.statusOf(conv, msg.seq)) : null,
          h("span", { class: "preview-text" }, prefix + (msg.body && msg.body.text ? msg.body.text : "")),
        ],
      };
    }
    let text = "";
    if (conv.draftFor) text = "New chat";
    else if (conv.kind === "group") text = `${conv.members.length} members`;
    return { time: conv.activity, content: h("span", { class: "preview-text muted" }, text) };
  }

  item(conv, title) {
    const unread = this.client.watermarks.unreadCount(conv);
    const { time, content } = this.preview(conv);
    const open = conv.id === this.openId;
    return h(
      "li",
      {
        class: `conv${open ? " active" : ""}${unread ? " unread" : ""}`,
        "data-testid": "conversation-item",
        "data-conversation-id": conv.id,
        "data-kind": conv.kind,
        "data-title": title,
        "data-unread": String(unread),
        tabindex: "0",
        role: "button",
        "aria-current": open ? "true" : null,
        onclick: () => this.onOpen(conv.id),
        onkeydown: (e) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            this.onOpen(conv.id);
          }
        },
      },
      avatar(title, conv.kind === "group"),
      h(
        "div",
        { class: "conv-main" },
        h(
          "div",
          { class: "conv-top" },
          h("span", { class: "conv-title", "data-testid": "conversation-title" }, title),
          h("time", { class: "conv-time", "data-testid": "conversation-time" }, formatListTime(time)),
        ),
        h(
          "div",
          { class: "conv-bottom" },
          h("span", { class: "conv-preview", "data-testid": "conversation-preview" }, content),
          unread ? h("span", { class: "badge", "data-testid": "unread-count", "aria-label": `${unread} unread` }, String(unread > 999 ? "999+" : unread)) : null,
        ),
      ),
    );
  }
}
