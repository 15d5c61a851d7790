// Presence and typing. `subscribePresence` covers the people this user shares conversations with
// (direct chats first, at most 100) and is renewed after each reconnect and when they change.
// Typing: `start` at most every 3 s while the user types, `stop` after 4 s idle, on send or on
// leaving the chat; someone else's typing shows for 5 s (kept in `conv.typing`).

const TYPING_SHOW_MS = 5000;
const TYPING_START_EVERY_MS = 3000;
const TYPING_IDLE_STOP_MS = 4000;
const MAX_PRESENCE = 100;
const SUBSCRIBE_DELAY_MS = 300;

export class Presence {
  constructor(chat) {
    this.chat = chat;
    this.users = new Map(); // userId -> {online, lastSeen}
    this.subscribedKey = null; // the set last subscribed on this connection
    this.subscribeTimer = null;
    this.typingOut = new Map(); // conversationId -> {lastStart, idleTimer, active}
  }

  destroy() {
    clearTimeout(this.subscribeTimer);
    for (const state of this.typingOut.values()) clearTimeout(state.idleTimer);
    for (const conv of this.chat.conversations.all()) for (const t of conv.typing.values()) clearTimeout(t.timer);
  }

  /** {online, lastSeen} of userId, or undefined before the server told. */
  get(userId) {
    return this.users.get(userId);
  }

  // ---- presence --------------------------------------------------------------------------------

  onPresence(frame) {
    if (!frame.userId) return;
    this.users.set(frame.userId, { online: Boolean(frame.online), lastSeen: frame.lastSeen || null });
    if (!frame.online) {
      for (const conv of this.chat.conversations.all()) this.clearTyping(conv, frame.userId);
    }
    this.chat.changed();
  }

  contacts() {
    const { conversations, me } = this.chat;
    const direct = [];
    const group = [];
    for (const conv of conversations.sorted()) {
      if (conv.draftFor || conv.left) continue;
      if (conv.kind === "direct") {
        const peer = conversations.peerOf(conv);
        if (peer) direct.push(peer);
      } else {
        group.push(...conv.members);
      }
    }
    const seen = new Set([me]);
    const out = [];
    for (const userId of [...direct, ...group]) {
      if (!seen.has(userId)) {
        seen.add(userId);
        out.push(userId);
      }
    }
    return out.slice(0, MAX_PRESENCE);
  }

  /** A new connection has no subscription: subscribe at once. */
  resubscribe() {
    this.subscribedKey = null;
    this.subscribe(true);
  }

  /** Subscribes to the current contacts if they changed (soon, or now when `immediate`). */
  subscribe(immediate = false) {
    clearTimeout(this.subscribeTimer);
    const run = () => {
      const conn = this.chat.conn;
      if (!conn.isOpen) return;
      const userIds = this.contacts();
      const key = [...userIds].sort().join("\n");
      if (key === this.subscribedKey) return;
      if (!userIds.length && this.subscribedKey === null) return;
      if (this.chat.send({ action: "subscribePresence", userIds, requestId: conn.nextRequestId("ps") })) {
        this.subscribedKey = key;
      }
    };
    if (immediate) run();
    else this.subscribeTimer = setTimeout(run, SUBSCRIBE_DELAY_MS);
  }

  /** A subscribePresence was refused: after `rate_limited`, subscribe again when the server says. */
  failed(frame) {
    if (frame.code !== "rate_limited") return;
    this.subscribedKey = null;
    clearTimeout(this.subscribeTimer);
    const after = Number(frame.retryAfterMs) > 0 ? Number(frame.retryAfterMs) : 1000;
    this.subscribeTimer = setTimeout(() => this.subscribe(true), after);
  }

  // ---- typing, incoming ------------------------------------------------------------------------------

  onTyping(frame) {
    if (!frame.userId || frame.userId === this.chat.me) return;
    const conv = this.chat.conversations.get(frame.conversationId);
    if (!conv) return;
    const previous = conv.typing.get(frame.userId);
    if (previous) clearTimeout(previous.timer);
    if (frame.state === "start") {
      const timer = setTimeout(() => {
        conv.typing.delete(frame.userId);
        this.chat.changed();
      }, TYPING_SHOW_MS);
      conv.typing.set(frame.userId, { until: Date.now() + TYPING_SHOW_MS, timer });
    } else {
      conv.typing.delete(frame.userId);
    }
    this.chat.changed();
  }

  /** userId stopped typing in conv (their message arrived, or they went offline). */
  clearTyping(conv, userId) {
    const typing = conv.typing.get(userId);
    if (typing) {
      clearTimeout(typing.timer);
      conv.typing.delete(userId);
    }
  }

  /** The connection dropped: nobody is known to be typing any more. */
  disconnected() {
    for (const conv of this.chat.conversations.all()) conv.typing.clear();
  }

  typingUsers(conv) {
    const now = Date.now();
    return [...conv.typing.entries()].filter(([, t]) => t.until > now).map(([userId]) => userId);
  }

  // ---- typing, outgoing ------------------------------------------------------------------------------

  /** The user typed in the composer of conversationId. */
  userTyping(conversationId, hasText) {
    const conv = this.chat.conversations.get(conversationId);
    if (!conv || conv.draftFor || conv.left) return;
    if (!hasText) {
      this.stopTyping(conversationId);
      return;
    }
    const state = this.typingOut.get(conversationId) || { lastStart: 0, idleTimer: null, active: false };
    const now = Date.now();
    if (now - state.lastStart >= TYPING_START_EVERY_MS) {
      if (this.chat.send({ action: "typing", conversationId, state: "start" })) {
        state.lastStart = now;
        state.active = true;
      }
    }
    clearTimeout(state.idleTimer);
    state.idleTimer = setTimeout(() => this.stopTyping(conversationId), TYPING_IDLE_STOP_MS);
    this.typingOut.set(conversationId, state);
  }

  stopTyping(conversationId) {
    const state = this.typingOut.get(conversationId);
    if (!state) return;
    clearTimeout(state.idleTimer);
    this.typingOut.delete(conversationId);
    if (state.active) this.chat.send({ action: "typing", conversationId, state: "stop" });
  }
}
