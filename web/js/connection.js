// One WebSocket that keeps itself alive: reconnects with exponential backoff and jitter, pings
// the server (API Gateway closes idle connections after 10 minutes), and notices a dead socket
// when a ping gets no pong.
//
// Events: "status" {state, attempt, retryAt, refused}, "open", "close" {wasOpen, code, reason},
// "frame" {frame}.

const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;
const PONG_TIMEOUT_MS = 20000;
const STABLE_AFTER_MS = 10000;

export function backoffDelay(attempt) {
  const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempt, 10));
  return Math.round(cap / 2 + Math.random() * (cap / 2)); // "equal jitter"
}

export class Connection extends EventTarget {
  /**
   * @param {object} options
   * @param {(info: {failures: number}) => Promise<string>} options.getUrl  URL for the next attempt
   * @param {number} options.pingIntervalMs
   */
  constructor({ getUrl, pingIntervalMs = 240000 }) {
    super();
    this.getUrl = getUrl;
    this.pingIntervalMs = pingIntervalMs;
    this.ws = null;
    this.state = "idle"; // idle | connecting | open | waiting | stopped
    this.failures = 0; // consecutive attempts that never opened or dropped quickly
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.stableTimer = null;
    this.retryAt = null;
    this.requestCounter = 0;
    this.onOnline = () => this.reconnectNow();
    window.addEventListener("online", this.onOnline);
  }

  start() {
    if (this.state === "stopped") return;
    if (this.state === "connecting" || this.state === "open") return;
    this.connect();
  }

  stop() {
    this.state = "stopped";
    window.removeEventListener("online", this.onOnline);
    this.clearTimers();
    if (this.ws) {
      const ws = this.ws;
      this.detach(ws);
      try {
        ws.close(1000, "bye");
      } catch {
        /* ignore */
      }
    }
    this.ws = null;
  }

  /** Skip the remaining backoff (e.g. the browser came back online or the user asked). */
  reconnectNow() {
    if (this.state === "waiting") {
      clearTimeout(this.retryTimer);
      this.connect();
    }
  }

  get isOpen() {
    return this.state === "open" && this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  nextRequestId(prefix = "r") {
    this.requestCounter += 1;
    return `${prefix}${this.requestCounter}`;
  }

  /** Sends a frame; returns false when not connected (the caller keeps it for later). */
  send(frame) {
    if (!this.isOpen) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch (err) {
      console.warn("send failed", err);
      return false;
    }
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setState(state, extra = {}) {
    this.state = state;
    this.emit("status", { state, attempt: this.failures, retryAt: this.retryAt, ...extra });
  }

  clearTimers() {
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    clearTimeout(this.stableTimer);
    this.retryTimer = this.pingTimer = this.pongTimer = this.stableTimer = null;
  }

  detach(ws) {
    ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null;
  }

  async connect() {
    this.clearTimers();
    this.retryAt = null;
    this.setState("connecting");
    let url;
    try {
      url = await this.getUrl({ failures: this.failures });
    } catch (err) {
      if (this.state === "stopped") return;
      this.scheduleRetry({ refused: true, reason: err && err.message });
      return;
    }
    if (this.state === "stopped") return;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      this.scheduleRetry({ refused: true, reason: String(err) });
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.setState("open");
      this.pingTimer = setInterval(() => this.ping(), this.pingIntervalMs);
      // Only a connection that stays up resets the backoff, so a server that accepts and then
      // drops us at once does not get hammered.
      this.stableTimer = setTimeout(() => {
        this.failures = 0;
      }, STABLE_AFTER_MS);
      this.emit("open");
    };
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        console.warn("ignoring a frame that is not JSON", event.data);
        return;
      }
      if (frame && frame.type === "pong") clearTimeout(this.pongTimer);
      this.emit("frame", { frame });
    };
    ws.onerror = () => {
      /* the close event follows and carries what we need */
    };
    ws.onclose = (event) => {
      this.detach(ws);
      if (this.ws === ws) this.ws = null;
      if (this.state === "stopped") return;
      this.emit("close", { wasOpen: opened, code: event.code, reason: event.reason });
      this.scheduleRetry({ refused: !opened, code: event.code, reason: event.reason });
    };
  }

  ping() {
    if (!this.send({ action: "ping", requestId: this.nextRequestId("p") })) return;
    clearTimeout(this.pongTimer);
    this.pongTimer = setTimeout(() => this.dropDeadSocket(), PONG_TIMEOUT_MS);
  }

  /** The socket looks open but nothing comes back: give up on it and reconnect. */
  dropDeadSocket() {
    const ws = this.ws;
    if (!ws) return;
    this.detach(ws);
    this.ws = null;
    try {
      ws.close(4000, "no pong");
    } catch {
      /* ignore */
    }
    this.emit("close", { wasOpen: true, code: 4000, reason: "no pong" });
    this.scheduleRetry({ refused: false, code: 4000 });
  }

  scheduleRetry(extra) {
    this.clearTimers();
    if (this.state === "stopped") return;
    const delay = backoffDelay(this.failures);
    this.failures += 1;
    this.retryAt = Date.now() + delay;
    this.setState("waiting", extra);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
