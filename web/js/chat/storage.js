// What one user's client keeps across reloads (the outbox, read watermarks), in localStorage under
// `chat.u.<userId>.<key>`.

export class UserStorage {
  constructor(userId) {
    this.prefix = `chat.u.${userId}.`;
  }

  load(key, fallback) {
    try {
      const raw = localStorage.getItem(this.prefix + key);
      return raw ? JSON.parse(raw) : fallback;
    } catch {
      return fallback;
    }
  }

  save(key, value) {
    try {
      localStorage.setItem(this.prefix + key, JSON.stringify(value));
    } catch {
      /* storage full or disabled: state lives in memory only */
    }
  }
}
