// The messages of the open chat: day separators, group notices, the "unread messages" line, bubbles
// with check marks, the clock and "Not sent" (Retry / Delete) of unsent ones. Elements are keyed and
// rebuilt only when what they show changed, and check marks that move are updated in place (a
// click on your message, for message info, must survive its check marks turning blue: a browser
// fires `click` only on an element that stayed in place from the button going down to it coming
// up). The scroll position follows new messages at the bottom and otherwise stays anchored. Older
// messages load when the top comes into sight.
//
// A message also shows the message it answers (a quote), "edited", the placeholder of a message
// deleted for everyone, and its reactions as chips (emoji and count; yours highlighted, and a
// click on one sets or removes yours). Its menu (message-menu.js) opens from a small button.
//
// Attachments: a photo shows inline (its box sized from width / height before it loads; a click
// opens it full screen, with a download link), another file as a chip that downloads it; the
// caption goes under it. A URL that has expired or fails to load is asked for again (attachments.js).
// An upload on its way shows as a pending bubble with its progress, and Retry / Dismiss if it failed.

import { attachmentLabel, humanSize, isImage } from "../chat/attachments.js";
import { clear, h, icon } from "../dom.js";
import { dayKey, formatDay, formatFull, formatTime } from "../format.js";
import { colorFor, richText, setStatus, statusIcon } from "./widgets.js";

const NEAR_BOTTOM_PX = 120;
const STORED = new Set(["sent", "delivered", "read"]); // the statuses of a message with a seq
const NEAR_TOP_PX = 150;
const IMAGE_MAX_W = 300;
const IMAGE_MAX_H = 340;

const $ = (id) => document.getElementById(id);

export const DELETED_TEXT = "This message was deleted";

/** What the quote of the message seq shows: {seq, senderId, text, deleted}, or null when not held. */
export function quoteOf(client, conv, seq) {
  if (!seq) return null;
  const msg = conv.messages.get(seq);
  if (!msg) return null;
  return {
    seq,
    senderId: msg.senderId,
    sender: msg.senderId === client.me ? "You" : msg.senderId,
    text: msg.deleted ? DELETED_TEXT : messageLine(msg),
    deleted: Boolean(msg.deleted),
  };
}

/** A message's text in one line: its text, or what its attachment is (with its caption). */
export function messageLine(msg) {
  const text = (msg.body && msg.body.text) || "";
  return msg.attachment ? attachmentLabel(msg.attachment, text) : text;
}

/** The box an image of width x height is shown in: at most IMAGE_MAX_W x IMAGE_MAX_H. */
function imageBox(attachment) {
  const w = Number(attachment.width) || 0;
  const hgt = Number(attachment.height) || 0;
  if (!(w > 0 && hgt > 0)) return null;
  const scale = Math.min(1, IMAGE_MAX_W / w, IMAGE_MAX_H / hgt);
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(hgt * scale)) };
}

/** The reactions as chips: [{emoji, count, mine}], the most given first, then by emoji. */
function reactionChips(reactions, me) {
  const byEmoji = new Map();
  for (const [userId, emoji] of Object.entries(reactions || {})) {
    if (!emoji) continue;
    const chip = byEmoji.get(emoji) || { emoji, count: 0, mine: false, users: [] };
    chip.count += 1;
    chip.users.push(userId === me ? "You" : userId);
    if (userId === me) chip.mine = true;
    byEmoji.set(emoji, chip);
  }
  return [...byEmoji.values()].sort((a, b) => b.count - a.count || (a.emoji < b.emoji ? -1 : 1));
}

function senderLabel(userId) {
  const el = h("div", { class: "sender" }, userId);
  el.style.color = colorFor(userId);
  return el;
}

export class MessageView {
  /** onMessageInfo(conversationId, seq): the user clicked one of their messages. */
  constructor({ client, on, onMessageInfo, menu }) {
    this.client = client;
    this.menu = menu;
    this.onMessageInfo = onMessageInfo;
    this.elements = new Map(); // item key -> element
    this.renderedConvId = null;
    this.dirty = true; // the next render starts the chat afresh (scroll to the unread line or bottom)
    this.unreadMarker = null; // {conversationId, afterSeq}
    this.stickToBottom = false;
    on($("messages"), "scroll", () => this.onScroll());
    on($("scroll-down"), "click", () => this.scrollToBottom(true));
  }

  /** A chat was opened (conv null: none). */
  opened(conv) {
    // The "unread messages" line stays where it was when the chat opened, even when older
    // (also unread) messages are loaded above it later.
    this.unreadMarker =
      conv && this.client.watermarks.unreadCount(conv) > 0
        ? { conversationId: conv.id, afterSeq: Math.max(conv.myRead, (conv.minSeq || 1) - 1) }
        : null;
    this.dirty = true;
  }

  /** The open draft became a real conversation. */
  replaced() {
    this.dirty = true;
  }

  /** The user sent a message: show the bottom after the next render. */
  followNext() {
    this.stickToBottom = true;
  }

  clear() {
    this.closeViewer();
    clear($("message-list"));
    this.elements.clear();
  }

  render(conv) {
    if (!conv) {
      if (this.renderedConvId) {
        this.clear();
        this.renderedConvId = null;
      }
      return;
    }
    const box = $("messages");
    const list = $("message-list");
    const switched = this.renderedConvId !== conv.id || this.dirty;
    if (this.renderedConvId !== conv.id) {
      this.clear();
      this.renderedConvId = conv.id;
    }
    this.dirty = false;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM_PX;
    // The first visible element anchors the scroll position across prepends and re-renders.
    const anchorEl = switched ? null : this.firstVisible(box, list);
    const anchorKey = anchorEl ? anchorEl._key : null;
    const anchorTop = anchorEl ? anchorEl.getBoundingClientRect().top : 0;

    const items = this.items(conv);
    const wanted = new Set(items.map((i) => i.key));
    for (const [key, el] of this.elements) {
      if (!wanted.has(key)) {
        el.remove();
        this.elements.delete(key);
      }
    }
    let cursor = list.firstElementChild;
    for (const item of items) {
      const sig = this.signature(item);
      let el = this.elements.get(item.key);
      if (el && el._sig !== sig && this.updateStatus(el, item)) el._sig = sig;
      if (!el || el._sig !== sig) {
        const fresh = this.build(item, conv);
        fresh._sig = sig;
        fresh._key = item.key;
        fresh._item = item;
        if (el) {
          if (cursor === el) cursor = fresh;
          el.replaceWith(fresh);
        }
        el = fresh;
        this.elements.set(item.key, el);
      }
      if (item.kind === "upload") this.setProgress(el, item);
      if (el !== cursor) list.insertBefore(el, cursor);
      else cursor = cursor.nextElementSibling;
    }

    const status = $("history-status");
    status.textContent = conv.loadingHistory ? "Loading older messages…" : "";
    status.classList.toggle("loading", Boolean(conv.loadingHistory));

    // Scroll: new chat -> to the unread marker or bottom; new messages -> follow if the user was
    // at the bottom; otherwise (older messages prepended, a message re-rendered) stay put.
    if (switched) {
      const marker = list.querySelector("[data-testid=unread-separator]");
      if (marker) marker.scrollIntoView({ block: "center" });
      else box.scrollTop = box.scrollHeight;
    } else if (this.stickToBottom || atBottom) {
      box.scrollTop = box.scrollHeight;
    } else if (anchorKey && this.elements.has(anchorKey)) {
      box.scrollTop += this.elements.get(anchorKey).getBoundingClientRect().top - anchorTop;
    }
    this.stickToBottom = false;
    this.updateScrollButton(conv);
    // Fill the view, and keep going while the top is in sight (no scroll event fires when the
    // view opens scrolled to the top, e.g. at a long run of unread messages).
    const topInSight = box.scrollHeight <= box.clientHeight + 10 || box.scrollTop < NEAR_TOP_PX;
    if (conv.hasMore !== false && !conv.loadingHistory && topInSight && conv.minSeq !== 1) {
      this.loadOlder(conv.id);
    }
  }

  /** What the chat shows, in order: {key, kind: "day"|"notice"|"unread"|"message", ...}. */
  items(conv) {
    const c = this.client;
    const items = [];
    const notices = [...conv.notices];
    let lastDay = null;
    let prev = null;
    const pushDay = (at) => {
      const key = dayKey(at);
      if (key && key !== lastDay) {
        lastDay = key;
        items.push({ key: `d:${key}`, kind: "day", text: formatDay(at) });
        prev = null;
      }
    };
    const flushNotices = (seq) => {
      while (notices.length && notices[0].afterSeq < seq) {
        const n = notices.shift();
        pushDay(n.at);
        items.push({ key: `n:${n.at}:${n.text}`, kind: "notice", text: n.text });
        prev = null;
      }
    };
    const marker = this.unreadMarker && this.unreadMarker.conversationId === conv.id ? this.unreadMarker : null;
    let markerShown = false;
    for (const msg of c.conversations.sortedMessages(conv)) {
      flushNotices(msg.seq);
      pushDay(msg.sentAt);
      const mine = msg.senderId === c.me;
      if (marker && !markerShown && !mine && msg.seq > marker.afterSeq) {
        markerShown = true;
        items.push({ key: "unread", kind: "unread", text: "Unread messages" });
        prev = null;
      }
      const status = mine ? c.watermarks.statusOf(conv, msg.seq) : null;
      const deleted = Boolean(msg.deleted);
      items.push({
        key: msg.clientMsgId ? `c:${msg.senderId}:${msg.clientMsgId}` : `m:${msg.seq}`,
        kind: "message",
        mine,
        seq: msg.seq,
        senderId: msg.senderId,
        text: !deleted && msg.body && typeof msg.body.text === "string" ? msg.body.text : "",
        at: msg.sentAt,
        status,
        first: !prev || prev.senderId !== msg.senderId,
        deleted,
        edited: !deleted && Boolean(msg.editedAt),
        editedAt: msg.editedAt || null,
        quote: quoteOf(c, conv, msg.replyTo),
        attachment: deleted || !msg.attachment ? null : msg.attachment,
        reactions: deleted ? [] : reactionChips(msg.reactions, c.me),
        menu: !conv.left && !deleted,
      });
      prev = items[items.length - 1];
    }
    flushNotices(Infinity);
    for (const entry of c.outbox.pendingFor(conv)) {
      pushDay(entry.createdAt);
      items.push({
        key: `c:${c.me}:${entry.clientMsgId}`,
        kind: "message",
        mine: true,
        seq: null,
        senderId: c.me,
        clientMsgId: entry.clientMsgId,
        text: entry.text,
        at: entry.createdAt,
        status: entry.status === "failed" ? "failed" : "pending",
        error: entry.error,
        first: !prev || prev.senderId !== c.me,
        quote: quoteOf(c, conv, entry.replyTo),
        attachment: entry.attachment || null,
      });
      prev = items[items.length - 1];
    }
    for (const up of c.attachments.pendingFor(conv.id)) {
      pushDay(up.createdAt);
      items.push({
        key: `u:${up.id}`,
        kind: "upload",
        mine: true,
        uploadId: up.id,
        name: up.name,
        size: up.size,
        image: up.contentType.startsWith("image/"),
        localUrl: up.localUrl,
        width: up.width,
        height: up.height,
        text: up.caption,
        at: up.createdAt,
        status: up.status,
        progress: up.progress,
        error: up.error,
        first: !prev || prev.senderId !== c.me,
      });
      prev = items[items.length - 1];
    }
    return items;
  }

  signature(item) {
    return JSON.stringify([
      item.kind,
      item.text,
      item.seq,
      item.status,
      item.first,
      item.at,
      item.error,
      item.deleted,
      item.editedAt,
      item.quote,
      item.reactions,
      item.menu,
      item.attachment,
      item.kind === "upload" ? [item.width, item.height] : null, // its progress is updated in place
    ]);
  }

  /** Updates el in place when only its check marks moved (sent, delivered, read); false if not. */
  updateStatus(el, item) {
    const before = el._item;
    if (!before || !STORED.has(before.status) || !STORED.has(item.status)) return false;
    if (this.signature({ ...before, status: item.status }) !== this.signature(item)) return false;
    el.dataset.status = item.status;
    setStatus(el.querySelector("[data-testid=message-status]"), item.status);
    el._item = item;
    return true;
  }

  build(item, conv) {
    if (item.kind === "day") return h("div", { class: "day-sep" }, h("span", {}, item.text));
    if (item.kind === "notice") return h("div", { class: "notice", "data-testid": "notice" }, h("span", {}, item.text));
    if (item.kind === "unread") return h("div", { class: "unread-sep", "data-testid": "unread-separator" }, h("span", {}, item.text));
    if (item.kind === "upload") return this.buildUpload(item);
    const isGroup = conv.kind === "group";
    const hasMenu = Boolean(item.menu && item.seq !== null && this.menu);
    const bubble = h(
      "div",
      { class: "bubble" },
      hasMenu
        ? h(
            "button",
            {
              type: "button",
              class: "msg-menu-btn",
              "data-testid": "message-menu-button",
              "aria-label": "Message actions",
              "aria-haspopup": "menu",
              title: "Message actions",
              onclick: (e) => {
                e.stopPropagation();
                this.menu.toggle(conv.id, item.seq, e.currentTarget.closest(".bubble"));
              },
              onkeydown: (e) => e.stopPropagation(),
            },
            icon("down"),
          )
        : null,
      isGroup && !item.mine && item.first ? senderLabel(item.senderId) : null,
      item.quote ? this.quote(item.quote) : null,
      item.attachment ? this.attachment(item.attachment, conv, item.seq) : null,
      item.deleted
        ? h("div", { class: "text deleted", "data-testid": "message-deleted" }, DELETED_TEXT)
        : h("div", { class: "text", "data-testid": "message-text" }, richText(item.text)),
      h(
        "div",
        { class: "meta" },
        item.edited
          ? h("span", { class: "edited", "data-testid": "message-edited", title: `Edited ${formatFull(item.editedAt)}` }, "edited")
          : null,
        h("time", { datetime: item.at || "", title: formatFull(item.at) }, formatTime(item.at)),
        item.mine ? statusIcon(item.status) : null,
      ),
    );
    const chips =
      item.reactions && item.reactions.length
        ? h(
            "div",
            { class: "reactions", "data-testid": "reactions" },
            item.reactions.map((chip) =>
              h(
                "button",
                {
                  type: "button",
                  class: `reaction${chip.mine ? " mine" : ""}`,
                  "data-testid": "reaction",
                  "data-emoji": chip.emoji,
                  "data-count": String(chip.count),
                  "data-mine": String(chip.mine),
                  "aria-pressed": String(chip.mine),
                  "aria-label": `${chip.emoji} ${chip.count}: ${chip.users.join(", ")}${chip.mine ? " (click to remove yours)" : ""}`,
                  title: chip.users.join(", "),
                  disabled: conv.left,
                  onclick: (e) => {
                    e.stopPropagation();
                    this.client.changes.react(conv.id, item.seq, chip.emoji).catch(() => {});
                  },
                },
                h("span", { class: "reaction-emoji" }, chip.emoji),
                chip.count > 1 ? h("span", { class: "reaction-count" }, String(chip.count)) : null,
              ),
            ),
          )
        : null;
    const el = h(
      "div",
      {
        class: `msg ${item.mine ? "mine" : "theirs"}${item.first ? " first" : ""}${item.status === "failed" ? " failed" : ""}`,
        "data-testid": "message",
        "data-seq": item.seq === null ? "" : String(item.seq),
        "data-status": item.mine ? item.status : "received",
        "data-mine": String(item.mine),
        "data-sender": item.senderId,
        "data-deleted": item.deleted ? "true" : null,
        "data-edited": item.edited ? "true" : null,
      },
      bubble,
      chips,
    );
    if (hasMenu) this.menu.attach(el, conv.id, item.seq);
    if (item.mine && item.seq !== null) {
      el.classList.add("clickable");
      if (item.attachment) el.classList.add("has-attachment");
      el.title = "Message info";
      el.tabIndex = 0;
      const show = () => this.onMessageInfo(conv.id, item.seq);
      el.addEventListener("click", (e) => {
        if (e.target.closest("a, button, [data-testid=message-quote]")) return;
        show();
      });
      el.addEventListener("keydown", (e) => {
        if (e.key === "Enter") show();
      });
    }
    if (item.status === "failed") {
      const { outbox } = this.client;
      el.append(
        h(
          "div",
          { class: "failed-actions" },
          h("span", {}, item.error ? `Not sent: ${item.error}` : "Not sent."),
          h("button", { type: "button", class: "link", "data-testid": "retry-send", onclick: () => outbox.retry(item.clientMsgId) }, "Retry"),
          h("button", { type: "button", class: "link", onclick: () => outbox.discard(item.clientMsgId) }, "Delete"),
        ),
      );
    }
    return el;
  }

  // ---- attachments ---------------------------------------------------------------------------------

  /** The photo or file of a message (seq null: still in the outbox). */
  attachment(a, conv, seq) {
    const attachments = this.client.attachments;
    const expired = attachments.expired(a);
    const local = attachments.localUrl(a.attachmentId);
    if (expired && seq !== null && !local) attachments.refresh(conv.id, seq);
    const url = (!expired && a.url) || local || a.url || null;
    const name = a.name || (isImage(a) ? "Photo" : "File");
    if (isImage(a)) {
      const box = imageBox(a);
      const img = h("img", {
        class: "message-image",
        "data-testid": "message-image",
        alt: name,
        loading: "lazy",
        decoding: "async",
        width: box ? box.width : null,
        height: box ? box.height : null,
        src: url,
        onerror: () => {
          if (seq !== null) attachments.refresh(conv.id, seq);
        },
      });
      return h(
        "a",
        {
          class: `image-link${box ? "" : " unsized"}`,
          href: url || null,
          title: "Open the photo",
          onclick: (e) => {
            e.preventDefault();
            e.stopPropagation();
            if (img.src) this.openViewer(img.currentSrc || img.src, name);
          },
        },
        img,
      );
    }
    return h(
      "a",
      {
        class: "file-chip",
        "data-testid": "file-chip",
        href: url,
        download: name,
        target: "_blank",
        rel: "noopener",
        title: `Download ${name}`,
        onclick: (e) => {
          e.stopPropagation();
          if (!url || (url === a.url && attachments.expired(a))) {
            // The link expired since it was drawn: ask for a fresh one (the chip is then redrawn).
            e.preventDefault();
            if (seq !== null) attachments.refresh(conv.id, seq);
          }
        },
      },
      h("span", { class: "file-icon" }, icon("file")),
      h(
        "span",
        { class: "file-text" },
        h("span", { class: "file-name", "data-testid": "file-name" }, name),
        h("span", { class: "file-size" }, humanSize(a.size)),
      ),
      h("span", { class: "file-download" }, icon("download")),
    );
  }

  /** An upload on its way (or failed): thumbnail or file name, progress, caption. */
  buildUpload(item) {
    const attachments = this.client.attachments;
    const failed = item.status === "failed";
    const box = item.image ? imageBox(item) : null;
    const bar = h("div", { class: "progress-bar" }, h("div", { class: "progress-fill" }));
    const preview = item.image
      ? h("img", { class: "message-image upload-thumb", alt: item.name, src: item.localUrl, width: box ? box.width : null, height: box ? box.height : null })
      : h("div", { class: "file-chip pending" }, h("span", { class: "file-icon" }, icon("file")), h("span", { class: "file-text" }, h("span", { class: "file-name" }, item.name), h("span", { class: "file-size" }, humanSize(item.size))));
    const el = h(
      "div",
      {
        class: `msg mine upload${item.first ? " first" : ""}${failed ? " failed" : ""}`,
        "data-testid": "upload",
        "data-status": failed ? "failed" : "uploading",
      },
      h(
        "div",
        { class: "bubble" },
        h("div", { class: "upload-preview" }, preview),
        failed
          ? null
          : h(
              "div",
              { class: "upload-progress", "data-testid": "upload-progress", role: "progressbar", "aria-label": `Uploading ${item.name}`, "aria-valuemin": "0", "aria-valuemax": "100" },
              bar,
              h("span", { class: "progress-text" }),
            ),
        item.text ? h("div", { class: "text", "data-testid": "message-text" }, richText(item.text)) : null,
        h("div", { class: "meta" }, h("time", { datetime: item.at || "", title: formatFull(item.at) }, formatTime(item.at)), statusIcon(failed ? "failed" : "pending")),
      ),
    );
    if (failed) {
      el.append(
        h(
          "div",
          { class: "failed-actions" },
          h("span", {}, `Not sent: ${item.error || "the upload failed."}`),
          h("button", { type: "button", class: "link", "data-testid": "upload-retry", onclick: () => attachments.retry(item.uploadId) }, "Retry"),
          h("button", { type: "button", class: "link", "data-testid": "upload-dismiss", onclick: () => attachments.dismiss(item.uploadId) }, "Dismiss"),
        ),
      );
    } else {
      el.querySelector(".bubble").append(
        h("button", { type: "button", class: "link upload-cancel", "data-testid": "upload-cancel", onclick: () => attachments.dismiss(item.uploadId) }, "Cancel"),
      );
    }
    return el;
  }

  /** Moves an upload's progress bar in place (a rebuild per percent would flicker its thumbnail). */
  setProgress(el, item) {
    const box = el.querySelector("[data-testid=upload-progress]");
    if (!box) return;
    const pct = item.status === "preparing" ? 0 : item.progress;
    box.dataset.progress = String(pct);
    box.setAttribute("aria-valuenow", String(pct));
    box.querySelector(".progress-fill").style.width = `${pct}%`;
    const text = item.status === "preparing" ? "Preparing…" : `${pct}%`;
    const label = box.querySelector(".progress-text");
    if (label.textContent !== text) label.textContent = text;
  }

  /** The photo full screen: a click anywhere or Escape closes it. */
  openViewer(url, name) {
    this.closeViewer();
    const close = () => this.closeViewer();
    const viewer = h(
      "div",
      { class: "image-viewer", "data-testid": "image-viewer", role: "dialog", "aria-modal": "true", "aria-label": name, tabindex: "-1", onclick: close },
      h("img", { src: url, alt: name }),
      h(
        "div",
        { class: "viewer-bar" },
        h("span", { class: "viewer-name" }, name),
        h(
          "a",
          { class: "icon-btn", href: url, download: name, target: "_blank", rel: "noopener", "data-testid": "viewer-download", title: "Download", "aria-label": "Download", onclick: (e) => e.stopPropagation() },
          icon("download"),
        ),
        h("button", { type: "button", class: "icon-btn", "data-testid": "viewer-close", "aria-label": "Close" }, icon("close")),
      ),
    );
    this.viewerKeys = (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        e.preventDefault();
        close();
      }
    };
    window.addEventListener("keydown", this.viewerKeys, true);
    document.body.append(viewer);
    this.viewer = viewer;
    viewer.focus();
  }

  closeViewer() {
    if (this.viewerKeys) window.removeEventListener("keydown", this.viewerKeys, true);
    this.viewerKeys = null;
    if (this.viewer) this.viewer.remove();
    this.viewer = null;
  }

  /** The quoted message above a message's text; a click shows it. */
  quote(q) {
    const el = h(
      "div",
      {
        class: `quote${q.deleted ? " deleted" : ""}`,
        "data-testid": "message-quote",
        "data-reply-to": String(q.seq),
        title: "Show the message",
        onclick: (e) => {
          e.stopPropagation();
          this.reveal(q.seq);
        },
      },
      h("div", { class: "quote-sender", "data-testid": "quote-sender" }, q.sender),
      h("div", { class: "quote-text", "data-testid": "quote-text" }, q.text),
    );
    el.style.borderColor = colorFor(q.senderId);
    el.firstChild.style.color = colorFor(q.senderId);
    return el;
  }

  /** Scrolls to the message seq of the open chat and flashes it. */
  reveal(seq) {
    const target = $("message-list").querySelector(`[data-testid=message][data-seq="${seq}"]`);
    if (!target) return;
    target.scrollIntoView({ block: "center", behavior: "smooth" });
    target.classList.remove("flash");
    void target.offsetWidth;
    target.classList.add("flash");
  }

  firstVisible(box, list) {
    const top = box.getBoundingClientRect().top;
    // Messages only: day separators are reused and move when older messages arrive.
    for (const el of list.children) {
      if (el.classList.contains("msg") && el.getBoundingClientRect().bottom > top) return el;
    }
    return null;
  }

  updateScrollButton(conv) {
    const box = $("messages");
    const away = box.scrollHeight - box.scrollTop - box.clientHeight > NEAR_BOTTOM_PX * 2;
    $("scroll-down").hidden = !away;
    const unread = conv ? this.client.watermarks.unreadCount(conv) : 0;
    $("scroll-down-count").textContent = unread ? String(unread) : "";
  }

  onScroll() {
    const conv = this.client.openId ? this.client.conversations.get(this.client.openId) : null;
    if (!conv) return;
    this.updateScrollButton(conv);
    if ($("messages").scrollTop < NEAR_TOP_PX) this.loadOlder(conv.id);
  }

  loadOlder(conversationId) {
    const promise = this.client.sync.loadHistory(conversationId);
    if (promise) promise.catch(() => {});
  }

  scrollToBottom(smooth) {
    const box = $("messages");
    box.scrollTo({ top: box.scrollHeight, behavior: smooth ? "smooth" : "auto" });
  }
}
