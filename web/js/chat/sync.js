// Keeping every conversation's messages complete: the sync cursors, de-duplication by
// (conversationId, seq), gap detection, and older messages from `history`.
//
// `held` is the highest seq up to which this client holds every message from the oldest one it
// has (the contiguous watermark): it is the sync cursor and the seq acknowledged as delivered / read.
// On every (re)connect the client sends `sync` with its cursors and repeats it while `complete` is
// false; a live message that skips a seq (or names an unknown conversation) triggers another one.
// Each `sync` also sends the `syncToken` of the last `synced` as `since`, so only the conversations
// that changed since are listed. The token lives as long as the conversations it describes (this
// page): a reload starts again with "" and gets every conversation.

import { messageFields } from "./changes.js";
import { maxTime, num } from "./conversations.js";

const SYNC_TIMEOUT_MS = 12000;
const HISTORY_PAGE = 50;
const HISTORY_RETRY_AFTER_MS = 5000;

/** A copy of a held message (same change) whose attachment URL is newer: held takes that URL. */
function freshUrl(held, msg) {
  const a = msg.attachment;
  const b = held.attachment;
  if (msg.deleted || !a || !a.url || !b || a.attachmentId !== b.attachmentId || a.url === b.url) return false;
  if (b.url && Date.parse(a.urlExpiresAt || "") <= Date.parse(b.urlExpiresAt || "")) return false;
  held.attachment = { ...a };
  return true;
}

export class Sync {
  constructor(chat) {
    this.chat = chat;
    this.syncing = false;
    this.again = false; // another sync was asked for while one was running
    this.requestId = null;
    this.timer = null; // no `synced` in time
    this.retryTimer = null;
    this.failures = 0;
    this.token = ""; // the last `synced`'s syncToken
  }

  destroy() {
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
  }

  connected() {
    this.syncing = false;
    this.run();
  }

  disconnected() {
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    this.syncing = false;
    this.again = false;
    for (const [, req] of this.chat.requests.entries()) {
      if (req.action === "history") {
        const conv = this.chat.conversations.get(req.conversationId);
        if (conv) conv.loadingHistory = false;
      }
    }
  }

  // ---- sync --------------------------------------------------------------------------------------

  cursors() {
    const cursors = {};
    for (const conv of this.chat.conversations.all()) {
      if (conv.draftFor || conv.left) continue;
      if (conv.held > 0) cursors[conv.id] = conv.held;
    }
    return cursors;
  }

  /** The change cursor of each conversation this client has a `synced.lastChange` for. */
  changeCursors() {
    const cursors = {};
    for (const conv of this.chat.conversations.all()) {
      if (conv.draftFor || conv.left || conv.lastChange === null || conv.lastChange === undefined) continue;
      cursors[conv.id] = conv.lastChange;
    }
    return cursors;
  }

  run() {
    const chat = this.chat;
    if (!chat.conn.isOpen) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = true;
    this.again = false;
    clearTimeout(this.retryTimer);
    const requestId = chat.conn.nextRequestId("s");
    this.requestId = requestId;
    const frame = { action: "sync", cursors: this.cursors(), since: this.token, requestId };
    const changeCursors = this.changeCursors();
    if (Object.keys(changeCursors).length) frame.changeCursors = changeCursors;
    if (!chat.send(frame)) {
      this.syncing = false;
      return;
    }
    // No `synced` in time (a lost frame, a failed handler): try again, backing off.
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.syncing && this.requestId === requestId) {
        this.syncing = false;
        this.retryLater();
      }
    }, SYNC_TIMEOUT_MS);
  }

  /** Sync again after afterMs (the server's retryAfterMs), else after a growing, jittered pause. */
  retryLater(afterMs = 0) {
    clearTimeout(this.retryTimer);
    let delay = afterMs;
    if (!(afterMs > 0)) {
      delay = Math.min(60000, 2000 * 2 ** Math.min(this.failures, 5)) * (0.75 + Math.random() * 0.5);
      this.failures += 1;
    }
    this.retryTimer = setTimeout(() => this.run(), delay);
  }

  onSynced(frame) {
    const chat = this.chat;
    clearTimeout(this.timer);
    this.failures = 0;
    if (typeof frame.syncToken === "string") this.token = frame.syncToken;
    // Every `synced` carries the whole block list.
    if (Array.isArray(frame.blocked)) chat.blocked = new Set(frame.blocked);
    for (const item of frame.conversations || []) this.applyConversationInfo(item);
    for (const conv of chat.conversations.all()) this.recomputeHeld(conv);
    this.syncing = false;
    if (frame.complete === false || this.again) {
      this.run();
    } else {
      chat.presence.subscribe(true);
      chat.emit("synced");
    }
    chat.watermarks.scheduleAck();
    chat.changed();
  }

  /** A `sync` (or `history`) request failed: sync again later. */
  failed(action, req, frame) {
    if (action === "sync") {
      clearTimeout(this.timer);
      this.syncing = false;
      // A token the server does not take: start again from every conversation, at once.
      if (frame.code === "bad_request" && this.token !== "") {
        this.token = "";
        this.run();
        return;
      }
      this.retryLater(frame.code === "rate_limited" ? Number(frame.retryAfterMs) : 0);
    }
    if (action === "history" && !(req && req.refresh)) {
      const conv = this.chat.conversations.get(req ? req.conversationId : frame.conversationId);
      if (conv) {
        conv.loadingHistory = false;
        if (frame.code === "forbidden" || frame.code === "not_found") conv.hasMore = false;
      }
    }
  }

  applyConversationInfo(item) {
    const chat = this.chat;
    const id = item.conversationId;
    if (!id) return;
    const conv = chat.conversations.ensure(id);
    const hadMessages = conv.messages.size > 0;
    conv.known = true;
    if (item.kind) conv.kind = item.kind;
    if (item.name !== undefined && item.name !== null) conv.name = item.name;
    if (Array.isArray(item.members)) conv.members = item.members;
    if (Array.isArray(item.admins)) conv.admins = item.admins;
    conv.lastSeq = Math.max(conv.lastSeq, num(item.lastSeq));
    // The change cursor: `messageChanged` frames up to it were sent before this `synced`.
    if (item.lastChange !== undefined && item.lastChange !== null) conv.lastChange = num(item.lastChange);
    // The server's unread count covers messages this device does not hold (a new device holds the
    // newest 50): up to `lastSeq`, everything after `lastSeq - unread` was unread then.
    if (typeof item.unread === "number") {
      conv.syncTop = num(item.lastSeq);
      conv.unreadFrom = num(item.lastSeq) - item.unread;
    }
    if (typeof item.muted === "boolean") conv.muted = item.muted;
    if (item.firstSeqSent !== undefined && item.firstSeqSent !== null && !hadMessages) {
      if (num(item.firstSeqSent) <= 1) conv.hasMore = false;
    }
    if (conv.lastSeq === 0) conv.hasMore = false;
    if (item.receipts) chat.watermarks.applySynced(conv, item.receipts);
    if (conv.kind === "group") {
      // A group the user left (or was removed from) comes without `members`: who is in it since is not shown.
      if (!Array.isArray(item.members)) conv.left = true;
      else if (conv.members.length) conv.left = !conv.members.includes(chat.me);
    }
    for (const key of ["createdAt", "updatedAt", "lastSentAt", "lastMessageAt"]) {
      if (item[key]) conv.activity = maxTime(conv.activity, item[key]);
    }
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

  // ---- messages ------------------------------------------------------------------------------------

  /** Stores a message; returns true when it was new. `live` frames are checked for seq jumps. */
  store(msg, live) {
    const chat = this.chat;
    const id = msg.conversationId;
    const seq = num(msg.seq);
    if (!id || seq < 1) return false;
    let conv = chat.conversations.get(id);
    const unknown = !conv || !conv.known;
    conv = chat.conversations.ensure(id);
    if (msg.senderId === chat.me) chat.outbox.resolve(msg.clientMsgId, conv);
    const held = conv.messages.get(seq);
    if (held) {
      // A later state of a held message (a fan-out may post it as first sent after a sync gave it
      // edited or deleted): the highest change wins, whichever frame brought it.
      const change = num(msg.change);
      if (change <= (held.change || 0)) return freshUrl(held, msg);
      Object.assign(held, messageFields(msg), { change });
      return true;
    }
    if (live) {
      const hadMessages = conv.messages.size > 0;
      const jump = hadMessages ? seq > conv.held + 1 : conv.lastSeq > 0 && seq > conv.lastSeq + 1;
      if (jump || unknown) this.run();
    }
    conv.messages.set(seq, { conversationId: id, seq, ...messageFields(msg), change: num(msg.change) });
    if (msg.senderId === chat.me) chat.watermarks.sentByMe(conv, seq);
    else chat.presence.clearTyping(conv, msg.senderId);
    conv.activity = maxTime(conv.activity, msg.sentAt);
    this.recomputeHeld(conv);
    return true;
  }

  onMessage(frame) {
    if (this.store(frame, true)) {
      this.chat.watermarks.scheduleAck();
      this.chat.changed();
    }
  }

  // ---- history -------------------------------------------------------------------------------------

  /** Asks for the page of messages before the oldest held; null when there is nothing to ask. */
  loadHistory(conversationId) {
    const chat = this.chat;
    const conv = chat.conversations.get(conversationId);
    if (!conv || conv.draftFor || conv.loadingHistory || conv.hasMore === false) return null;
    if (conv.historyRetryAt && Date.now() < conv.historyRetryAt) return null;
    if (!conv.messages.size && conv.lastSeq === 0) return null;
    conv.loadingHistory = true;
    const frame = { action: "history", conversationId, limit: HISTORY_PAGE };
    if (conv.messages.size) frame.beforeSeq = conv.minSeq;
    const promise = chat.requests.send(frame, { conversationId }).catch((err) => {
      conv.loadingHistory = false;
      conv.historyRetryAt = Date.now() + HISTORY_RETRY_AFTER_MS; // no request storm while the server says no
      chat.changed();
      throw err;
    });
    chat.changed();
    return promise;
  }

  onHistory(frame) {
    const chat = this.chat;
    const req = chat.requests.get(frame.requestId);
    if (req && req.refresh) {
      // One message asked for again, for a fresh attachment URL: paging is not touched.
      let changed = false;
      for (const msg of frame.messages || []) changed = this.store({ ...msg, conversationId: frame.conversationId }, false) || changed;
      chat.requests.settle(frame.requestId, true, frame);
      if (changed) chat.changed();
      return;
    }
    const conv = chat.conversations.ensure(frame.conversationId);
    for (const msg of frame.messages || []) this.store({ ...msg, conversationId: frame.conversationId }, false);
    conv.hasMore = Boolean(frame.hasMore);
    conv.loadingHistory = false;
    chat.requests.settle(frame.requestId, true, frame);
    chat.changed();
  }
}
