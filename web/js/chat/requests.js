// Frames that expect a direct reply (history, receipts, group changes, ...): each gets a requestId
// and a promise, settled by the reply or an `error` carrying that id, or rejected after a timeout.

const REQUEST_TIMEOUT_MS = 15000;

export class Requests {
  constructor(connection) {
    this.conn = connection;
    this.pending = new Map(); // requestId -> {action, resolve, reject, timer, ...extra}
  }

  /** Sends frame with a fresh requestId; `extra` is kept with the request (e.g. conversationId). */
  send(frame, extra = {}) {
    const requestId = this.conn.nextRequestId();
    const framed = { ...frame, requestId };
    return new Promise((resolve, reject) => {
      if (!this.conn.send(framed)) {
        reject(new Error("You're offline. Try again when the connection is back."));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error("The server did not answer in time."));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(requestId, { action: frame.action, resolve, reject, timer, ...extra });
    });
  }

  get(requestId) {
    return this.pending.get(requestId);
  }

  entries() {
    return this.pending.entries();
  }

  /** Resolves (ok) or rejects the request; returns it, or null when no such request is waiting. */
  settle(requestId, ok, value) {
    const req = requestId && this.pending.get(requestId);
    if (!req) return null;
    this.pending.delete(requestId);
    clearTimeout(req.timer);
    (ok ? req.resolve : req.reject)(value);
    return req;
  }

  destroy() {
    for (const req of this.pending.values()) clearTimeout(req.timer);
  }
}
