// The connection state under your name ("online", "connecting…", "offline") and the banners in the
// sidebar and the chat while the connection is down, with the seconds until the next attempt.

const $ = (id) => document.getElementById(id);

export class ConnectionBanner {
  constructor({ connection, on }) {
    this.conn = connection;
    this.status = { state: "connecting" };
    this.hadOpen = false; // "Reconnecting…" shows only after a first connection
    this.countdown = null;
    on($("banner-retry"), "click", () => this.conn.reconnectNow());
  }

  destroy() {
    clearInterval(this.countdown);
  }

  update(status) {
    this.status = status;
    this.render();
    clearInterval(this.countdown);
    if (status.state === "waiting") this.countdown = setInterval(() => this.render(), 1000);
    if (status.state === "open") this.hadOpen = true;
  }

  render() {
    const { state, retryAt, refused, reason } = this.status;
    const label = $("conn-state");
    const banner = $("banner");
    const text = $("banner-text");
    const seconds = retryAt ? Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) : 0;
    const chatBanner = $("chat-banner");
    label.dataset.state = state;
    if (state === "open") {
      label.textContent = "online";
      banner.hidden = true;
      chatBanner.hidden = true;
      return;
    }
    if (state === "connecting") {
      label.textContent = "connecting…";
      banner.hidden = !this.hadOpen;
      chatBanner.hidden = !this.hadOpen;
      text.textContent = "Reconnecting…";
      $("chat-banner-text").textContent = "Reconnecting…";
      $("banner-retry").hidden = true;
      return;
    }
    label.textContent = "offline";
    banner.hidden = false;
    $("banner-retry").hidden = false;
    const offline = navigator.onLine === false;
    let message;
    if (offline) message = "You're offline. Messages will be sent when the connection is back.";
    else if (refused && reason) message = `Can't connect: ${reason}`;
    else if (refused) message = "Can't connect to the chat server.";
    else message = "Connection lost.";
    text.textContent = `${message} Retrying in ${seconds}s.`;
    banner.classList.toggle("banner-error", Boolean(refused));
    chatBanner.hidden = false;
    $("chat-banner-text").textContent = offline ? "Waiting for network…" : `Not connected. Retrying in ${seconds}s.`;
    chatBanner.classList.toggle("banner-error", Boolean(refused));
  }
}
