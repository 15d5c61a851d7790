// Messages written but not yet `sent`: kept in localStorage with their clientMsgId and re-sent with
// the same id after every reconnect and after 15 s without an answer, so the server stores each
// message once. A refused one stays as "failed" until the user retries or deletes it.
//
// `rate_limited` is not a refusal: the server says in `retryAfterMs` when it takes the same frame.
// The outbox then holds every message until then and goes on paced, one message on the wire at a
// time (the next once the previous is answered), until it is empty: re-sending the whole queue at
// once would only be refused again, and the server's bucket refills at its own pace.
//
// One message of a conversation is on the wire at a time, the next once it is answered: the server
// numbers messages in the order it stores them, and two sends on the wire at once may be stored in
// either order (a send into a busy conversation is queued and answered a moment later).
//
// An entry may carry an `attachment` (a file already uploaded, attachments.js): its text is then the
// caption and may be empty.
//
// Entry status: "pending" (not on the wire), "sending" (on the wire of this connection), "failed".

import { randomId } from "../ids.js";
import { maxTime, num } from "./conversations.js";

const RESEND_AFTER_MS = 15000;
const RESEND_CHECK_MS = 5000;
const RETRYABLE = new Set(["rate_limited", "internal"]);
const DEFAULT_RETRY_AFTER_MS = 1000; // a `rate_limited` without retryAfterMs (an older server)

/** What orders an entry: its conversation, or the person a first message goes `to`. */
function conversationKey(entry) {
  return entry.conversationId || `to:${entry.to}`;
}

export class Outbox {
  constructor(chat) {
    this.chat = chat;
    this.entries = chat.storage.load("outbox", []).filter((e) => e && e.clientMsgId && (e.text || e.attachment));
    for (const entry of this.entries) if (entry.status === "sending") entry.status = "pending";
    for (const entry of this.entries) {
      if (entry.to && !entry.conversationId) chat.conversations.ensureDraft(entry.to);
    }
    this.resendTimer = setInterval(() => this.resendStale(), RESEND_CHECK_MS);
    this.holdUntil = 0; // nothing goes on the wire before this (the server's retryAfterMs)
    this.holdTimer = null;
    this.paced = false; // since a `rate_limited`: one entry on the wire at a time, until the outbox is empty
  }

  destroy() {
    clearInterval(this.resendTimer);
    clearTimeout(this.holdTimer);
  }

  get size() {
    return this.entries.length;
  }

  save() {
    this.chat.storage.save(
      "outbox",
      this.entries.map(({ clientMsgId, conversationId, to, text, replyTo, attachment, createdAt, status, error }) => ({
        clientMsgId,
        conversationId,
        to,
        text,
        replyTo,
        attachment,
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

  /** The user sends text in conversationId (answering the message replyTo, a seq, if given; with
   * an uploaded attachment, text is its caption); returns the entry, or null when that is not possible. */
  add(conversationId, text, replyTo = null, attachment = null) {
    const chat = this.chat;
    const conv = chat.conversations.get(conversationId);
    if (!conv || conv.left || (attachment && conv.draftFor)) return null;
    const entry = {
      clientMsgId: randomId(22),
      conversationId: conv.draftFor ? null : conv.id,
      to: conv.draftFor || null,
      text,
      replyTo: replyTo && !conv.draftFor ? replyTo : null,
      attachment: attachment || null,
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

  /** Whether entry may go on the wire now: not while held; not before the earlier ones of its
   * conversation are answered; when paced, only if nothing else is on it. */
  mayTransmit(entry) {
    if (Date.now() < this.holdUntil) return false;
    const others = this.entries.filter((e) => e !== entry && e.status !== "failed");
    if (this.paced && others.some((e) => e.status === "sending")) return false;
    const key = conversationKey(entry);
    const earlier = this.entries.slice(0, this.entries.indexOf(entry));
    return (
      !earlier.some((e) => e.status !== "failed" && conversationKey(e) === key) &&
      !others.some((e) => e.status === "sending" && conversationKey(e) === key)
    );
  }

  transmit(entry) {
    if (entry.status === "failed" || !this.mayTransmit(entry)) return;
    const frame = { action: "send", clientMsgId: entry.clientMsgId, body: { text: entry.text } };
    if (entry.replyTo) frame.replyTo = entry.replyTo;
    if (entry.attachment) frame.attachment = entry.attachment;
    if (entry.conversationId) frame.conversationId = entry.conversationId;
    else frame.to = entry.to;
    entry.lastAttempt = Date.now();
    if (this.chat.send(frame)) entry.status = "sending";
  }

  /** A connection opened: send everything not failed (paced: the first). */
  flush() {
    for (const entry of this.entries) if (entry.status !== "failed") this.transmit(entry);
  }

  /** An answer came: the next entries in order go on the wire (paced: one); pacing ends once nothing waits. */
  next() {
    if (!this.chat.conn.isOpen) return;
    const waiting = this.entries.filter((e) => e.status !== "failed");
    if (!waiting.length) {
      this.paced = false;
      return;
    }
    for (const entry of waiting) if (entry.status === "pending") this.transmit(entry);
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
    if (this.paced) this.next();
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
    const replyTo = entry ? entry.replyTo || null : null;
    const attachment = entry ? entry.attachment || null : null;
    if (entry) this.resolve(frame.clientMsgId, conv);
    this.next();
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
        replyTo,
        attachment,
        editedAt: null,
        deleted: false,
        reactions: {},
        change: 0,
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
    if (frame.code === "rate_limited") {
      entry.status = "pending";
      this.holdFor(Number(frame.retryAfterMs) > 0 ? Number(frame.retryAfterMs) : DEFAULT_RETRY_AFTER_MS);
    } else if (RETRYABLE.has(frame.code)) {
      entry.status = "pending";
      entry.lastAttempt = Date.now(); // resendStale tries again later
    } else {
      entry.status = "failed";
      entry.error = frame.message || frame.code;
      this.save();
      this.next();
    }
    this.chat.changed();
  }

  /** The server takes no message for ms: hold them all, then go on paced. */
  holdFor(ms) {
    this.paced = true;
    this.holdUntil = Math.max(this.holdUntil, Date.now() + ms);
    clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => this.next(), this.holdUntil - Date.now());
  }
}
