// Delivered / read state, i.e. the check marks. Receipts are watermarks per user (PROTOCOL.md):
// `conv.watermarks` holds everyone's (and "*", all members of a group), `myDelivered` / `myRead`
// this user's own. Incoming messages are acknowledged with the contiguous watermark (`held`):
// `delivered` for every conversation, `read` only for the open one while the page is visible.
// The own read watermark is kept across reloads, so unread counts survive them.

import { num } from "./conversations.js";

const ACK_DELAY_MS = 150;

/**
 * Receipts in `synced` are watermarks per user (and "*" for groups). Accept the shapes a backend
 * may reasonably choose: {user: {delivered, read}}, {user: {deliveredSeq, readSeq}}, lists of
 * receipt-like {userId, kind, seq, at}, or lists of {userId, delivered, read}.
 */
function normalizeReceipts(raw) {
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

export class Watermarks {
  constructor(chat) {
    this.chat = chat;
    this.readMarks = chat.storage.load("read", {}); // conversationId -> my read seq
    this.ackTimer = null;
  }

  destroy() {
    clearTimeout(this.ackTimer);
  }

  /** My read watermark for a conversation, as saved by an earlier page. */
  savedRead(conversationId) {
    return num(this.readMarks[conversationId]);
  }

  // ---- state -----------------------------------------------------------------------------------

  /** The `receipts` of a conversation in `synced`. */
  applySynced(conv, receipts) {
    for (const [userId, mark] of normalizeReceipts(receipts)) {
      this.move(conv, userId, "delivered", mark.delivered, mark.deliveredAt);
      this.move(conv, userId, "read", mark.read, mark.readAt);
    }
  }

  onReceipt(frame) {
    const conv = this.chat.conversations.get(frame.conversationId);
    if (!conv) return;
    this.move(conv, frame.userId, frame.kind, frame.seq, frame.at);
    this.chat.emit("receipt", { frame });
    this.chat.changed();
  }

  move(conv, userId, kind, seq, at) {
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
    if (userId === this.chat.me) {
      conv.myDelivered = Math.max(conv.myDelivered, mark.delivered);
      this.setMyRead(conv, mark.read);
    }
  }

  /** Sending moves the sender's own watermarks to the message's seq. */
  sentByMe(conv, seq) {
    conv.myDelivered = Math.max(conv.myDelivered, seq);
    this.setMyRead(conv, seq);
  }

  setMyRead(conv, seq) {
    if (seq <= conv.myRead) return;
    conv.myRead = seq;
    conv.myDelivered = Math.max(conv.myDelivered, seq);
    this.readMarks[conv.id] = seq;
    this.chat.storage.save("read", this.readMarks);
  }

  /** "sent" | "delivered" | "read" for one of my stored messages. */
  statusOf(conv, seq) {
    let mark = null;
    if (conv.kind === "group") {
      mark = conv.watermarks.get("*");
    } else {
      const peer = this.chat.conversations.peerOf(conv);
      mark = peer ? conv.watermarks.get(peer) : null;
    }
    if (mark && mark.read >= seq) return "read";
    if (mark && mark.delivered >= seq) return "delivered";
    return "sent";
  }

  unreadCount(conv) {
    if (conv.draftFor) return 0;
    // Up to the last `synced`, the server's count (messages held or not), less what was read since;
    // after it, the held messages of others above the read watermark.
    const top = conv.syncTop === undefined ? 0 : conv.syncTop;
    let count = top ? Math.max(0, top - Math.max(conv.myRead, conv.unreadFrom)) : 0;
    for (const msg of conv.messages.values()) {
      if (msg.seq > top && msg.senderId !== this.chat.me && msg.seq > conv.myRead) count += 1;
    }
    return count;
  }

  /** Per-member detail for one message ("message info"): the `receipts` reply. */
  messageInfo(conversationId, seq) {
    return this.chat.requests.send({ action: "receipts", conversationId, seq }, { conversationId });
  }

  // ---- acknowledgements ----------------------------------------------------------------------------

  /** Acks that were in flight when the socket dropped may be lost: allow sending them again. */
  resetSent() {
    for (const conv of this.chat.conversations.all()) {
      conv.deliveredSent = conv.myDelivered;
      conv.readSent = conv.myRead;
    }
  }

  scheduleAck() {
    clearTimeout(this.ackTimer);
    this.ackTimer = setTimeout(() => this.sendAcks(), ACK_DELAY_MS);
  }

  sendAcks() {
    const chat = this.chat;
    if (!chat.conn.isOpen) return;
    let changed = false;
    for (const conv of chat.conversations.all()) {
      if (conv.draftFor || conv.left || conv.held < 1) continue;
      const seq = conv.held;
      const reading = conv.id === chat.openId && chat.visible;
      if (reading && seq > Math.max(conv.myRead, conv.readSent)) {
        if (chat.send({ action: "read", conversationId: conv.id, seq })) {
          conv.readSent = seq;
          conv.deliveredSent = Math.max(conv.deliveredSent, seq);
          this.setMyRead(conv, seq);
          changed = true;
        }
      } else if (seq > Math.max(conv.myDelivered, conv.deliveredSent)) {
        if (chat.send({ action: "delivered", conversationId: conv.id, seq })) conv.deliveredSent = seq;
      }
    }
    if (changed) chat.changed();
  }
}
