// Web Push: where the browser allows it (a service worker, PushManager, and a VAPID public key in
// config.json as `webPushPublicKey`), the device subscribes and sends `registerPush` (platform
// "webpush", the subscription's JSON as the token) each time its socket opens; signing out sends
// `unregisterPush`. Anywhere else it does nothing: the chat works the same without notifications.

function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

export function webPushSupported(config) {
  return Boolean(config.webPushPublicKey && "serviceWorker" in navigator && "PushManager" in window);
}

async function subscription(config) {
  const registration = await navigator.serviceWorker.register(new URL("sw.js", document.baseURI));
  const existing = await registration.pushManager.getSubscription();
  if (existing) return existing;
  if ((await registration.pushManager.permissionState({ userVisibleOnly: true })) === "denied") return null;
  return registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: keyBytes(config.webPushPublicKey),
  });
}

export class WebPush {
  constructor(connection, config) {
    this.connection = connection;
    this.config = config;
    this.registered = false;
    this.onOpen = () => this.register().catch((err) => console.info("web push not registered:", err.message));
    if (webPushSupported(config)) connection.addEventListener("open", this.onOpen);
  }

  async register() {
    const sub = await subscription(this.config);
    if (!sub) return;
    const token = JSON.stringify(sub.toJSON ? sub.toJSON() : sub);
    this.registered = this.connection.send({ action: "registerPush", platform: "webpush", token }) || this.registered;
  }

  // Before the socket closes for good (signing out): this device gets no more notifications.
  signOut() {
    this.connection.removeEventListener("open", this.onOpen);
    if (this.registered) this.connection.send({ action: "unregisterPush" });
  }
}
