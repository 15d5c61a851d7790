// The messages of the open chat: day separators, group notices, the "unread messages" line, bubbles
// with check marks, the clock and "Not sent" (Retry / Delete) of unsent ones. Elements are keyed and
// rebuilt only when what they show changed, and check marks that move are updated in place (a
// click on your message, for message info, must survive its check marks turning blue: a browser
// fires `click` only on an element that stayed in place from the button going down to it coming
// up). The scroll position follows new messages at the bottom and otherwise stays anchored. Older
// messages load when the top comes into sight.

import { clear, h } from "../dom.js";
import { dayKey, formatDay, formatFull, formatTime } from "../format.js";
import { colorFor, richText, setStatus, statusIcon } from "./widgets.js";

const NEAR_BOTTOM_PX = 120;
const STORED = new Set(["sent", "delivered", "read"]); // the statuses of a message with a seq
const NEAR_TOP_PX = 150;

const $ = (id) => document.getElementById(id);

function senderLabel(userId) {
  const el = h("div", { class: "sender" }, userId);
  el.style.color = colorFor(userId);
  return el;
}

export class MessageView {
  /** onMessageInfo(conversationId, seq): the user clicked one of their messages. */
  constructor({ client, on, onMessageInfo }) {
    this.client = client;
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
      items.push({
        key: msg.clientMsgId ? `c:${msg.senderId}:${msg.clientMsgId}` : `m:${msg.seq}`,
        kind: "message",
        mine,
        seq: msg.seq,
        senderId: msg.senderId,
        text: msg.body && typeof msg.body.text === "string" ? msg.body.text : "",
        at: msg.sentAt,
        status,
        first: !prev || prev.senderId !== msg.senderId,
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
      });
      prev = items[items.length - 1];
    }
    return items;
  }

  signature(item) {
    return JSON.stringify([item.kind, item.text, item.seq, item.status, item.first, item.at, item.error]);
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
    const bubble = h(
      "div",
      { class: "bubble" },
      isGroup && !item.mine && item.first ? senderLabel(item.senderId) : null,
      h("div", { class: "text", "data-testid": "message-text" }, richText(item.text)),
      h(
        "div",
        { class: "meta" },
        h("time", { datetime: item.at || "", title: formatFull(item.at) }, formatTime(item.at)),
        item.mine ? statusIcon(item.status) : null,
      ),
    );
    const el = h(
      "div",
      {
        class: `msg ${item.mine ? "mine" : "theirs"}${item.first ? " first" : ""}${item.status === "failed" ? " failed" : ""}`,
        "data-testid": "message",
        "data-seq": item.seq === null ? "" : String(item.seq),
        "data-status": item.mine ? item.status : "received",
        "data-mine": String(item.mine),
        "data-sender": item.senderId,
      },
      bubble,
    );
    if (item.mine && item.seq !== null) {
      el.classList.add("clickable");
      el.title = "Message info";
      el.tabIndex = 0;
      const show = () => this.onMessageInfo(conv.id, item.seq);
      el.addEventListener("click", (e) => {
        if (e.target.closest("a")) return;
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
