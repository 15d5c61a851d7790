// Photos and files (PROTOCOL.md, "Attachments (photos and files)"). Sending one takes three steps:
// `requestUpload` answers `uploadReady` (a presigned S3 POST); the file goes to S3 by XMLHttpRequest
// (its upload progress is shown); then the outbox sends the message with its `attachment`, and from
// there it is kept, re-sent and retried like any other message. An upload lives in memory only (a
// file picked cannot be read again after a reload); once handed to the outbox it is persisted there.
//
// Download URLs are presigned and expire (`urlExpiresAt`): a message whose URL has expired, or whose
// image failed to load, is asked for again with `history` (beforeSeq: seq + 1, limit: 1), at most
// once per message per minute. The sending device gets `sent`, not the `message` with its URL: it
// shows the file from the copy it picked (an object URL) until a URL comes.

import { randomId } from "../ids.js";

export const MAX_ATTACHMENT_BYTES = 16 * 1024 * 1024;
export const ALLOWED_TYPES = new Set([
  "image/jpeg",
  "image/png",
  "image/gif",
  "image/webp",
  "image/heic",
  "application/pdf",
  "text/plain",
  "audio/mpeg",
  "audio/mp4",
  "audio/ogg",
  "video/mp4",
  "video/quicktime",
  "application/zip",
]);
// Types some browsers leave empty or name otherwise, by file extension.
const BY_EXTENSION = {
  heic: "image/heic",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  txt: "text/plain",
  m4a: "audio/mp4",
  mov: "video/quicktime",
  zip: "application/zip",
};
const ALIASES = { "application/x-zip-compressed": "application/zip", "audio/x-m4a": "audio/mp4", "audio/mp3": "audio/mpeg" };
const REFRESH_EVERY_MS = 60 * 1000;
const MAX_NAME = 255;

/** The type the server is to be told for file, or null when it takes no such file. */
export function attachmentType(file) {
  let type = (file.type || "").toLowerCase();
  type = ALIASES[type] || type;
  if (!type) {
    const ext = (file.name || "").toLowerCase().split(".").pop();
    type = BY_EXTENSION[ext] || "";
  }
  return ALLOWED_TYPES.has(type) ? type : null;
}

export function isImage(attachment) {
  return Boolean(attachment && typeof attachment.contentType === "string" && attachment.contentType.startsWith("image/"));
}

/** "12 KB", "3.4 MB". */
export function humanSize(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** What a message with this attachment and caption says in one line (chat list, quotes). */
export function attachmentLabel(attachment, caption) {
  const mark = isImage(attachment) ? "📷" : "📎";
  if (caption) return `${mark} ${caption}`;
  return isImage(attachment) ? `${mark} Photo` : `${mark} ${attachment.name || "File"}`;
}

async function imageSize(file) {
  try {
    if (typeof createImageBitmap === "function") {
      const bitmap = await createImageBitmap(file);
      const size = { width: bitmap.width, height: bitmap.height };
      if (bitmap.close) bitmap.close();
      return size;
    }
  } catch {
    // not an image this browser can decode (e.g. HEIC): sent without a size
  }
  return null;
}

export class Attachments {
  constructor(chat) {
    this.chat = chat;
    this.uploads = []; // {id, conversationId, file, name, contentType, size, width, height, caption, replyTo, status, progress, error, localUrl, xhr}
    this.localUrls = new Map(); // attachmentId -> object URL of the file this device sent
    this.refreshedAt = new Map(); // "conversationId:seq" -> when its URL was last asked for
  }

  destroy() {
    for (const up of this.uploads) if (up.xhr) up.xhr.abort();
    for (const url of this.localUrls.values()) URL.revokeObjectURL(url);
    for (const up of this.uploads) if (up.localUrl) URL.revokeObjectURL(up.localUrl);
    this.uploads = [];
    this.localUrls.clear();
  }

  /** The uploads shown in the conversation conversationId. */
  pendingFor(conversationId) {
    return this.uploads.filter((u) => u.conversationId === conversationId);
  }

  /** The object URL of a file this device sent, while it has one. */
  localUrl(attachmentId) {
    return this.localUrls.get(attachmentId) || null;
  }

  /** Checks file; returns an error text for the user, or null when it may be sent. */
  check(file) {
    if (!attachmentType(file)) {
      return `"${file.name}" can't be sent: photos (JPEG, PNG, GIF, WebP, HEIC), PDF, text, audio, video (MP4, QuickTime) and ZIP files only.`;
    }
    if (file.size <= 0) return `"${file.name}" is empty.`;
    if (file.size > MAX_ATTACHMENT_BYTES) return `"${file.name}" is too large: files can be at most 16 MB.`;
    return null;
  }

  /** Sends file in conversationId with caption (answering replyTo, a seq, if given). Returns an
   * error text when the file cannot be sent (nothing happens then), else null. */
  add(conversationId, file, caption = "", replyTo = null) {
    const conv = this.chat.conversations.get(conversationId);
    if (!conv || conv.draftFor || conv.left) return "Send a message first: photos and files go to an existing chat.";
    const problem = this.check(file);
    if (problem) return problem;
    const contentType = attachmentType(file);
    const up = {
      id: randomId(12),
      conversationId,
      file,
      name: (file.name || "file").slice(0, MAX_NAME),
      contentType,
      size: file.size,
      width: null,
      height: null,
      caption,
      replyTo: replyTo || null,
      status: "preparing",
      progress: 0,
      error: null,
      localUrl: URL.createObjectURL(file),
      xhr: null,
      createdAt: new Date().toISOString(),
    };
    this.uploads.push(up);
    this.run(up);
    this.chat.changed();
    return null;
  }

  retry(id) {
    const up = this.uploads.find((u) => u.id === id);
    if (!up || up.status !== "failed") return;
    this.run(up);
    this.chat.changed();
  }

  dismiss(id) {
    const up = this.uploads.find((u) => u.id === id);
    if (!up) return;
    up.dismissed = true;
    if (up.xhr) up.xhr.abort();
    if (up.localUrl) URL.revokeObjectURL(up.localUrl);
    this.uploads = this.uploads.filter((u) => u !== up);
    this.chat.changed();
  }

  async run(up) {
    const chat = this.chat;
    up.status = "preparing";
    up.progress = 0;
    up.error = null;
    try {
      if (up.contentType.startsWith("image/") && up.width === null) {
        const size = await imageSize(up.file);
        if (size && size.width > 0 && size.height > 0) Object.assign(up, size);
      }
      const ask = { action: "requestUpload", conversationId: up.conversationId, contentType: up.contentType, size: up.size, name: up.name };
      const ready = await chat.requests.send(ask, { conversationId: up.conversationId });
      if (up.dismissed) return;
      up.status = "uploading";
      chat.changed();
      await this.post(up, ready);
      if (up.dismissed) return;
      const attachment = { attachmentId: ready.attachmentId, contentType: up.contentType, size: up.size, name: up.name };
      if (up.width && up.height) Object.assign(attachment, { width: up.width, height: up.height });
      const entry = chat.outbox.add(up.conversationId, up.caption, up.replyTo, attachment);
      if (!entry) throw new Error("This chat no longer takes messages.");
      if (up.localUrl) this.localUrls.set(ready.attachmentId, up.localUrl);
      this.uploads = this.uploads.filter((u) => u !== up);
      chat.changed();
    } catch (err) {
      if (up.dismissed) return;
      up.status = "failed";
      up.xhr = null;
      up.error = err && err.message ? err.message : String(err);
      // A server `error` frame was shown already (client.onError); say what else went wrong.
      if (!(err && err.code)) chat.notice("error", `"${up.name}" was not sent: ${up.error}`);
      chat.changed();
    }
  }

  /** The presigned POST: every field as given, then the file (last). Resolves once S3 took it. */
  post(up, ready) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(ready.fields || {})) form.append(name, value);
      form.append("file", up.file, up.name);
      const xhr = new XMLHttpRequest();
      up.xhr = xhr;
      xhr.open("POST", ready.url);
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        const progress = Math.min(99, Math.floor((e.loaded / e.total) * 100));
        if (progress !== up.progress) {
          up.progress = progress;
          this.chat.changed();
        }
      };
      xhr.onload = () => {
        up.xhr = null;
        if (xhr.status >= 200 && xhr.status < 300) {
          up.progress = 100;
          resolve();
        } else {
          const code = /<Code>([^<]+)<\/Code>/.exec(xhr.responseText || "");
          reject(new Error(`the upload was refused (${xhr.status}${code ? ` ${code[1]}` : ""}).`));
        }
      };
      xhr.onerror = () => {
        up.xhr = null;
        reject(new Error("the upload failed (network error)."));
      };
      xhr.onabort = () => {
        up.xhr = null;
        reject(new Error("the upload was canceled."));
      };
      xhr.send(form);
    });
  }

  // ---- download URLs -------------------------------------------------------------------------------

  /** Whether msg's attachment URL is missing or expired. */
  expired(attachment) {
    if (!attachment || !attachment.url) return true;
    const until = Date.parse(attachment.urlExpiresAt || "");
    return Number.isFinite(until) && until <= Date.now();
  }

  /** Asks the server for message seq again, for a fresh URL (at most once a minute per message). */
  refresh(conversationId, seq) {
    const key = `${conversationId}:${seq}`;
    const last = this.refreshedAt.get(key) || 0;
    if (Date.now() - last < REFRESH_EVERY_MS || !this.chat.conn.isOpen) return;
    this.refreshedAt.set(key, Date.now());
    const frame = { action: "history", conversationId, beforeSeq: seq + 1, limit: 1 };
    this.chat.requests.send(frame, { conversationId, refresh: true }).catch(() => {});
  }
}
