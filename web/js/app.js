// The user interface: conversation list, chat view, panels, toasts. State and protocol live in
// chat.js; this file renders it and turns user input into calls.

import { ChatClient } from "./chat/client.js";
import { clear, h, icon } from "./dom.js";
import { dayKey, formatDay, formatFull, formatLastSeen, formatListTime, formatTime } from "./format.js";

const NEAR_BOTTOM_PX = 120;
const NEAR_TOP_PX = 150;
const STATUS_LABEL = {
  pending: "Sending",
  failed: "Not sent",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
};
const AVATAR_COLORS = ["#e17076", "#7bc862", "#e5ca77", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];

const $ = (id) => document.getElementById(id);

function colorFor(text) {
  let hash = 0;
  for (const ch of String(text)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return AVATAR_COLORS[hash % AVATAR_COLORS.length];
}

function initials(text) {
  const words = String(text || "?")
    .replace(/[_\-.@]+/g, " ")
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[1][0] : (words[0] || "?").slice(0, 2);
  return letters.toUpperCase();
}

export function fillAvatar(el, text, isGroup = false) {
  clear(el);
  el.style.background = colorFor(text);
  if (isGroup) el.append(icon("group"));
  else el.textContent = initials(text);
  return el;
}

function avatar(text, isGroup = false) {
  return fillAvatar(h("span", { class: "avatar", "aria-hidden": "true" }), text, isGroup);
}

/** Message text with http(s) links made clickable (never innerHTML). */
function richText(text) {
  const parts = String(text).split(/(https?:\/\/[^\s<>"']+)/g);
  return parts.map((part, i) =>
    i % 2 === 1 ? h("a", { href: part, target: "_blank", rel: "noopener noreferrer" }, part) : part,
  );
}

function statusIcon(status) {
  const name = { pending: "clock", failed: "error", sent: "check", delivered: "doubleCheck", read: "doubleCheck" }[
    status
  ];
  return h(
    "span",
    { class: `ticks ticks-${status}`, "data-testid": "message-status", title: STATUS_LABEL[status], role: "img", "aria-label": STATUS_LABEL[status] },
    icon(name),
  );
}

function senderLabel(userId) {
  const el = h("div", { class: "sender" }, userId);
  el.style.color = colorFor(userId);
  return el;
}

function parseIds(text) {
  return [...new Set(String(text).split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean))];
}

export class App {
  constructor({ config, session, connection, onSignOut }) {
    this.config = config;
    this.session = session;
    this.conn = connection;
    this.onSignOut = onSignOut;
    this.client = new ChatClient({ userId: session.userId, deviceId: connection.deviceId, connection });
    this.openId = null;
    this.panel = null; // {kind: "info"|"group"|"contact", conversationId, seq?}
    this.renderQueued = false;
    this.dirtyChat = true;
    this.filter = "";
    this.messageEls = new Map();
    this.renderedConvId = null;
    this.unreadMarker = null; // {conversationId, afterSeq}
    this.pendingOpenId = null;
    this.toastKeys = new Map();
    this.connState = { state: "connecting" };
    this.bannerTimer = null;
    this.listeners = [];
  }

  // ---- setup ---------------------------------------------------------------------------------

  on(target, type, handler, options) {
    target.addEventListener(type, handler, options);
    this.listeners.push(() => target.removeEventListener(type, handler, options));
  }

  start() {
    $("app").hidden = false;
    this.staticIcons();
    const label = this.session.label || this.session.userId;
    $("me-name").textContent = label;
    $("me").title = `Your user id: ${this.session.userId} (click to copy)`;
    fillAvatar($("me-avatar"), label);

    const c = this.client;
    this.on(c, "change", () => this.queueRender());
    this.on(c, "notice", (e) => this.onNotice(e.detail));
    this.on(c, "opened", (e) => this.onDraftOpened(e.detail));
    this.on(c, "receipt", (e) => this.onReceiptFrame(e.detail.frame));
    this.on(c, "synced", () => this.onSynced());
    this.on(this.conn, "status", (e) => this.onConnStatus(e.detail));

    this.on($("btn-new-chat"), "click", () => this.toggleDrawer("new-chat-form"));
    this.on($("btn-new-group"), "click", () => this.toggleDrawer("new-group-form"));
    this.on($("btn-logout"), "click", () => this.signOut());
    this.on($("me"), "click", () => this.copyUserId());
    this.on($("new-chat-form"), "submit", (e) => this.submitNewChat(e));
    this.on($("new-group-form"), "submit", (e) => this.submitNewGroup(e));
    this.on($("search"), "input", () => {
      this.filter = $("search").value.trim().toLowerCase();
      this.renderList();
    });
    this.on($("banner-retry"), "click", () => this.conn.reconnectNow());
    this.on($("btn-back"), "click", () => this.goBack());
    this.on($("chat-heading"), "click", () => this.openDetails());
    this.on($("btn-chat-info"), "click", () => this.openDetails());
    this.on($("panel-close"), "click", () => this.closePanel());
    this.on($("composer"), "submit", (e) => {
      e.preventDefault();
      this.sendComposer();
    });
    const input = $("composer-input");
    this.on(input, "keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.sendComposer();
      }
    });
    this.on(input, "input", () => {
      this.autoGrow();
      if (this.openId) this.client.presence.userTyping(this.openId, input.value.trim().length > 0);
      this.saveDraftText();
    });
    this.on($("messages"), "scroll", () => this.onScroll());
    this.on($("scroll-down"), "click", () => this.scrollToBottom(true));
    this.on(document, "visibilitychange", () => this.updateView());
    this.on(window, "popstate", () => this.fromLocation());
    this.on(window, "keydown", (e) => {
      if (e.key === "Escape") {
        if (this.panel) this.closePanel();
        else if (!$("new-chat-form").hidden || !$("new-group-form").hidden) this.toggleDrawer(null);
      }
    });
    this.drafts = new Map();
    this.fromLocation();
    this.onConnStatus({ state: this.conn.state });
    this.queueRender();
  }

  destroy() {
    for (const off of this.listeners) off();
    this.listeners = [];
    this.client.destroy();
    clearInterval(this.bannerTimer);
    clearTimeout(this.infoPollTimer);
    clearTimeout(this.infoRefreshTimer);
    $("app").hidden = true;
    clear($("conv-list"));
    clear($("message-list"));
    this.messageEls.clear();
  }

  staticIcons() {
    const put = (id, name) => {
      const el = $(id);
      clear(el).append(icon(name));
    };
    put("btn-new-chat", "newChat");
    put("btn-new-group", "group");
    put("btn-logout", "logout");
    put("btn-back", "back");
    put("btn-chat-info", "info");
    put("panel-close", "close");
    put("composer-send", "send");
    const down = $("scroll-down");
    down.prepend(icon("down"));
  }

  // ---- navigation ------------------------------------------------------------------------------

  fromLocation() {
    const match = /^#c\/(.+)$/.exec(location.hash);
    const id = match ? decodeURIComponent(match[1]) : null;
    if (id && !this.client.conversations.get(id)) {
      this.pendingOpenId = id; // known after sync
      this.setOpen(null, { push: false });
      return;
    }
    this.setOpen(id, { push: false });
  }

  open(conversationId) {
    this.setOpen(conversationId, { push: true });
  }

  setOpen(conversationId, { push }) {
    if (conversationId === this.openId) {
      this.updateView();
      return;
    }
    this.saveDraftText();
    this.openId = conversationId;
    if (push) {
      const hash = `#c/${encodeURIComponent(conversationId || "")}`;
      if (history.state && history.state.chat && conversationId) history.replaceState({ chat: true }, "", hash);
      else if (conversationId) history.pushState({ chat: true }, "", hash);
      else history.replaceState(null, "", location.pathname + location.search);
    }
    const conv = conversationId ? this.client.conversations.get(conversationId) : null;
    // The "unread messages" line stays where it was when the chat opened, even when older
    // (also unread) messages are loaded above it later.
    this.unreadMarker =
      conv && this.client.watermarks.unreadCount(conv) > 0
        ? { conversationId, afterSeq: Math.max(conv.myRead, (conv.minSeq || 1) - 1) }
        : null;
    if (this.panel && this.panel.conversationId !== conversationId) this.closePanel();
    this.dirtyChat = true;
    this.updateView();
    this.restoreDraftText();
    this.queueRender();
    if (conv && !window.matchMedia("(pointer: coarse)").matches) {
      requestAnimationFrame(() => $("composer-input").focus({ preventScroll: true }));
    }
  }

  goBack() {
    if (history.state && history.state.chat) history.back();
    else this.setOpen(null, { push: true });
  }

  /** Tell the client what the user can see (read receipts depend on it). */
  updateView() {
    const visible = document.visibilityState === "visible";
    this.client.setView({ openId: this.openId, visible });
    document.body.classList.toggle("chat-open", Boolean(this.openId));
  }

  onDraftOpened({ conversationId, replaced }) {
    if (this.openId === replaced) {
      this.openId = conversationId;
      if (history.state && history.state.chat) {
        history.replaceState({ chat: true }, "", `#c/${encodeURIComponent(conversationId)}`);
      }
      const draftText = this.drafts.get(replaced);
      if (draftText) this.drafts.set(conversationId, draftText);
      this.dirtyChat = true;
      this.updateView();
    }
  }

  onSynced() {
    if (this.pendingOpenId && this.client.conversations.get(this.pendingOpenId)) {
      const id = this.pendingOpenId;
      this.pendingOpenId = null;
      this.setOpen(id, { push: false });
    }
  }

  // ---- drawers: new chat / new group --------------------------------------------------------------

  toggleDrawer(id) {
    for (const formId of ["new-chat-form", "new-group-form"]) {
      const form = $(formId);
      const show = formId === id && form.hidden;
      form.hidden = !show;
      const button = formId === "new-chat-form" ? $("btn-new-chat") : $("btn-new-group");
      button.setAttribute("aria-expanded", String(show));
      button.classList.toggle("active", show);
      if (show) form.querySelector("input").focus();
    }
  }

  submitNewChat(event) {
    event.preventDefault();
    const input = $("new-chat-user");
    const userId = input.value.trim();
    if (!userId) {
      input.focus();
      return;
    }
    if (userId === this.client.me) {
      this.toast("That's you. Enter someone else's user id.", "error");
      return;
    }
    const conv = this.client.conversations.directWith(userId);
    input.value = "";
    this.toggleDrawer(null);
    this.open(conv.id);
    this.queueRender();
  }

  async submitNewGroup(event) {
    event.preventDefault();
    const nameInput = $("new-group-name");
    const membersInput = $("new-group-members");
    const name = nameInput.value.trim();
    const members = parseIds(membersInput.value).filter((m) => m !== this.client.me);
    if (!name) {
      nameInput.focus();
      this.toast("Give the group a name.", "error");
      return;
    }
    const button = event.target.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const frame = await this.client.conversations.createGroup(name, members);
      nameInput.value = "";
      membersInput.value = "";
      this.toggleDrawer(null);
      this.open(frame.conversationId);
    } catch (err) {
      if (!err.code) this.toast(`Could not create the group: ${err.message}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  // ---- composer --------------------------------------------------------------------------------

  autoGrow() {
    const input = $("composer-input");
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }

  saveDraftText() {
    if (this.openId && this.drafts) this.drafts.set(this.openId, $("composer-input").value);
  }

  restoreDraftText() {
    const input = $("composer-input");
    input.value = (this.openId && this.drafts && this.drafts.get(this.openId)) || "";
    this.autoGrow();
  }

  sendComposer() {
    const input = $("composer-input");
    const text = input.value.trim();
    if (!text || !this.openId) return;
    if ([...text].length > 4096) {
      this.toast("Messages can be at most 4096 characters.", "error");
      return;
    }
    const entry = this.client.outbox.add(this.openId, text);
    if (!entry) return;
    input.value = "";
    this.drafts.delete(this.openId);
    this.autoGrow();
    this.stickToBottom = true;
    input.focus();
  }

  // ---- rendering ---------------------------------------------------------------------------------

  queueRender() {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.render();
    });
  }

  render() {
    this.renderList();
    this.renderChat();
    if (this.panel) this.renderPanel();
  }

  renderList() {
    const list = $("conv-list");
    const conversations = this.client.conversations.sorted();
    const items = [];
    for (const conv of conversations) {
      const title = this.client.conversations.title(conv);
      if (this.filter && !title.toLowerCase().includes(this.filter)) continue;
      items.push(this.conversationItem(conv, title));
    }
    clear(list).append(...items);
    $("conv-empty").hidden = conversations.length > 0;
  }

  conversationItem(conv, title) {
    const c = this.client;
    const last = c.conversations.lastMessage(conv);
    const unread = c.watermarks.unreadCount(conv);
    const typers = c.presence.typingUsers(conv);
    let preview;
    let time = conv.activity;
    if (typers.length) {
      const who = conv.kind === "group" ? `${typers[0]} is typing…` : "typing…";
      preview = h("span", { class: "preview-typing", "data-testid": "conversation-typing" }, who);
    } else if (last && last.pending) {
      time = last.pending.createdAt;
      preview = [statusIcon(last.pending.status === "failed" ? "failed" : "pending"), h("span", { class: "preview-text" }, last.pending.text)];
    } else if (last) {
      const msg = last.message;
      time = msg.sentAt;
      const mine = msg.senderId === c.me;
      const prefix = conv.kind === "group" && !mine ? `${msg.senderId}: ` : "";
      preview = [
        mine ? statusIcon(c.watermarks.statusOf(conv, msg.seq)) : null,
        h("span", { class: "preview-text" }, prefix + (msg.body && msg.body.text ? msg.body.text : "")),
      ];
    } else if (conv.draftFor) {
      preview = h("span", { class: "preview-text muted" }, "New chat");
    } else if (conv.kind === "group") {
      preview = h("span", { class: "preview-text muted" }, `${conv.members.length} members`);
    } else {
      preview = h("span", { class: "preview-text muted" }, "");
    }
    const item = h(
      "li",
      {
        class: `conv${conv.id === this.openId ? " active" : ""}${unread ? " unread" : ""}`,
        "data-testid": "conversation-item",
        "data-conversation-id": conv.id,
        "data-kind": conv.kind,
        "data-title": title,
        "data-unread": String(unread),
        tabindex: "0",
        role: "button",
        "aria-current": conv.id === this.openId ? "true" : null,
        onclick: () => this.open(conv.id),
        onkeydown: (e) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            this.open(conv.id);
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
          h("span", { class: "conv-preview", "data-testid": "conversation-preview" }, preview),
          unread ? h("span", { class: "badge", "data-testid": "unread-count", "aria-label": `${unread} unread` }, String(unread > 999 ? "999+" : unread)) : null,
        ),
      ),
    );
    return item;
  }

  renderChat() {
    const conv = this.openId ? this.client.conversations.get(this.openId) : null;
    $("chat-empty").hidden = Boolean(conv);
    $("chat-active").hidden = !conv;
    if (!conv) {
      if (this.renderedConvId) {
        clear($("message-list"));
        this.messageEls.clear();
        this.renderedConvId = null;
      }
      return;
    }
    this.renderHeader(conv);
    $("composer").hidden = conv.left;
    $("composer-disabled").hidden = !conv.left;
    this.renderMessages(conv);
  }

  renderHeader(conv) {
    const c = this.client;
    const title = c.conversations.title(conv);
    $("chat-title").textContent = title;
    fillAvatar($("chat-avatar"), title, conv.kind === "group");
    const typers = c.presence.typingUsers(conv);
    const typingEl = $("chat-typing");
    const presenceEl = $("chat-presence");
    if (typers.length) {
      typingEl.textContent =
        conv.kind === "group"
          ? typers.length === 1
            ? `${typers[0]} is typing…`
            : `${typers.slice(0, 2).join(", ")} are typing…`
          : "typing…";
      typingEl.hidden = false;
    } else {
      typingEl.hidden = true;
      typingEl.textContent = "";
    }
    let presenceText = "";
    let online = false;
    if (conv.kind === "direct") {
      const peer = c.conversations.peerOf(conv);
      const p = peer ? c.presence.get(peer) : null;
      if (p) {
        online = p.online;
        presenceText = p.online ? "online" : formatLastSeen(p.lastSeen);
      } else if (conv.draftFor) {
        presenceText = "new chat";
      }
    } else {
      const others = conv.members.filter((m) => m !== c.me);
      presenceText = conv.left ? "you left this group" : `${["You", ...others].slice(0, 6).join(", ")}${others.length > 5 ? "…" : ""}`;
    }
    presenceEl.textContent = presenceText;
    presenceEl.hidden = typers.length > 0;
    presenceEl.classList.toggle("online", online);
    presenceEl.dataset.online = String(online);
  }

  messageItems(conv) {
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

  itemSignature(item) {
    return JSON.stringify([item.kind, item.text, item.seq, item.status, item.first, item.at, item.error]);
  }

  buildItem(item, conv) {
    if (item.kind === "day") return h("div", { class: "day-sep" }, h("span", {}, item.text));
    if (item.kind === "notice") return h("div", { class: "notice", "data-testid": "notice" }, h("span", {}, item.text));
    if (item.kind === "unread") return h("div", { class: "unread-sep", "data-testid": "unread-separator" }, h("span", {}, item.text));
    const isGroup = conv.kind === "group";
    const bubble = h(
      "div",
      { class: "bubble" },
      isGroup && !item.mine && item.first
        ? senderLabel(item.senderId)
        : null,
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
      const show = () => this.openInfo(conv.id, item.seq);
      el.addEventListener("click", (e) => {
        if (e.target.closest("a")) return;
        show();
      });
      el.addEventListener("keydown", (e) => {
        if (e.key === "Enter") show();
      });
    }
    if (item.status === "failed") {
      el.append(
        h(
          "div",
          { class: "failed-actions" },
          h("span", {}, item.error ? `Not sent: ${item.error}` : "Not sent."),
          h("button", { type: "button", class: "link", "data-testid": "retry-send", onclick: () => this.client.outbox.retry(item.clientMsgId) }, "Retry"),
          h("button", { type: "button", class: "link", onclick: () => this.client.outbox.discard(item.clientMsgId) }, "Delete"),
        ),
      );
    }
    return el;
  }

  renderMessages(conv) {
    const box = $("messages");
    const list = $("message-list");
    const switched = this.renderedConvId !== conv.id || this.dirtyChat;
    if (this.renderedConvId !== conv.id) {
      clear(list);
      this.messageEls.clear();
      this.renderedConvId = conv.id;
    }
    this.dirtyChat = false;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM_PX;
    // The first visible element anchors the scroll position across prepends and re-renders.
    const anchorEl = switched ? null : this.firstVisible(box, list);
    const anchorKey = anchorEl ? anchorEl._key : null;
    const anchorTop = anchorEl ? anchorEl.getBoundingClientRect().top : 0;

    const items = this.messageItems(conv);
    const wanted = new Set(items.map((i) => i.key));
    for (const [key, el] of this.messageEls) {
      if (!wanted.has(key)) {
        el.remove();
        this.messageEls.delete(key);
      }
    }
    let cursor = list.firstElementChild;
    for (const item of items) {
      const sig = this.itemSignature(item);
      let el = this.messageEls.get(item.key);
      if (!el || el._sig !== sig) {
        const fresh = this.buildItem(item, conv);
        fresh._sig = sig;
        fresh._key = item.key;
        if (el) {
          if (cursor === el) cursor = fresh;
          el.replaceWith(fresh);
        }
        el = fresh;
        this.messageEls.set(item.key, el);
      }
      if (el !== cursor) list.insertBefore(el, cursor);
      else cursor = cursor.nextElementSibling;
    }

    // History status line
    const status = $("history-status");
    if (conv.loadingHistory) status.textContent = "Loading older messages…";
    else if (conv.hasMore === false && conv.messages.size) status.textContent = "";
    else status.textContent = "";
    status.classList.toggle("loading", Boolean(conv.loadingHistory));

    // Scroll: new chat -> to the unread marker or bottom; new messages -> follow if the user was
    // at the bottom; otherwise (older messages prepended, a message re-rendered) stay put.
    if (switched) {
      const marker = list.querySelector("[data-testid=unread-separator]");
      if (marker) marker.scrollIntoView({ block: "center" });
      else box.scrollTop = box.scrollHeight;
    } else if (this.stickToBottom || atBottom) {
      box.scrollTop = box.scrollHeight;
    } else if (anchorKey && this.messageEls.has(anchorKey)) {
      box.scrollTop += this.messageEls.get(anchorKey).getBoundingClientRect().top - anchorTop;
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
    const button = $("scroll-down");
    button.hidden = !away;
    const unread = conv ? this.client.watermarks.unreadCount(conv) : 0;
    $("scroll-down-count").textContent = unread ? String(unread) : "";
  }

  onScroll() {
    const conv = this.openId ? this.client.conversations.get(this.openId) : null;
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

  // ---- panels: message info, group info, contact ------------------------------------------------------

  openInfo(conversationId, seq) {
    this.panel = { kind: "info", conversationId, seq, data: null, loading: true, error: null };
    this.showPanel();
    this.refreshInfo();
  }

  async refreshInfo() {
    const panel = this.panel;
    if (!panel || panel.kind !== "info") return;
    // Per-member progress in a group is not pushed (only the all-members "*" watermark is), so
    // the open panel asks again every few seconds.
    clearTimeout(this.infoPollTimer);
    this.infoPollTimer = setTimeout(() => {
      if (this.panel === panel && document.visibilityState === "visible") this.refreshInfo();
      else if (this.panel === panel) this.infoPollTimer = setTimeout(() => this.refreshInfo(), 3000);
    }, 3000);
    try {
      const frame = await this.client.watermarks.messageInfo(panel.conversationId, panel.seq);
      if (this.panel !== panel) return;
      panel.data = frame;
      panel.error = null;
    } catch (err) {
      if (this.panel !== panel) return;
      panel.error = err.message;
    }
    panel.loading = false;
    this.renderPanel();
  }

  onReceiptFrame(frame) {
    if (this.panel && this.panel.kind === "info" && this.panel.conversationId === frame.conversationId) {
      clearTimeout(this.infoRefreshTimer);
      this.infoRefreshTimer = setTimeout(() => this.refreshInfo(), 250);
    }
  }

  openDetails() {
    if (!this.openId) return;
    const conv = this.client.conversations.get(this.openId);
    if (!conv) return;
    this.panel = { kind: conv.kind === "group" ? "group" : "contact", conversationId: conv.id };
    this.showPanel();
  }

  showPanel() {
    $("panel").hidden = false;
    document.body.classList.add("panel-open");
    this.renderPanel();
  }

  closePanel() {
    this.panel = null;
    clearTimeout(this.infoPollTimer);
    clearTimeout(this.infoRefreshTimer);
    $("panel").hidden = true;
    document.body.classList.remove("panel-open");
  }

  renderPanel() {
    const panel = this.panel;
    if (!panel) return;
    const conv = this.client.conversations.get(panel.conversationId);
    const body = $("panel-body");
    const root = $("panel");
    if (!conv) {
      this.closePanel();
      return;
    }
    if (panel.kind === "info") {
      root.dataset.testid = "info-panel";
      $("panel-title").textContent = "Message info";
      clear(body).append(...this.infoContent(conv, panel).filter(Boolean));
    } else if (panel.kind === "group") {
      root.dataset.testid = "group-info";
      $("panel-title").textContent = "Group info";
      // Keep typed text in the add-members field across re-renders.
      const typed = body.querySelector("#add-members-input");
      const value = typed ? typed.value : "";
      const hadFocus = typed && document.activeElement === typed;
      clear(body).append(...this.groupContent(conv).filter(Boolean));
      const input = body.querySelector("#add-members-input");
      if (input) {
        input.value = value;
        if (hadFocus) input.focus();
      }
    } else {
      root.dataset.testid = "contact-info";
      $("panel-title").textContent = "Contact info";
      clear(body).append(...this.contactContent(conv).filter(Boolean));
    }
  }

  infoContent(conv, panel) {
    const c = this.client;
    const msg = conv.messages.get(panel.seq);
    const parts = [];
    if (msg) {
      parts.push(
        h(
          "div",
          { class: "info-preview" },
          h(
            "div",
            { class: "msg mine first" },
            h(
              "div",
              { class: "bubble" },
              h("div", { class: "text" }, richText(msg.body.text || "")),
              h("div", { class: "meta" }, h("time", {}, formatTime(msg.sentAt)), statusIcon(c.watermarks.statusOf(conv, msg.seq))),
            ),
          ),
        ),
      );
    }
    if (panel.loading && !panel.data) parts.push(h("p", { class: "muted pad" }, "Loading…"));
    if (panel.error) parts.push(h("p", { class: "error-text pad" }, `Could not load message info: ${panel.error}`));
    if (panel.data) {
      const members = (panel.data.members || []).filter((m) => m.userId !== c.me);
      const read = members.filter((m) => m.readAt);
      const delivered = members.filter((m) => !m.readAt && m.deliveredAt);
      const waiting = members.filter((m) => !m.readAt && !m.deliveredAt);
      const section = (title, iconName, rows, kind, timeOf) =>
        h(
          "section",
          { class: `info-section info-${kind}`, "data-testid": `info-${kind}` },
          h("h3", {}, h("span", { class: `ticks ticks-${kind === "read" ? "read" : "delivered"}` }, icon(iconName)), title),
          rows.length
            ? h(
                "ul",
                { class: "people" },
                rows.map((m) =>
                  h(
                    "li",
                    { "data-testid": `info-${kind}-row`, "data-user-id": m.userId },
                    avatar(m.userId),
                    h("span", { class: "person-name" }, m.userId),
                    h("time", { class: "muted", title: formatFull(timeOf(m)) }, timeOf(m) ? `${formatDay(timeOf(m))} ${formatTime(timeOf(m))}` : ""),
                  ),
                ),
              )
            : h("p", { class: "muted pad" }, kind === "read" ? "Not read yet" : "—"),
        );
      parts.push(section("Read by", "doubleCheck", read, "read", (m) => m.readAt));
      parts.push(section("Delivered to", "doubleCheck", delivered, "delivered", (m) => m.deliveredAt));
      if (waiting.length) parts.push(section("Not delivered yet", "check", waiting, "pending", () => null));
    }
    return parts;
  }

  groupContent(conv) {
    const c = this.client;
    const admins = conv.admins;
    const iAmAdmin = !admins || admins.includes(c.me); // unknown admins: let the server decide
    const items = conv.members.map((userId) =>
      h(
        "li",
        { "data-testid": "group-member", "data-user-id": userId },
        avatar(userId),
        h("span", { class: "person-name" }, userId === c.me ? `${userId} (you)` : userId),
        admins && admins.includes(userId) ? h("span", { class: "tag" }, "admin") : null,
        iAmAdmin && userId !== c.me && !conv.left
          ? h(
              "button",
              {
                type: "button",
                class: "link danger",
                "data-testid": "remove-member",
                onclick: () => this.run(c.conversations.removeMembers(conv.id, [userId]), "Could not remove member"),
              },
              "Remove",
            )
          : null,
      ),
    );
    const addForm =
      iAmAdmin && !conv.left
        ? h(
            "form",
            {
              class: "add-members",
              novalidate: true,
              onsubmit: (e) => {
                e.preventDefault();
                const input = e.target.querySelector("input");
                const ids = parseIds(input.value).filter((u) => !conv.members.includes(u));
                if (!ids.length) return;
                this.run(c.conversations.addMembers(conv.id, ids), "Could not add members").then((ok) => {
                  if (ok) input.value = "";
                });
              },
            },
            h("label", { for: "add-members-input" }, "Add members"),
            h(
              "div",
              { class: "drawer-row" },
              h("input", { id: "add-members-input", "data-testid": "add-members-input", placeholder: "User ids", autocomplete: "off", autocapitalize: "off", spellcheck: "false" }),
              h("button", { type: "submit", class: "primary", "data-testid": "add-members-submit" }, icon("personAdd"), "Add"),
            ),
          )
        : null;
    return [
      h("div", { class: "panel-hero" }, avatar(conv.name || "Group", true), h("h3", { "data-testid": "group-name" }, conv.name || "Group"), h("p", { class: "muted" }, `Group · ${conv.members.length} members`)),
      addForm,
      h("h4", { class: "panel-sub" }, `${conv.members.length} members`),
      h("ul", { class: "people", "data-testid": "group-members" }, items),
      conv.left
        ? h("p", { class: "muted pad" }, "You are no longer a member of this group.")
        : h(
            "button",
            { type: "button", class: "danger-btn", "data-testid": "leave-group", onclick: () => this.run(c.conversations.leaveGroup(conv.id), "Could not leave the group") },
            "Leave group",
          ),
    ];
  }

  contactContent(conv) {
    const c = this.client;
    const peer = c.conversations.peerOf(conv) || "";
    const p = c.presence.get(peer);
    return [
      h(
        "div",
        { class: "panel-hero" },
        avatar(peer),
        h("h3", {}, peer),
        h("p", { class: "muted" }, p ? (p.online ? "online" : formatLastSeen(p.lastSeen)) : ""),
      ),
      h("p", { class: "muted pad" }, "Messages are delivered to every device this person is signed in on."),
    ];
  }

  async run(promise, failure) {
    try {
      await promise;
      return true;
    } catch (err) {
      if (!err.code) this.toast(`${failure}: ${err.message}`, "error");
      return false;
    }
  }

  // ---- toasts & connection banner ---------------------------------------------------------------

  onNotice({ kind, text, quiet }) {
    if (quiet) {
      console.info(text);
      return;
    }
    this.toast(text, kind);
  }

  toast(text, kind = "info") {
    const now = Date.now();
    const last = this.toastKeys.get(text);
    if (last && now - last < 4000) return;
    this.toastKeys.set(text, now);
    const el = h(
      "div",
      { class: `toast toast-${kind}`, "data-testid": "toast", role: kind === "error" ? "alert" : "status" },
      kind === "error" ? icon("error") : null,
      h("span", {}, text),
      h("button", { type: "button", class: "icon-btn small", "aria-label": "Dismiss", onclick: () => el.remove() }, icon("close")),
    );
    const box = $("toasts");
    box.append(el);
    while (box.children.length > 4) box.firstElementChild.remove();
    setTimeout(() => el.remove(), kind === "error" ? 8000 : 5000);
  }

  onConnStatus(detail) {
    this.connState = detail;
    this.renderConnState();
    clearInterval(this.bannerTimer);
    if (detail.state === "waiting") this.bannerTimer = setInterval(() => this.renderConnState(), 1000);
    if (detail.state === "open") this.hadOpen = true;
    this.queueRender();
  }

  renderConnState() {
    const { state, retryAt, refused, reason } = this.connState;
    const label = $("conn-state");
    const banner = $("banner");
    const text = $("banner-text");
    const seconds = retryAt ? Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) : 0;
    const chatBanner = $("chat-banner");
    label.dataset.state = state;
    if (state === "open") {
      label.textContent = "online";
      banner.hidden = true;
      chatBanner.hidden = true;
      return;
    }
    if (state === "connecting") {
      label.textContent = "connecting…";
      banner.hidden = !this.hadOpen;
      chatBanner.hidden = !this.hadOpen;
      text.textContent = "Reconnecting…";
      $("chat-banner-text").textContent = "Reconnecting…";
      $("banner-retry").hidden = true;
      return;
    }
    label.textContent = "offline";
    banner.hidden = false;
    $("banner-retry").hidden = false;
    const offline = navigator.onLine === false;
    let message;
    if (offline) message = "You're offline. Messages will be sent when the connection is back.";
    else if (refused && reason) message = `Can't connect: ${reason}`;
    else if (refused) message = "Can't connect to the chat server.";
    else message = "Connection lost.";
    text.textContent = `${message} Retrying in ${seconds}s.`;
    banner.classList.toggle("banner-error", Boolean(refused));
    chatBanner.hidden = false;
    $("chat-banner-text").textContent = offline ? "Waiting for network…" : `Not connected. Retrying in ${seconds}s.`;
    chatBanner.classList.toggle("banner-error", Boolean(refused));
  }

  async copyUserId() {
    const id = this.client.me;
    try {
      await navigator.clipboard.writeText(id);
      this.toast(`Your user id ${id} was copied.`);
    } catch {
      this.toast(`Your user id: ${id}`);
    }
  }

  signOut() {
    if (this.client.outbox.size && !confirm("Some messages are not sent yet. Sign out anyway?")) return;
    this.onSignOut();
  }
}
