// The messages of the open chat: day separators, group notices, the "unread messages" line, bubbles
// with check marks, the clock and "Not sent" (Retry / Delete) of unsent ones. Elements are keyed and
// rebuilt only when what they show changed, and check marks that move are updated in place (a
// click on your message, for message info, must survive its check marks turning blue: a browser
// fires `click` only on an element that stayed in place from the button going down to it coming
// up). The scroll position follows new messages at the bottom and otherwise stays anchored. Older
// messages load when the top comes into sight.
//
// A message also shows the message it answers (a quote), "edited", the placeholder of a message
// deleted for everyone, and its reactions as chips (emoji and count; yours highlighted, and a
// click on one sets or removes yours). Its menu (message-menu.js) opens from a small button.

import { clear, h, icon } from "../dom.js";
import { dayKey, formatDay, formatFull, formatTime } from "../format.js";
import { colorFor, richText, setStatus, statusIcon } from "./widgets.js";

const NEAR_BOTTOM_PX = 120;
const STORED = new Set(["sent", "delivered", "read"]); // the statuses of a message with a seq
const NEAR_TOP_PX = 150;

const $ = (id) => document.getElementById(id);

export const DELETED_TEXT = "This message was deleted";

/** What the quote of the message seq shows: {seq, senderId, text, deleted}, or null when not held. */
export function quoteOf(client, conv, seq) {
  if (!seq) return null;
  const msg = conv.messages.get(seq);
  if (!msg) return null;
  return {
    seq,
    senderId: msg.senderId,
    sender: msg.senderId === client.me ? "You" : msg.senderId,
    text: msg.deleted ? DELETED_TEXT : (msg.body && msg.body.text) || "",
    deleted: Boolean(msg.deleted),
  };
}

/** The reactions as chips: [{emoji, count, mine}], the most given first, then by emoji. */
function reactionChips(reactions, me) {
  const byEmoji = new Map();
  for (const [userId, emoji] of Object.entries(reactions || {})) {
    if (!emoji) continue;
    const chip = byEmoji.get(emoji) || { emoji, count: 0, mine: false, users: [] };
    chip.count += 1;
    chip.users.push(userId === me ? "You" : userId);
    if (userId === me) chip.mine = true;
    byEmoji.set(emoji, chip);
  }
  return [...byEmoji.values()].sort((a, b) => b.count - a.count || (a.emoji < b.emoji ? -1 : 1));
}

function senderLabel(userId) {
  const el = h("div", { class: "sender" }, userId);
  el.style.color = colorFor(userId);
  return el;
}

export class MessageView {
  /** onMessageInfo(conversationId, seq): the user clicked one of their messages. */
  constructor({ client, on, onMessageInfo, menu }) {
    this.client = client;
    this.menu = menu;
    this.onMessageInfo = onMessageInfo;
    this.elements = new Map(); // item key -> element
    this.renderedConvId = null;
    this.dirty = true; // the next render starts the chat afresh (scroll to the unread line or bottom)
    this.unreadMarker = null; // {conversationId, afterSeq}
    this.stickToBottom = false;
    on($("messages"), "scroll", () => this.onScroll());
    on($("scroll-down"), "click", () => this.scrollToBottom(true));
  }

  /** A chat was opened (conv null: none). */
  opened(conv) {
    // The "unread messages" line stays where it was when the chat opened, even when older
    // (also unread) messages are loaded above it later.
    this.unreadMarker =
      conv && this.client.watermarks.unreadCount(conv) > 0
        ? { conversationId: conv.id, afterSeq: Math.max(conv.myRead, (conv.minSeq || 1) - 1) }
        : null;
    this.dirty = true;
  }

  /** The open draft became a real conversation. */
  replaced() {
    this.dirty = true;
  }

  /** The user sent a message: show the bottom after the next render. */
  followNext() {
    this.stickToBottom = true;
  }

  clear() {
    clear($("message-list"));
    this.elements.clear();
  }

  render(conv) {
    if (!conv) {
      if (this.renderedConvId) {
        this.clear();
        this.renderedConvId = null;
      }
      return;
    }
    const box = $("messages");
    const list = $("message-list");
    const switched = this.renderedConvId !== conv.id || this.dirty;
    if (this.renderedConvId !== conv.id) {
      this.clear();
      this.renderedConvId = conv.id;
    }
    this.dirty = false;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM_PX;
    // The first visible element anchors the scroll position across prepends and re-renders.
    const anchorEl = switched ? null : this.firstVisible(box, list);
    const anchorKey = anchorEl ? anchorEl._key : null;
    const anchorTop = anchorEl ? anchorEl.getBoundingClientRect().top : 0;

    const items = this.items(conv);
    const wanted = new Set(items.map((i) => i.key));
    for (const [key, el] of this.elements) {
      if (!wanted.has(key)) {
        el.remove();
        this.elements.delete(key);
      }
    }
    let cursor = list.firstElementChild;
    for (const item of items) {
      const sig = this.signature(item);
      let el = this.elements.get(item.key);
      if (el && el._sig !== sig && this.updateStatus(el, item)) el._sig = sig;
      if (!el || el._sig !== sig) {
        const fresh = this.build(item, conv);
        fresh._sig = sig;
        fresh._key = item.key;
        fresh._item = item;
        if (el) {
          if (cursor === el) cursor = fresh;
          el.replaceWith(fresh);
        }
        el = fresh;
        this.elements.set(item.key, el);
      }
      if (el !== cursor) list.insertBefore(el, cursor);
      else cursor = cursor.nextElementSibling;
    }

    const status = $("history-status");
    status.textContent = conv.loadingHistory ? "Loading older messages…" : "";
    status.classList.toggle("loading", Boolean(conv.loadingHistory));

    // Scroll: new chat -> to the unread marker or bottom; new messages -> follow if the user was
    // at the bottom; otherwise (older messages prepended, a message re-rendered) stay put.
    if (switched) {
      const marker = list.querySelector("[data-testid=unread-separator]");
      if (marker) marker.scrollIntoView({ block: "center" });
      else box.scrollTop = box.scrollHeight;
    } else if (this.stickToBottom || atBottom) {
      box.scrollTop = box.scrollHeight;
    } else if (anchorKey && this.elements.has(anchorKey)) {
      box.scrollTop += this.elements.get(anchorKey).getBoundingClientRect().top - anchorTop;
    }
    this.stickToBottom = false;
    this.updateScrollButton(conv);
    // Fill the view, and keep going while the top is in sight (no scroll event fires when the
    // view opens scrolled to the top, e.g. at a long run of unread messages).
    const topInSight = box.scrollHeight <= box.clientHeight + 10 || box.scrollTop < NEAR_TOP_PX;
    if (conv.hasMore !== false && !conv.loadingHistory && topInSight && conv.minSeq !== 1) {
      this.loadOlder(conv.id);
    }
  }

  /** What the chat shows, in order: {key, kind: "day"|"notice"|"unread"|"message", ...}. */
  items(conv) {
    const c = this.client;
    const items = [];
    const notices = [...conv.notices];
    let lastDay = null;
    let prev = null;
    const pushDay = (at) => {
      const key = dayKey(at);
      if (key && key !== lastDay) {
        lastDay = key;
        items.push({ key: `d:${key}`, kind: "day", text: formatDay(at) });
        prev = null;
      }
    };
    const flushNotices = (seq) => {
      while (notices.length && notices[0].afterSeq < seq) {
        const n = notices.shift();
        pushDay(n.at);
        items.push({ key: `n:${n.at}:${n.text}`, kind: "notice", text: n.text });
        prev = null;
      }
    };
    const marker = this.unreadMarker && this.unreadMarker.conversationId === conv.id ? this.unreadMarker : null;
    let markerShown = false;
    for (const msg of c.conversations.sortedMessages(conv)) {
      flushNotices(msg.seq);
      pushDay(msg.sentAt);
      const mine = msg.senderId === c.me;
      if (marker && !markerShown && !mine && msg.seq > marker.afterSeq) {
        markerShown = true;
        items.push({ key: "unread", kind: "unread", text: "Unread messages" });
        prev = null;
      }
      const status = mine ? c.watermarks.statusOf(conv, msg.seq) : null;
      const deleted = Boolean(msg.deleted);
      items.push({
        key: msg.clientMsgId ? `c:${msg.senderId}:${msg.clientMsgId}` : `m:${msg.seq}`,
        kind: "message",
        mine,
        seq: msg.seq,
        senderId: msg.senderId,
        text: !deleted && msg.body && typeof msg.body.text === "string" ? msg.body.text : "",
        at: msg.sentAt,
        status,
        first: !prev || prev.senderId !== msg.senderId,
        deleted,
        edited: !deleted && Boolean(msg.editedAt),
        editedAt: msg.editedAt || null,
        quote: quoteOf(c, conv, msg.replyTo),
        reactions: deleted ? [] : reactionChips(msg.reactions, c.me),
        menu: !conv.left && !deleted,
      });
      prev = items[items.length - 1];
    }
    flushNotices(Infinity);
    for (const entry of c.outbox.pendingFor(conv)) {
      pushDay(entry.createdAt);
      items.push({
        key: `c:${c.me}:${entry.clientMsgId}`,
        kind: "message",
        mine: true,
        seq: null,
        senderId: c.me,
        clientMsgId: entry.clientMsgId,
        text: entry.text,
        at: entry.createdAt,
        status: entry.status === "failed" ? "failed" : "pending",
        error: entry.error,
        first: !prev || prev.senderId !== c.me,
        quote: quoteOf(c, conv, entry.replyTo),
      });
      prev = items[items.length - 1];
    }
    return items;
  }

  signature(item) {
    return JSON.stringify([
      item.kind,
      item.text,
      item.seq,
      item.status,
      item.first,
      item.at,
      item.error,
      item.deleted,
      item.editedAt,
      item.quote,
      item.reactions,
      item.menu,
    ]);
  }

  /** Updates el in place when only its check marks moved (sent, delivered, read); false if not. */
  updateStatus(el, item) {
    const before = el._item;
    if (!before || !STORED.has(before.status) || !STORED.has(item.status)) return false;
    if (this.signature({ ...before, status: item.status }) !== this.signature(item)) return false;
    el.dataset.status = item.status;
    setStatus(el.querySelector("[data-testid=message-status]"), item.status);
    el._item = item;
    return true;
  }

  build(item, conv) {
    if (item.kind === "day") return h("div", { class: "day-sep" }, h("span", {}, item.text));
    if (item.kind === "notice") return h("div", { class: "notice", "data-testid": "notice" }, h("span", {}, item.text));
    if (item.kind === "unread") return h("div", { class: "unread-sep", "data-testid": "unread-separator" }, h("span", {}, item.text));
    const isGroup = conv.kind === "group";
    const hasMenu = Boolean(item.menu && item.seq !== null && this.menu);
    const bubble = h(
      "div",
      { class: "bubble" },
      hasMenu
        ? h(
            "button",
            {
              type: "button",
              class: "msg-menu-btn",
              "data-testid": "message-menu-button",
              "aria-label": "Message actions",
              "aria-haspopup": "menu",
              title: "Message actions",
              onclick: (e) => {
                e.stopPropagation();
                this.menu.toggle(conv.id, item.seq, e.currentTarget.closest(".bubble"));
              },
              onkeydown: (e) => e.stopPropagation(),
            },
            icon("down"),
          )
        : null,
      isGroup && !item.mine && item.first ? senderLabel(item.senderId) : null,
      item.quote ? this.quote(item.quote) : null,
      item.deleted
        ? h("div", { class: "text deleted", "data-testid": "message-deleted" }, DELETED_TEXT)
        : h("div", { class: "text", "data-testid": "message-text" }, richText(item.text)),
      h(
        "div",
        { class: "meta" },
        item.edited
          ? h("span", { class: "edited", "data-testid": "message-edited", title: `Edited ${formatFull(item.editedAt)}` }, "edited")
          : null,
        h("time", { datetime: item.at || "", title: formatFull(item.at) }, formatTime(item.at)),
        item.mine ? statusIcon(item.status) : null,
      ),
    );
    const chips =
      item.reactions && item.reactions.length
        ? h(
            "div",
            { class: "reactions", "data-testid": "reactions" },
            item.reactions.map((chip) =>
              h(
                "button",
                {
                  type: "button",
                  class: `reaction${chip.mine ? " mine" : ""}`,
                  "data-testid": "reaction",
                  "data-emoji": chip.emoji,
                  "data-count": String(chip.count),
                  "data-mine": String(chip.mine),
                  "aria-pressed": String(chip.mine),
                  "aria-label": `${chip.emoji} ${chip.count}: ${chip.users.join(", ")}${chip.mine ? " (click to remove yours)" : ""}`,
                  title: chip.users.join(", "),
                  disabled: conv.left,
                  onclick: (e) => {
                    e.stopPropagation();
                    this.client.changes.react(conv.id, item.seq, chip.emoji).catch(() => {});
                  },
                },
                h("span", { class: "reaction-emoji" }, chip.emoji),
                chip.count > 1 ? h("span", { class: "reaction-count" }, String(chip.count)) : null,
              ),
            ),
          )
        : null;
    const el = h(
      "div",
      {
        class: `msg ${item.mine ? "mine" : "theirs"}${item.first ? " first" : ""}${item.status === "failed" ? " failed" : ""}`,
        "data-testid": "message",
        "data-seq": item.seq === null ? "" : String(item.seq),
        "data-status": item.mine ? item.status : "received",
        "data-mine": String(item.mine),
        "data-sender": item.senderId,
        "data-deleted": item.deleted ? "true" : null,
        "data-edited": item.edited ? "true" : null,
      },
      bubble,
      chips,
    );
    if (hasMenu) this.menu.attach(el, conv.id, item.seq);
    if (item.mine && item.seq !== null) {
      el.classList.add("clickable");
      el.title = "Message info";
      el.tabIndex = 0;
      const show = () => this.onMessageInfo(conv.id, item.seq);
      el.addEventListener("click", (e) => {
        if (e.target.closest("a, button, [data-testid=message-quote]")) return;
        show();
      });
      el.addEventListener("keydown", (e) => {
        if (e.key === "Enter") show();
      });
    }
    if (item.status === "failed") {
      const { outbox } = this.client;
      el.append(
        h(
          "div",
          { class: "failed-actions" },
          h("span", {}, item.error ? `Not sent: ${item.error}` : "Not sent."),
          h("button", { type: "button", class: "link", "data-testid": "retry-send", onclick: () => outbox.retry(item.clientMsgId) }, "Retry"),
          h("button", { type: "button", class: "link", onclick: () => outbox.discard(item.clientMsgId) }, "Delete"),
        ),
      );
    }
    return el;
  }

  /** The quoted message above a message's text; a click shows it. */
  quote(q) {
    const el = h(
      "div",
      {
        class: `quote${q.deleted ? " deleted" : ""}`,
        "data-testid": "message-quote",
        "data-reply-to": String(q.seq),
        title: "Show the message",
        onclick: (e) => {
          e.stopPropagation();
          this.reveal(q.seq);
        },
      },
      h("div", { class: "quote-sender", "data-testid": "quote-sender" }, q.sender),
      h("div", { class: "quote-text", "data-testid": "quote-text" }, q.text),
    );
    el.style.borderColor = colorFor(q.senderId);
    el.firstChild.style.color = colorFor(q.senderId);
    return el;
  }

  /** Scrolls to the message seq of the open chat and flashes it. */
  reveal(seq) {
    const target = $("message-list").querySelector(`[data-testid=message][data-seq="${seq}"]`);
    if (!target) return;
    target.scrollIntoView({ block: "center", behavior: "smooth" });
    target.classList.remove("flash");
    void target.offsetWidth;
    target.classList.add("flash");
  }

  firstVisible(box, list) {
    const top = box.getBoundingClientRect().top;
    // Messages only: day separators are reused and move when older messages arrive.
    for (const el of list.children) {
      if (el.classList.contains("msg") && el.getBoundingClientRect().bottom > top) return el;
    }
    return null;
  }

  updateScrollButton(conv) {
    const box = $("messages");
    const away = box.scrollHeight - box.scrollTop - box.clientHeight > NEAR_BOTTOM_PX * 2;
    $("scroll-down").hidden = !away;
    const unread = conv ? this.client.watermarks.unreadCount(conv) : 0;
    $("scroll-down-count").textContent = unread ? String(unread) : "";
  }

  onScroll() {
    const conv = this.client.openId ? this.client.conversations.get(this.client.openId) : null;
    if (!conv) return;
    this.updateScrollButton(conv);
    if ($("messages").scrollTop < NEAR_TOP_PX) this.loadOlder(conv.id);
  }

  loadOlder(conversationId) {
    const promise = this.client.sync.loadHistory(conversationId);
    if (promise) promise.catch(() => {});
  }

  scrollToBottom(smooth) {
    const box = $("messages");
    box.scrollTo({ top: box.scrollHeight, behavior: smooth ? "smooth" : "auto" });
  }
}
