// Messages written but not yet `sent`: kept in localStorage with their clientMsgId and re-sent with
// the same id after every reconnect and after 15 s without an answer, so the server stores each
// message once. A refused one stays as "failed" until the user retries or deletes it.
//
// Entry status: "pending" (not on the wire), "sending" (on the wire of this connection), "failed".

import { randomId } from "../ids.js";
import { maxTime, num } from "./conversations.js";

const RESEND_AFTER_MS = 15000;
const RESEND_CHECK_MS = 5000;
const RETRYABLE = new Set(["rate_limited", "internal"]);

export class Outbox {
  constructor(chat) {
    this.chat = chat;
    this.entries = chat.storage.load("outbox", []).filter((e) => e && e.clientMsgId && e.text);
    for (const entry of this.entries) if (entry.status === "sending") entry.status = "pending";
    for (const entry of this.entries) {
      if (entry.to && !entry.conversationId) chat.conversations.ensureDraft(entry.to);
    }
    this.resendTimer = setInterval(() => this.resendStale(), RESEND_CHECK_MS);
  }

  destroy() {
    clearInterval(this.resendTimer);
  }

  get size() {
    return this.entries.length;
  }

  save() {
    this.chat.storage.save(
      "outbox",
      this.entries.map(({ clientMsgId, conversationId, to, text, createdAt, status, error }) => ({
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

  /** The entries shown in conv (a draft's are those addressed `to` its person). */
  pendingFor(conv) {
    return this.entries.filter((e) =>
      conv.draftFor ? e.to === conv.draftFor && !e.conversationId : e.conversationId === conv.id,
    );
  }

  /** The user sends text in conversationId; returns the entry, or null when that is not possible. */
  add(conversationId, text) {
    const chat = this.chat;
    const conv = chat.conversations.get(conversationId);
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
    this.entries.push(entry);
    this.save();
    chat.presence.stopTyping(conv.id);
    this.transmit(entry);
    chat.changed();
    return entry;
  }

  transmit(entry) {
    if (entry.status === "failed") return;
    const frame = { action: "send", clientMsgId: entry.clientMsgId, body: { text: entry.text } };
    if (entry.conversationId) frame.conversationId = entry.conversationId;
    else frame.to = entry.to;
    entry.lastAttempt = Date.now();
    if (this.chat.send(frame)) entry.status = "sending";
  }

  /** A connection opened: send everything not failed. */
  flush() {
    for (const entry of this.entries) if (entry.status !== "failed") this.transmit(entry);
  }

  /** The connection dropped: what was on its wire may be lost. */
  interrupted() {
    for (const entry of this.entries) if (entry.status === "sending") entry.status = "pending";
  }

  resendStale() {
    if (!this.chat.conn.isOpen) return;
    const now = Date.now();
    for (const entry of this.entries) {
      if (entry.status !== "failed" && now - (entry.lastAttempt || 0) > RESEND_AFTER_MS) this.transmit(entry);
    }
  }

  retry(clientMsgId) {
    const entry = this.entries.find((e) => e.clientMsgId === clientMsgId);
    if (!entry) return;
    entry.status = "pending";
    entry.error = null;
    this.save();
    this.transmit(entry);
    this.chat.changed();
  }

  discard(clientMsgId) {
    this.entries = this.entries.filter((e) => e.clientMsgId !== clientMsgId);
    this.save();
    this.chat.changed();
  }

  /** The first `sent` to userId named the conversation: entries still addressed `to` them join it. */
  adopt(userId, conversationId) {
    for (const e of this.entries) if (e.to === userId && !e.conversationId) e.conversationId = conversationId;
  }

  /** The message is stored (its `sent`, or its `message` on another device of mine): drop the entry. */
  resolve(clientMsgId, conv) {
    const index = this.entries.findIndex((e) => e.clientMsgId === clientMsgId);
    if (index < 0) return null;
    const [entry] = this.entries.splice(index, 1);
    if (entry.to && !entry.conversationId) this.chat.conversations.promoteDraft(entry.to, conv);
    this.save();
    return entry;
  }

  onSent(frame) {
    const chat = this.chat;
    const conv = chat.conversations.ensure(frame.conversationId);
    const entry = this.entries.find((e) => e.clientMsgId === frame.clientMsgId);
    const text = entry ? entry.text : null;
    if (entry) this.resolve(frame.clientMsgId, conv);
    conv.known = true;
    const seq = num(frame.seq);
    if (!conv.messages.has(seq) && text !== null) {
      const jump = conv.messages.size > 0 && seq > conv.held + 1;
      conv.messages.set(seq, {
        conversationId: conv.id,
        seq,
        senderId: chat.me,
        senderDeviceId: chat.deviceId,
        clientMsgId: frame.clientMsgId,
        body: { text },
        sentAt: frame.sentAt,
      });
      conv.activity = maxTime(conv.activity, frame.sentAt);
      chat.sync.recomputeHeld(conv);
      if (jump) chat.sync.run();
    }
    chat.watermarks.sentByMe(conv, seq);
    chat.changed();
  }

  /** An `error` naming one of the entries: retry later if the server may take it then, else fail it. */
  onError(frame) {
    const entry = this.entries.find((e) => e.clientMsgId === frame.clientMsgId);
    if (!entry) return;
    if (RETRYABLE.has(frame.code)) {
      entry.status = "pending";
      entry.lastAttempt = Date.now(); // resendStale tries again later
    } else {
      entry.status = "failed";
      entry.error = frame.message || frame.code;
      this.save();
    }
    this.chat.changed();
  }
}
