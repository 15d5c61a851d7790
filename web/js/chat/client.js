// The chat client's state and protocol logic (no DOM here). See PROTOCOL.md for the frames.
//
// ChatClient joins the parts, each owning one concern: `conversations` (the model, drafts,
// groups), `sync` (cursors, gaps, history), `outbox` (unsent messages), `watermarks` (check
// marks, acks), `presence` (presence and typing), `requests` (frames awaiting a reply), `changes` (reply, edit, delete, reactions),
// `attachments` (photos and files: uploads, fresh download URLs). It routes
// the connection's frames to them and tells the UI what changed.
//
// Events: "change" (anything the UI shows may have changed), "notice" {kind, text, code?, quiet?},
// "synced", "receipt" {frame}, "opened" {conversationId, replaced} (a draft became real).

import { Attachments } from "./attachments.js";
import { Changes } from "./changes.js";
import { Conversations } from "./conversations.js";
import { humanError } from "./errors.js";
import { Outbox } from "./outbox.js";
import { Presence } from "./presence.js";
import { Requests } from "./requests.js";
import { UserStorage } from "./storage.js";
import { Sync } from "./sync.js";
import { Watermarks } from "./watermarks.js";

export class ChatClient extends EventTarget {
  constructor({ userId, deviceId, connection }) {
    super();
    this.me = userId;
    this.deviceId = deviceId;
    this.conn = connection;
    this.openId = null; // the conversation the user has open
    this.visible = document.visibilityState === "visible";
    this.storage = new UserStorage(userId);
    this.requests = new Requests(connection);
    this.watermarks = new Watermarks(this);
    this.conversations = new Conversations(this);
    this.sync = new Sync(this);
    this.presence = new Presence(this);
    this.outbox = new Outbox(this);
    this.changes = new Changes(this);
    this.attachments = new Attachments(this);
    this.blocked = new Set(); // the users this user blocked: from `synced` and `blocked` frames
    this.onFrame = (e) => this.handleFrame(e.detail.frame);
    this.onOpen = () => this.connected();
    this.onClose = () => this.disconnected();
    this.conn.addEventListener("frame", this.onFrame);
    this.conn.addEventListener("open", this.onOpen);
    this.conn.addEventListener("close", this.onClose);
  }

  destroy() {
    this.conn.removeEventListener("frame", this.onFrame);
    this.conn.removeEventListener("open", this.onOpen);
    this.conn.removeEventListener("close", this.onClose);
    this.outbox.destroy();
    this.attachments.destroy();
    this.sync.destroy();
    this.watermarks.destroy();
    this.presence.destroy();
    this.requests.destroy();
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  changed() {
    this.emit("change");
  }

  notice(kind, text, extra = {}) {
    this.emit("notice", { kind, text, ...extra });
  }

  /** Sends a frame; false when not connected. */
  send(frame) {
    return this.conn.send(frame);
  }

  /** Called by the UI when the open conversation or the page visibility changes. */
  setView({ openId, visible }) {
    if (openId !== undefined) {
      if (this.openId && this.openId !== openId) this.presence.stopTyping(this.openId);
      this.openId = openId;
    }
    if (visible !== undefined) this.visible = visible;
    this.watermarks.scheduleAck();
  }

  // ---- connection lifecycle ------------------------------------------------------------------

  connected() {
    this.watermarks.resetSent();
    this.outbox.flush();
    this.sync.connected();
    this.presence.resubscribe(); // contacts known so far; refreshed after `synced`
    this.changed();
  }

  disconnected() {
    this.sync.disconnected();
    this.outbox.interrupted();
    this.presence.disconnected();
    this.changed();
  }

  // ---- incoming frames -----------------------------------------------------------------------------

  handleFrame(frame) {
    if (!frame || typeof frame !== "object") return;
    switch (frame.type) {
      case "message":
        this.sync.onMessage(frame);
        break;
      case "messageChanged":
        this.changes.onMessageChanged(frame);
        break;
      case "sent":
        this.outbox.onSent(frame);
        break;
      case "receipt":
        this.watermarks.onReceipt(frame);
        break;
      case "presence":
        this.presence.onPresence(frame);
        break;
      case "typing":
        this.presence.onTyping(frame);
        break;
      case "group":
        this.conversations.onGroup(frame);
        break;
      case "synced":
        this.sync.onSynced(frame);
        break;
      case "history":
        this.sync.onHistory(frame);
        break;
      case "muted":
        this.conversations.onMuted(frame);
        break;
      case "blocked":
        this.conversations.onBlocked(frame);
        break;
      case "receipts":
      case "uploadReady":
      case "pong":
        this.requests.settle(frame.requestId, true, frame);
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

  onError(frame) {
    const req = this.requests.get(frame.requestId);
    const action = frame.action || (req && req.action) || null;
    let quiet = action === "typing" || action === "ping";
    if (action === "subscribePresence" && frame.code === "forbidden") quiet = true;
    // Retried by themselves once the server's retryAfterMs has passed: nothing for the user to do.
    if (frame.code === "rate_limited" && ["send", "sync", "subscribePresence"].includes(action)) quiet = true;
    if (frame.clientMsgId) this.outbox.onError(frame);
    this.sync.failed(action, req, frame);
    if (action === "subscribePresence") this.presence.failed(frame);
    const err = new Error(frame.message || frame.code);
    err.code = frame.code;
    this.requests.settle(frame.requestId, false, err);
    this.notice("error", humanError(frame, action), { code: frame.code, action, quiet });
  }
}
