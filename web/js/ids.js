// Random identifiers in the protocol's alphabet [A-Za-z0-9_-].

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const DEVICE_KEY = "chat.deviceId";
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function randomId(length = 22) {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 63];
  return out;
}

/** A stable id for this browser install (1-64 of [A-Za-z0-9_-]), kept in localStorage. */
export function deviceId() {
  let id = null;
  try {
    id = localStorage.getItem(DEVICE_KEY);
  } catch {
    /* storage disabled: a per-page id still works */
  }
  if (!id || !ID_PATTERN.test(id)) {
    id = `web-${randomId(20)}`;
    try {
      localStorage.setItem(DEVICE_KEY, id);
    } catch {
      /* ignore */
    }
  }
  return id;
}
