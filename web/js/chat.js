// The chat client's state and protocol logic (no DOM here). See PROTOCOL.md for the frames.
//
// Every conversation keeps its messages by seq. `held` is the highest seq up to which this client
// holds every message from the oldest one it has (the contiguous watermark): it is the sync cursor
// and the seq we acknowledge as delivered / read. Pending messages live in a persisted outbox and
// are re-sent with the same clientMsgId until the server answers `sent`.
//
// Events: "change" {conversationId?}, "notice" {kind, text, code?, quiet?}, "synced",
// "receipts" {frame}, "opened" {conversationId}.

import { randomId } from "./ids.js";

const TYPING_SHOW_MS = 5000;
const TYPING_START_EVERY_MS = 3000;
const TYPING_IDLE_STOP_MS = 4000;
const RESEND_AFTER_MS = 15000;
const REQUEST_TIMEOUT_MS = 15000;
const MAX_PRESENCE = 100;
const RETRYABLE = new Set(["rate_limited", "internal"]);
const SYNC_TIMEOUT_MS = 12000;

const DRAFT_PREFIX = "draft:";

export function isDraftId(id) {
  return typeof id === "string" && id.startsWith(DRAFT_PREFIX);
}

function num(value) {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

function maxTime(a, b) {
  if (!a) return b || null;
  if (!b) return a;
  return a > b ? a : b;
}

/**
 * Receipts in `synced` are watermarks per user (and "*" for groups). Accept the shapes a backend
 * may reasonably choose: {user: {delivered, read}}, {user: {deliveredSeq, readSeq}}, lists of
 * receipt-like {userId, kind, seq, at}, or lists of {userId, delivered, read}.
 */
export function normalizeReceipts(raw) {
  const out = new Map();
  const put = (userId, kind, seq, at) => {
    if (!userId) return;
    const entry = out.get(userId) || { delivered: 0, read: 0, deliveredAt: null, readAt: null };
    if (kind === "read") {
      if (num(seq) >= entry.read) {
        entry.read = num(seq);
        entry.readAt = at || entry.readAt;
      }
    }
    if (kind === "read" || kind === "delivered") {
      if (num(seq) >= entry.delivered) {
        entry.delivered = num(seq);
        if (kind === "delivered" || !entry.deliveredAt) entry.deliveredAt = at || entry.deliveredAt;
      }
    }
    out.set(userId, entry);
  };
  const fromObject = (userId, value) => {
    if (value === null || value === undefined) return;
    if (typeof value === "number") {
      put(userId, "read", value, null);
      return;
    }
    if (value.kind !== undefined && value.seq !== undefined) {
      put(value.userId || userId, value.kind, value.seq, value.at);
      return;
    }
    const pick = (...keys) => keys.map((k) => value[k]).find((v) => v !== undefined && v !== null);
    const delivered = pick("delivered", "deliveredSeq", "delivered_seq");
    const read = pick("read", "readSeq", "read_seq");
    const seqOf = (v) => (typeof v === "object" ? v.seq : v);
    const atOf = (v, ...keys) => (typeof v === "object" && v ? v.at : keys.map((k) => value[k]).find(Boolean));
    if (delivered !== undefined) put(userId, "delivered", seqOf(delivered), atOf(delivered, "deliveredAt", "delivered_at"));
    if (read !== undefined) put(userId, "read", seqOf(read), atOf(read, "readAt", "read_at"));
  };
  if (Array.isArray(raw)) {
    for (const item of raw) if (item && typeof item === "object") fromObject(item.userId, item);
  } else if (raw && typeof raw === "object") {
    for (const [userId, value] of Object.entries(raw)) fromObject(userId, value);
  }
  return out;
}

export class ChatClient extends EventTarget {
  constructor({ userId, deviceId, connection }) {
    super();
    this.me = userId;
    this.deviceId = deviceId;
    this.conn = connection;
    this.conversations = new Map();
    this.presence = new Map();
    this.requests = new Map();
    this.openId = null;
    this.visible = document.visibilityState === "visible";
    this.syncing = false;
    this.syncAgain = false;
    this.syncTimer = null;
    this.syncRetryTimer = null;
    this.syncFailures = 0;
    this.everSynced = false;
    this.syncedOnce = false; // since the current connection opened
    this.presenceKey = null;
    this.typingOut = new Map(); // conversationId -> {lastStart, idleTimer}
    this.ackTimer = null;
    this.presenceTimer = null;
    this.storagePrefix = `chat.u.${userId}.`;
    this.outbox = this.load("outbox", []).filter((e) => e && e.clientMsgId && e.text);
    this.readMarks = this.load("read", {});
    for (const entry of this.outbox) if (entry.status === "sending") entry.status = "pending";
    for (const entry of this.outbox) {
      if (entry.to && !entry.conversationId) this.ensureDraft(entry.to);
    }
    this.onFrame = (e) => this.handleFrame(e.detail.frame);
    this.onOpen = () => this.connected();
    this.onClose = () => this.disconnected();
    this.conn.addEventListener("frame", this.onFrame);
    this.conn.addEventListener("open", this.onOpen);
    this.conn.addEventListener("close", this.onClose);
    this.resendTimer = setInterval(() => this.resendStale(), 5000);
  }

  destroy() {
    this.conn.removeEventListener("frame", this.onFrame);
    this.conn.removeEventListener("open", this.onOpen);
    this.conn.removeEventListener("close", this.onClose);
    clearInterval(this.resendTimer);
    clearTimeout(this.syncTimer);
    clearTimeout(this.syncRetryTimer);
    clearTimeout(this.ackTimer);
    clearTimeout(this.presenceTimer);
    for (const state of this.typingOut.values()) clearTimeout(state.idleTimer);
    for (const conv of this.conversations.values()) for (const t of conv.typing.values()) clearTimeout(t.timer);
    for (const req of this.requests.values()) clearTimeout(req.timer);
  }

  // ---- persistence -----------------------------------------------------------------------------

  load(key, fallback) {
    try {
      const raw = localStorage.getItem(this.storagePrefix + key);
      return raw ? JSON.parse(raw) : fallback;
    } catch {
      return fallback;
    }
  }

  save(key, value) {
    try {
      localStorage.setItem(this.storagePrefix + key, JSON.stringify(value));
    } catch {
      /* storage full or disabled: state lives in memory only */
    }
  }

  saveOutbox() {
    this.save(
      "outbox",
      this.outbox.map(({ clientMsgId, conversationId, to, text, createdAt, status, error }) => ({
        clientMsgId,
        conversationId,
        to,
        text,
        createdAt,
        status,
        error,
      })),
    );
  }

  // ---- events ----------------------------------------------------------------------------------

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  changed(conversationId = null) {
    this.emit("change", { conversationId });
  }

  notice(kind, text, extra = {}) {
    this.emit("notice", { kind, text, ...extra });
  }

  // ---- conversations -----------------------------------------------------------------------------

  newConversation(id, props = {}) {
    return {
      id,
      kind: props.kind || "direct",
      name: props.name || null,
      members: props.members || [],
      admins: props.admins || null,
      lastSeq: 0,
      messages: new Map(),
      minSeq: 0,
      held: 0,
      hasMore: null, // null: unknown, ask history when needed
      loadingHistory: false,
      watermarks: new Map(),
      myDelivered: 0,
      myRead: num(this.readMarks[id]),
      deliveredSent: 0,
      readSent: 0,
      typing: new Map(),
      notices: [],
      left: false,
      known: Boolean(props.known),
      activity: props.activity || null,
      draftFor: props.draftFor || null,
    };
  }

  conversation(id) {
    return this.conversations.get(id) || null;
  }

  ensureConversation(id, props = {}) {
    let conv = this.conversations.get(id);
    if (!conv) {
      conv = this.newConversation(id, props);
      this.conversations.set(id, conv);
    }
    return conv;
  }

  ensureDraft(userId) {
    return this.ensureConversation(DRAFT_PREFIX + userId, {
      kind: "direct",
      members: [this.me, userId],
      draftFor: userId,
      known: true,
      activity: new Date().toISOString(),
    });
  }

  /** The direct conversation with userId, or a draft that becomes real on the first `sent`. */
  directWith(userId) {
    for (const conv of this.conversations.values()) {
      if (conv.kind === "direct" && !conv.draftFor && conv.members.includes(userId) && userId !== this.me) {
        return conv;
      }
    }
    return this.ensureDraft(userId);
  }

  peerOf(conv) {
    if (!conv || conv.kind !== "direct") return null;
    if (conv.draftFor) return conv.draftFor;
    const other = conv.members.find((m) => m !== this.me);
    if (other) return other;
    for (const msg of conv.messages.values()) if (msg.senderId !== this.me) return msg.senderId;
    for (const userId of conv.watermarks.keys()) if (userId !== this.me && userId !== "*") return userId;
    return null;
  }

  title(conv) {
    if (!conv) return "";
    if (conv.kind === "group") return conv.name || "Group";
    return this.peerOf(conv) || conv.name || "Chat";
  }

  sortedMessages(conv) {
    return [...conv.messages.values()].sort((a, b) => a.seq - b.seq);
  }

  pendingFor(conv) {
    return this.outbox.filter((e) =>
      conv.draftFor ? e.to === conv.draftFor && !e.conversationId : e.conversationId === conv.id,
    );
  }

  lastMessage(conv) {
    const pending = this.pendingFor(conv);
    if (pending.length) return { pending: pending[pending.length - 1] };
    let best = null;
    for (const msg of conv.messages.values()) if (!best || msg.seq > best.seq) best = msg;
    return best ? { message: best } : null;
  }

  unreadCount(conv) {
    if (conv.draftFor) return 0;
    let count = 0;
    for (const msg of conv.messages.values()) if (msg.senderId !== this.me && msg.seq > conv.myRead) count += 1;
    return count;
  }

  /** "pending" | "failed" | "sent" | "delivered" | "read" for one of my messages. */
  statusOf(conv, seq) {
    let mark = null;
    if (conv.kind === "group") {
      mark = conv.watermarks.get("*");
    } else {
      const peer = this.peerOf(conv);
      mark = peer ? conv.watermarks.get(peer) : null;
    }
    if (mark && mark.read >= seq) return "read";
    if (mark && mark.delivered >= seq) return "delivered";
    return "sent";
  }

  sortedConversations() {
    const list = [...this.conversations.values()].filter((c) => c.known || c.messages.size || c.draftFor);
    const key = (c) => {
      const last = this.lastMessage(c);
      const at = last ? (last.pending ? last.pending.createdAt : last.message.sentAt) : null;
      return maxTime(at, c.activity) || "";
    };
    return list.sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
  }

  typingUsers(conv) {
    const now = Date.now();
    return [...conv.typing.entries()].filter(([, t]) => t.until > now).map(([userId]) => userId);
  }

  // ---- connection lifecycle ------------------------------------------------------------------

  connected() {
    this.syncedOnce = false;
    this.presenceKey = null; // a new connection has no subscription
    this.deliveredResetOnReconnect();
    this.flushOutbox();
    this.syncing = false;
    this.sync();
    this.updatePresenceSubscription(true); // contacts known so far; refreshed after `synced`
    this.changed();
  }

  disconnected() {
    clearTimeout(this.syncTimer);
    clearTimeout(this.syncRetryTimer);
    this.syncing = false;
    this.syncAgain = false;
    for (const entry of this.outbox) if (entry.status === "sending") entry.status = "pending";
    for (const req of this.requests.values()) {
      if (req.action === "history") {
        const conv = this.conversation(req.conversationId);
        if (conv) conv.loadingHistory = false;
      }
    }
    for (const conv of this.conversations.values()) conv.typing.clear();
    this.changed();
  }

  deliveredResetOnReconnect() {
    // Acks that were in flight when the socket dropped may be lost: allow sending them again.
    for (const conv of this.conversations.values()) {
      conv.deliveredSent = conv.myDelivered;
      conv.readSent = conv.myRead;
    }
  }

  send(frame) {
    return this.conn.send(frame);
  }

  request(frame, extra = {}) {
    const requestId = this.conn.nextRequestId();
    const framed = { ...frame, requestId };
    return new Promise((resolve, reject) => {
      if (!this.send(framed)) {
        reject(new Error("You're offline. Try again when the connection is back."));
        return;
      }
      const timer = setTimeout(() => {
        this.requests.delete(requestId);
        reject(new Error("The server did not answer in time."));
      }, REQUEST_TIMEOUT_MS);
      this.requests.set(requestId, { action: frame.action, resolve, reject, timer, ...extra });
    });
  }

  settle(requestId, ok, value) {
    const req = requestId && this.requests.get(requestId);
    if (!req) return null;
    this.requests.delete(requestId);
    clearTimeout(req.timer);
    (ok ? req.resolve : req.reject)(value);
    return req;
  }

  // ---- sync ------------------------------------------------------------------------------------

  cursors() {
    const cursors = {};
    for (const conv of this.conversations.values()) {
      if (conv.draftFor || conv.left) continue;
      if (conv.held > 0) cursors[conv.id] = conv.held;
    }
    return cursors;
  }

  sync() {
    if (!this.conn.isOpen) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    this.syncAgain = false;
    clearTimeout(this.syncRetryTimer);
    const requestId = this.conn.nextRequestId("s");
    this.syncRequestId = requestId;
    if (!this.send({ action: "sync", cursors: this.cursors(), requestId })) {
      this.syncing = false;
      return;
    }
    // No `synced` in time (a lost frame, a failed handler): try again, backing off.
    clearTimeout(this.syncTimer);
    this.syncTimer = setTimeout(() => {
      if (this.syncing && this.syncRequestId === requestId) {
        this.syncing = false;
        this.retrySyncLater();
      }
    }, SYNC_TIMEOUT_MS);
  }

  retrySyncLater() {
    clearTimeout(this.syncRetryTimer);
    const delay = Math.min(60000, 2000 * 2 ** Math.min(this.syncFailures, 5)) * (0.75 + Math.random() * 0.5);
    this.syncFailures += 1;
    this.syncRetryTimer = setTimeout(() => this.sync(), delay);
  }

  onSynced(frame) {
    clearTimeout(this.syncTimer);
    this.syncFailures = 0;
    for (const item of frame.conversations || []) this.applyConversationInfo(item);
    for (const conv of this.conversations.values()) this.recomputeHeld(conv);
    this.syncing = false;
    if (frame.complete === false || this.syncAgain) {
      this.sync();
    } else {
      this.syncedOnce = true;
      this.everSynced = true;
      this.updatePresenceSubscription(true);
      this.emit("synced");
    }
    this.scheduleAck();
    this.changed();
  }

  applyConversationInfo(item) {
    const id = item.conversationId;
    if (!id) return;
    const conv = this.ensureConversation(id);
    const hadMessages = conv.messages.size > 0;
    conv.known = true;
    if (item.kind) conv.kind = item.kind;
    if (item.name !== undefined && item.name !== null) conv.name = item.name;
    if (Array.isArray(item.members)) conv.members = item.members;
    if (Array.isArray(item.admins)) conv.admins = item.admins;
    if (conv.kind === "direct" && conv.members.length && !conv.members.includes(this.me)) {
      /* some backends list only the peer; nothing to do */
    }
    conv.lastSeq = Math.max(conv.lastSeq, num(item.lastSeq));
    if (item.firstSeqSent !== undefined && item.firstSeqSent !== null && !hadMessages) {
      if (num(item.firstSeqSent) <= 1) conv.hasMore = false;
    }
    if (conv.lastSeq === 0) conv.hasMore = false;
    if (item.receipts) this.applyWatermarks(conv, normalizeReceipts(item.receipts));
    if (Array.isArray(conv.members) && conv.members.length && conv.kind === "group") {
      conv.left = !conv.members.includes(this.me);
    }
    for (const key of ["createdAt", "updatedAt", "lastSentAt", "lastMessageAt"]) {
      if (item[key]) conv.activity = maxTime(conv.activity, item[key]);
    }
  }

  applyWatermarks(conv, marks) {
    for (const [userId, mark] of marks) {
      this.moveWatermark(conv, userId, "delivered", mark.delivered, mark.deliveredAt);
      this.moveWatermark(conv, userId, "read", mark.read, mark.readAt);
    }
  }

  moveWatermark(conv, userId, kind, seq, at) {
    seq = num(seq);
    const mark = conv.watermarks.get(userId) || { delivered: 0, read: 0, deliveredAt: null, readAt: null };
    if (kind === "read" && seq > mark.read) {
      mark.read = seq;
      mark.readAt = at || mark.readAt;
    }
    if ((kind === "read" || kind === "delivered") && seq > mark.delivered) {
      mark.delivered = seq;
      mark.deliveredAt = at || mark.deliveredAt;
    }
    conv.watermarks.set(userId, mark);
    if (userId === this.me) {
      conv.myDelivered = Math.max(conv.myDelivered, mark.delivered);
      this.setMyRead(conv, mark.read);
    }
  }

  setMyRead(conv, seq) {
    if (seq <= conv.myRead) return;
    conv.myRead = seq;
    conv.myDelivered = Math.max(conv.myDelivered, seq);
    this.readMarks[conv.id] = seq;
    this.save("read", this.readMarks);
  }

  recomputeHeld(conv) {
    if (!conv.messages.size) return;
    let minSeq = Infinity;
    for (const seq of conv.messages.keys()) if (seq < minSeq) minSeq = seq;
    conv.minSeq = minSeq;
    let held = Math.max(conv.held, minSeq - 1);
    while (conv.messages.has(held + 1)) held += 1;
    conv.held = held;
    conv.lastSeq = Math.max(conv.lastSeq, held);
    if (minSeq <= 1) conv.hasMore = false;
  }

  // ---- incoming frames -----------------------------------------------------------------------------

  handleFrame(frame) {
    if (!frame || typeof frame !== "object") return;
    switch (frame.type) {
      case "message":
        this.onMessage(frame, true);
        break;
      case "sent":
        this.onSent(frame);
        break;
      case "receipt":
        this.onReceipt(frame);
        break;
      case "presence":
        this.onPresence(frame);
        break;
      case "typing":
        this.onTyping(frame);
        break;
      case "group":
        this.onGroup(frame);
        break;
      case "synced":
        this.onSynced(frame);
        break;
      case "history":
        this.onHistory(frame);
        break;
      case "receipts":
        this.settle(frame.requestId, true, frame);
        this.emit("receipts", { frame });
        break;
      case "pong":
        this.settle(frame.requestId, true, frame);
        break;
      case "error":
        this.onError(frame);
        break;
      default:
        if (!frame.type && typeof frame.message === "string") {
          // API Gateway's own answer when a route's function failed: {"message": "Internal
          // server error", "connectionId", "requestId"} (its request id, not ours).
          console.warn("server-side failure", frame);
          this.notice("error", "The server failed to handle a request (internal server error).", { code: "gateway" });
        } else {
          console.debug("ignoring frame", frame);
        }
    }
  }

  /** Stores a message; returns true when it was new. `live` frames are checked for seq jumps. */
  storeMessage(msg, live) {
    const id = msg.conversationId;
    const seq = num(msg.seq);
    if (!id || seq < 1) return false;
    let conv = this.conversations.get(id);
    const unknown = !conv || !conv.known;
    conv = this.ensureConversation(id);
    if (msg.senderId === this.me) this.resolveOutbox(msg.clientMsgId, conv);
    if (conv.messages.has(seq)) return false;
    if (live) {
      const hadMessages = conv.messages.size > 0;
      const jump = hadMessages ? seq > conv.held + 1 : conv.lastSeq > 0 && seq > conv.lastSeq + 1;
      if (jump || unknown) this.sync();
    }
    conv.messages.set(seq, {
      conversationId: id,
      seq,
      senderId: msg.senderId,
      senderDeviceId: msg.senderDeviceId,
      clientMsgId: msg.clientMsgId,
      body: msg.body || {},
      sentAt: msg.sentAt,
    });
    if (msg.senderId === this.me) {
      // Sending moves the sender's own watermarks.
      conv.myDelivered = Math.max(conv.myDelivered, seq);
      if (seq > conv.myRead) this.setMyRead(conv, seq);
    } else {
      const typing = conv.typing.get(msg.senderId);
      if (typing) {
        clearTimeout(typing.timer);
        conv.typing.delete(msg.senderId);
      }
    }
    conv.activity = maxTime(conv.activity, msg.sentAt);
    this.recomputeHeld(conv);
    return true;
  }

  onMessage(frame, live) {
    if (this.storeMessage(frame, live)) {
      this.scheduleAck();
      this.changed(frame.conversationId);
    }
  }

  onHistory(frame) {
    const conv = this.ensureConversation(frame.conversationId);
    for (const msg of frame.messages || []) this.storeMessage({ ...msg, conversationId: frame.conversationId }, false);
    conv.hasMore = Boolean(frame.hasMore);
    conv.loadingHistory = false;
    this.settle(frame.requestId, true, frame);
    this.changed(conv.id);
  }

  onReceipt(frame) {
    const conv = this.conversation(frame.conversationId);
    if (!conv) return;
    this.moveWatermark(conv, frame.userId, frame.kind, frame.seq, frame.at);
    this.emit("receipt", { frame });
    this.changed(conv.id);
  }

  onPresence(frame) {
    if (!frame.userId) return;
    this.presence.set(frame.userId, { online: Boolean(frame.online), lastSeen: frame.lastSeen || null });
    if (!frame.online) {
      for (const conv of this.conversations.values()) {
        const t = conv.typing.get(frame.userId);
        if (t) {
          clearTimeout(t.timer);
          conv.typing.delete(frame.userId);
        }
      }
    }
    this.changed();
  }

  onTyping(frame) {
    if (!frame.userId || frame.userId === this.me) return;
    const conv = this.conversation(frame.conversationId);
    if (!conv) return;
    const previous = conv.typing.get(frame.userId);
    if (previous) clearTimeout(previous.timer);
    if (frame.state === "start") {
      const timer = setTimeout(() => {
        conv.typing.delete(frame.userId);
        this.changed(conv.id);
      }, TYPING_SHOW_MS);
      conv.typing.set(frame.userId, { until: Date.now() + TYPING_SHOW_MS, timer });
    } else {
      conv.typing.delete(frame.userId);
    }
    this.changed(conv.id);
  }

  onGroup(frame) {
    const conv = this.ensureConversation(frame.conversationId, { kind: "group" });
    const before = new Set(conv.members);
    conv.known = true;
    conv.kind = "group";
    if (frame.name) conv.name = frame.name;
    if (Array.isArray(frame.members)) conv.members = frame.members;
    if (Array.isArray(frame.admins)) conv.admins = frame.admins;
    const stillMember = conv.members.includes(this.me);
    conv.left = !stillMember;
    conv.activity = maxTime(conv.activity, new Date().toISOString());
    const by = frame.by === this.me ? "You" : frame.by || "Someone";
    const names = (ids) => ids.map((u) => (u === this.me ? "you" : u)).join(", ");
    let text = null;
    if (frame.change === "created") text = `${by} created the group "${conv.name || ""}"`;
    else if (frame.change === "membersAdded") {
      const added = conv.members.filter((m) => !before.has(m));
      text = `${by} added ${names(added.length ? added : ["members"])}`;
    } else if (frame.change === "membersRemoved") {
      const removed = [...before].filter((m) => !conv.members.includes(m));
      text = `${by} removed ${names(removed.length ? removed : stillMember ? ["members"] : [this.me])}`;
    } else if (frame.change === "left") {
      text = `${frame.by === this.me ? "You" : frame.by} left`;
    }
    if (text) conv.notices.push({ afterSeq: conv.lastSeq, text, at: new Date().toISOString() });
    // Match a pending createGroup / addMembers request (requestId if echoed, else by content).
    if (!this.settle(frame.requestId, true, frame)) {
      for (const [requestId, req] of this.requests) {
        const match =
          (req.action === "createGroup" && frame.change === "created" && frame.by === this.me && req.name === frame.name) ||
          (req.action === "addMembers" && frame.change === "membersAdded" && req.conversationId === frame.conversationId) ||
          (req.action === "leaveGroup" && frame.change === "left" && req.conversationId === frame.conversationId) ||
          (req.action === "removeMembers" && frame.change === "membersRemoved" && req.conversationId === frame.conversationId);
        if (match) {
          this.settle(requestId, true, frame);
          break;
        }
      }
    }
    this.updatePresenceSubscription();
    this.changed(conv.id);
  }

  onError(frame) {
    const req = this.requests.get(frame.requestId);
    const action = frame.action || (req && req.action) || null;
    let quiet = action === "typing" || action === "ping";
    if (action === "subscribePresence" && frame.code === "forbidden") quiet = true;
    if (frame.clientMsgId) {
      const entry = this.outbox.find((e) => e.clientMsgId === frame.clientMsgId);
      if (entry) {
        if (RETRYABLE.has(frame.code)) {
          entry.status = "pending";
          entry.lastAttempt = Date.now(); // resendStale tries again later
        } else {
          entry.status = "failed";
          entry.error = frame.message || frame.code;
          this.saveOutbox();
        }
        this.changed(entry.conversationId || (entry.to && DRAFT_PREFIX + entry.to));
      }
    }
    if (action === "sync") {
      clearTimeout(this.syncTimer);
      this.syncing = false;
      this.retrySyncLater();
    }
    if (action === "history") {
      const conv = this.conversation(req ? req.conversationId : frame.conversationId);
      if (conv) {
        conv.loadingHistory = false;
        if (frame.code === "forbidden" || frame.code === "not_found") conv.hasMore = false;
      }
    }
    const err = new Error(frame.message || frame.code);
    err.code = frame.code;
    this.settle(frame.requestId, false, err);
    this.notice("error", humanError(frame, action), { code: frame.code, action, quiet });
  }

  // ---- outgoing ------------------------------------------------------------------------------------

  sendText(conversationId, text) {
    const conv = this.conversation(conversationId);
    if (!conv || conv.left) return null;
    const entry = {
      clientMsgId: randomId(22),
      conversationId: conv.draftFor ? null : conv.id,
      to: conv.draftFor || null,
      text,
      createdAt: new Date().toISOString(),
      status: "pending",
      lastAttempt: 0,
    };
    this.outbox.push(entry);
    this.saveOutbox();
    this.stopTyping(conv.id);
    this.transmit(entry);
    this.changed(conv.id);
    return entry;
  }

  transmit(entry) {
    if (entry.status === "failed") return;
    const frame = { action: "send", clientMsgId: entry.clientMsgId, body: { text: entry.text } };
    if (entry.conversationId) frame.conversationId = entry.conversationId;
    else frame.to = entry.to;
    entry.lastAttempt = Date.now();
    if (this.send(frame)) entry.status = "sending";
  }

  flushOutbox() {
    for (const entry of this.outbox) if (entry.status !== "failed") this.transmit(entry);
  }

  resendStale() {
    if (!this.conn.isOpen) return;
    const now = Date.now();
    for (const entry of this.outbox) {
      if (entry.status !== "failed" && now - (entry.lastAttempt || 0) > RESEND_AFTER_MS) this.transmit(entry);
    }
  }

  retry(clientMsgId) {
    const entry = this.outbox.find((e) => e.clientMsgId === clientMsgId);
    if (!entry) return;
    entry.status = "pending";
    entry.error = null;
    this.saveOutbox();
    this.transmit(entry);
    this.changed();
  }

  discard(clientMsgId) {
    this.outbox = this.outbox.filter((e) => e.clientMsgId !== clientMsgId);
    this.saveOutbox();
    this.changed();
  }

  resolveOutbox(clientMsgId, conv) {
    const index = this.outbox.findIndex((e) => e.clientMsgId === clientMsgId);
    if (index < 0) return null;
    const [entry] = this.outbox.splice(index, 1);
    if (entry.to && !entry.conversationId) this.promoteDraft(entry.to, conv);
    this.saveOutbox();
    return entry;
  }

  /** The first `sent` of a new direct chat names its conversation: the draft becomes real. */
  promoteDraft(userId, conv) {
    const draftId = DRAFT_PREFIX + userId;
    const draft = this.conversations.get(draftId);
    conv.known = true;
    conv.kind = "direct";
    if (!conv.members.length) conv.members = [this.me, userId];
    for (const e of this.outbox) if (e.to === userId && !e.conversationId) e.conversationId = conv.id;
    if (draft) {
      conv.activity = maxTime(conv.activity, draft.activity);
      this.conversations.delete(draftId);
    }
    if (this.openId === draftId) {
      this.openId = conv.id;
      this.emit("opened", { conversationId: conv.id, replaced: draftId });
    }
    this.updatePresenceSubscription();
  }

  onSent(frame) {
    const conv = this.ensureConversation(frame.conversationId);
    const entry = this.outbox.find((e) => e.clientMsgId === frame.clientMsgId);
    const text = entry ? entry.text : null;
    if (entry) this.resolveOutbox(frame.clientMsgId, conv);
    conv.known = true;
    const seq = num(frame.seq);
    if (!conv.messages.has(seq) && text !== null) {
      const jump = conv.messages.size > 0 && seq > conv.held + 1;
      conv.messages.set(seq, {
        conversationId: conv.id,
        seq,
        senderId: this.me,
        senderDeviceId: this.deviceId,
        clientMsgId: frame.clientMsgId,
        body: { text },
        sentAt: frame.sentAt,
      });
      conv.activity = maxTime(conv.activity, frame.sentAt);
      this.recomputeHeld(conv);
      if (jump) this.sync();
    }
    conv.myDelivered = Math.max(conv.myDelivered, seq);
    if (seq > conv.myRead) this.setMyRead(conv, seq);
    this.changed(conv.id);
  }

  // ---- acknowledgements ----------------------------------------------------------------------------

  /** Called by the UI when the open conversation or the page visibility changes. */
  setView({ openId, visible }) {
    if (openId !== undefined) {
      if (this.openId && this.openId !== openId) this.stopTyping(this.openId);
      this.openId = openId;
    }
    if (visible !== undefined) this.visible = visible;
    this.scheduleAck();
  }

  scheduleAck() {
    clearTimeout(this.ackTimer);
    this.ackTimer = setTimeout(() => this.sendAcks(), 150);
  }

  sendAcks() {
    if (!this.conn.isOpen) return;
    let changed = false;
    for (const conv of this.conversations.values()) {
      if (conv.draftFor || conv.left || conv.held < 1) continue;
      const seq = conv.held;
      const reading = conv.id === this.openId && this.visible;
      if (reading && seq > Math.max(conv.myRead, conv.readSent)) {
        if (this.send({ action: "read", conversationId: conv.id, seq })) {
          conv.readSent = seq;
          conv.deliveredSent = Math.max(conv.deliveredSent, seq);
          this.setMyRead(conv, seq);
          changed = true;
        }
      } else if (seq > Math.max(conv.myDelivered, conv.deliveredSent)) {
        if (this.send({ action: "delivered", conversationId: conv.id, seq })) conv.deliveredSent = seq;
      }
    }
    if (changed) this.changed();
  }

  // ---- presence & typing -------------------------------------------------------------------------

  contacts() {
    const direct = [];
    const group = [];
    for (const conv of this.sortedConversations()) {
      if (conv.draftFor || conv.left) continue;
      if (conv.kind === "direct") {
        const peer = this.peerOf(conv);
        if (peer) direct.push(peer);
      } else {
        group.push(...conv.members);
      }
    }
    const seen = new Set([this.me]);
    const out = [];
    for (const userId of [...direct, ...group]) {
      if (!seen.has(userId)) {
        seen.add(userId);
        out.push(userId);
      }
    }
    return out.slice(0, MAX_PRESENCE);
  }

  updatePresenceSubscription(immediate = false) {
    clearTimeout(this.presenceTimer);
    const run = () => {
      if (!this.conn.isOpen) return;
      const userIds = this.contacts();
      const key = [...userIds].sort().join("\n");
      if (key === this.presenceKey) return;
      if (!userIds.length && this.presenceKey === null) return;
      if (this.send({ action: "subscribePresence", userIds, requestId: this.conn.nextRequestId("ps") })) {
        this.presenceKey = key;
      }
    };
    if (immediate) run();
    else this.presenceTimer = setTimeout(run, 300);
  }

  /** The user typed in the composer of conversationId. */
  userTyping(conversationId, hasText) {
    const conv = this.conversation(conversationId);
    if (!conv || conv.draftFor || conv.left) return;
    if (!hasText) {
      this.stopTyping(conversationId);
      return;
    }
    const state = this.typingOut.get(conversationId) || { lastStart: 0, idleTimer: null, active: false };
    const now = Date.now();
    if (now - state.lastStart >= TYPING_START_EVERY_MS) {
      if (this.send({ action: "typing", conversationId, state: "start" })) {
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
    if (state.active) this.send({ action: "typing", conversationId, state: "stop" });
  }

  // ---- requests ------------------------------------------------------------------------------------

  loadHistory(conversationId) {
    const conv = this.conversation(conversationId);
    if (!conv || conv.draftFor || conv.loadingHistory || conv.hasMore === false) return null;
    if (conv.historyRetryAt && Date.now() < conv.historyRetryAt) return null;
    if (!conv.messages.size && conv.lastSeq === 0) return null;
    conv.loadingHistory = true;
    const frame = { action: "history", conversationId, limit: 50 };
    if (conv.messages.size) frame.beforeSeq = conv.minSeq;
    const promise = this.request(frame, { conversationId }).catch((err) => {
      conv.loadingHistory = false;
      conv.historyRetryAt = Date.now() + 5000; // no request storm while the server says no
      this.changed(conversationId);
      throw err;
    });
    this.changed(conversationId);
    return promise;
  }

  messageReceipts(conversationId, seq) {
    return this.request({ action: "receipts", conversationId, seq }, { conversationId });
  }

  createGroup(name, members) {
    return this.request({ action: "createGroup", name, members }, { name });
  }

  addMembers(conversationId, userIds) {
    return this.request({ action: "addMembers", conversationId, userIds }, { conversationId });
  }

  removeMembers(conversationId, userIds) {
    return this.request({ action: "removeMembers", conversationId, userIds }, { conversationId });
  }

  leaveGroup(conversationId) {
    return this.request({ action: "leaveGroup", conversationId }, { conversationId });
  }
}

const ERROR_TEXT = {
  bad_request: "The server could not understand that request.",
  unknown_action: "The server does not support that yet.",
  too_large: "That message is too long to send.",
  not_found: "That conversation or user does not exist.",
  forbidden: "You are not allowed to do that.",
  limit_exceeded: "That goes over a limit (group size or list length).",
  rate_limited: "Slow down a little: too many requests. Retrying shortly.",
  internal: "Something went wrong on the server. Retrying shortly.",
};

export function humanError(frame, action) {
  const generic = ERROR_TEXT[frame.code] || "Something went wrong.";
  const what = {
    send: "Message not sent",
    createGroup: "Could not create the group",
    addMembers: "Could not add members",
    removeMembers: "Could not remove members",
    leaveGroup: "Could not leave the group",
    history: "Could not load older messages",
    receipts: "Could not load message info",
    sync: "Could not sync",
    subscribePresence: "Could not follow online status",
    read: "Could not mark as read",
    delivered: "Could not mark as delivered",
  }[action];
  const detail = frame.message && frame.message !== frame.code ? frame.message : generic;
  return what ? `${what}: ${detail}` : detail;
}
