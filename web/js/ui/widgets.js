// Small pieces more than one view draws: avatars, check marks, message text with links.

import { clear, h, icon } from "../dom.js";

const AVATAR_COLORS = ["#e17076", "#7bc862", "#e5ca77", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];

const STATUS_LABEL = {
  pending: "Sending",
  failed: "Not sent",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
};

export function colorFor(text) {
  let hash = 0;
  for (const ch of String(text)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return AVATAR_COLORS[hash % AVATAR_COLORS.length];
}

function initials(text) {
  const words = String(text || "?")
    .replace(/[_\-.@]+/g, " ")
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[1][0] : (words[0] || "?").slice(0, 2);
  return letters.toUpperCase();
}

export function fillAvatar(el, text, isGroup = false) {
  clear(el);
  el.style.background = colorFor(text);
  if (isGroup) el.append(icon("group"));
  else el.textContent = initials(text);
  return el;
}

export function avatar(text, isGroup = false) {
  return fillAvatar(h("span", { class: "avatar", "aria-hidden": "true" }), text, isGroup);
}

/** Message text with http(s) links made clickable (never innerHTML). */
export function richText(text) {
  const parts = String(text).split(/(https?:\/\/[^\s<>"']+)/g);
  return parts.map((part, i) =>
    i % 2 === 1 ? h("a", { href: part, target: "_blank", rel: "noopener noreferrer" }, part) : part,
  );
}

const STATUS_ICON = { pending: "clock", failed: "error", sent: "check", delivered: "doubleCheck", read: "doubleCheck" };

/** The clock, one check, two checks (grey or blue) or the error sign of one of my messages. */
export function statusIcon(status) {
  return setStatus(h("span", { "data-testid": "message-status", role: "img" }), status);
}

/** Shows `status` in an element made by statusIcon, which stays in place. */
export function setStatus(el, status) {
  el.className = `ticks ticks-${status}`;
  el.title = STATUS_LABEL[status];
  el.setAttribute("aria-label", STATUS_LABEL[status]);
  el.replaceChildren(icon(STATUS_ICON[status]));
  return el;
}

/** User ids typed into a field, separated by spaces, commas or semicolons. */
export function parseIds(text) {
  return [...new Set(String(text).split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean))];
}
