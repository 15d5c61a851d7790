// Runtime configuration: config.json next to index.html (written at deploy time), merged over
// defaults that fit the local stack. No build step: edit or generate config.json only.

const DEFAULTS = {
  // "local": user id + GET <tokenUrl>?userId=... ; "cognito": Cognito user pool sign-in.
  mode: "",
  // Empty: ws(s)://<this host>/ws. Production: the API Gateway WebSocket stage URL (wss://...).
  websocketUrl: "",
  tokenUrl: "/dev/token",
  cognito: { region: "", userPoolId: "", clientId: "" },
  pingIntervalMs: 4 * 60 * 1000,
  // Web Push: the VAPID public key (base64url); empty: the client does not register for Web Push.
  webPushPublicKey: "",
};

function merge(base, extra) {
  const out = { ...base };
  for (const [key, value] of Object.entries(extra || {})) {
    if (value && typeof value === "object" && !Array.isArray(value) && typeof base[key] === "object") {
      out[key] = merge(base[key] || {}, value);
    } else if (value !== undefined && value !== null) {
      out[key] = value;
    }
  }
  return out;
}

export async function loadConfig() {
  let fromFile = {};
  try {
    const response = await fetch(new URL("config.json", document.baseURI), { cache: "no-store" });
    if (response.ok) fromFile = await response.json();
  } catch (err) {
    console.warn("config.json not loaded, using defaults", err);
  }
  const config = merge(DEFAULTS, fromFile);
  if (!config.cognito.region && config.cognito.userPoolId) {
    config.cognito.region = String(config.cognito.userPoolId).split("_")[0];
  }
  if (config.mode !== "local" && config.mode !== "cognito") {
    config.mode = config.cognito.clientId ? "cognito" : "local";
  }
  return config;
}

export function websocketBaseUrl(config) {
  if (config.websocketUrl) return config.websocketUrl;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

export function websocketUrl(config, token, deviceId) {
  const url = new URL(websocketBaseUrl(config), location.href);
  url.searchParams.set("token", token);
  url.searchParams.set("deviceId", deviceId);
  return url.toString();
}
