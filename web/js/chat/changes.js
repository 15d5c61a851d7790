// Reply, edit, delete for everyone and reactions (PROTOCOL.md, "Reply, edit, delete for everyone,
// reactions").
//
// A message's later changes come as `messageChanged` frames carrying the message in its new state
// and the conversation's `change` number: the direct reply to this device's own `edit`, `delete` or
// `react`, pushed live for the other devices' ones, and sent by `sync` for the messages held up to
// the change cursor. Live frames may come out of order, so each message keeps the highest `change`
// applied (`msg.change`) and a lower one is dropped. The change cursor (`conv.lastChange`) comes
// from `synced` only, never from live frames; `sync` sends it back in `changeCursors`.

import { num } from "./conversations.js";

export const EDIT_WINDOW_MS = 15 * 60 * 1000;
export const DELETE_WINDOW_MS = 48 * 60 * 60 * 1000;
export const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

/** The fields of a `message` object that the client keeps for a message. */
export function messageFields(msg) {
  const deleted = msg.deleted === true;
  return {
    senderId: msg.senderId,
    senderDeviceId: msg.senderDeviceId,
    clientMsgId: msg.clientMsgId,
    body: deleted ? { text: "" } : msg.body || {},
    sentAt: msg.sentAt,
    replyTo: num(msg.replyTo) > 0 ? num(msg.replyTo) : null,
    editedAt: deleted ? null : msg.editedAt || null,
    deleted,
    attachment: !deleted && msg.attachment && typeof msg.attachment === "object" ? { ...msg.attachment } : null,
    reactions: !deleted && msg.reactions && typeof msg.reactions === "object" ? { ...msg.reactions } : {},
  };
}

function age(msg) {
  const at = Date.parse(msg.sentAt || "");
  return Number.isFinite(at) ? Date.now() - at : Infinity;
}

export class Changes {
  constructor(chat) {
    this.chat = chat;
  }

  // ---- what the user may do ----------------------------------------------------------------------

  canEdit(msg) {
    return Boolean(msg) && msg.senderId === this.chat.me && !msg.deleted && age(msg) < EDIT_WINDOW_MS;
  }

  canDelete(msg) {
    return Boolean(msg) && msg.senderId === this.chat.me && !msg.deleted && age(msg) < DELETE_WINDOW_MS;
  }

  canReact(msg) {
    return Boolean(msg) && !msg.deleted;
  }

  // ---- the user's actions ------------------------------------------------------------------------

  /** Sends frame and waits for its `messageChanged` (errors reach the user as notices). */
  request(frame) {
    const conv = this.chat.conversations.get(frame.conversationId);
    if (!conv || conv.left) return Promise.reject(new Error("You are no longer a member of this group."));
    return this.chat.requests.send(frame, { conversationId: frame.conversationId }).catch((err) => {
      if (!err.code) this.chat.notice("error", err.message); // offline or no answer (server errors were shown)
      throw err;
    });
  }

  edit(conversationId, seq, text) {
    return this.request({ action: "edit", conversationId, seq, body: { text } });
  }

  remove(conversationId, seq) {
    return this.request({ action: "delete", conversationId, seq });
  }

  /** Sets the user's reaction to emoji; the same one again (or "") removes it. */
  react(conversationId, seq, emoji) {
    const conv = this.chat.conversations.get(conversationId);
    const msg = conv ? conv.messages.get(seq) : null;
    const mine = msg && msg.reactions ? msg.reactions[this.chat.me] : undefined;
    return this.request({ action: "react", conversationId, seq, emoji: mine === emoji ? "" : emoji });
  }

  // ---- frames ------------------------------------------------------------------------------------

  onMessageChanged(frame) {
    const chat = this.chat;
    chat.requests.settle(frame.requestId, true, frame);
    const msg = frame.message;
    const id = frame.conversationId || (msg && msg.conversationId);
    const seq = msg ? num(msg.seq) : 0;
    if (!id || seq < 1) return;
    const change = num(frame.change);
    const conv = chat.conversations.get(id);
    const held = conv ? conv.messages.get(seq) : null;
    if (held) {
      if ((held.change || 0) >= change) return; // an older (or the same) state
      Object.assign(held, messageFields(msg), { change });
    } else {
      // Its `message` may not have come yet (the change is pushed by the route, the message by
      // the fan-out): hold this as the message; the `message` frame of that seq is then a copy.
      if (!chat.sync.store({ ...msg, conversationId: id }, true)) return;
      chat.conversations.get(id).messages.get(seq).change = change;
    }
    chat.changed();
  }
}
