// Short notices at the bottom of the window (errors stay 8 s, others 5 s; the same text at most
// once every 4 s; at most 4 at a time).

import { h, icon } from "../dom.js";

const REPEAT_AFTER_MS = 4000;
const SHOW_ERROR_MS = 8000;
const SHOW_INFO_MS = 5000;
const MAX_SHOWN = 4;

export class Toasts {
  constructor() {
    this.lastShown = new Map(); // text -> when
  }

  show(text, kind = "info") {
    const now = Date.now();
    const last = this.lastShown.get(text);
    if (last && now - last < REPEAT_AFTER_MS) return;
    this.lastShown.set(text, now);
    const el = h(
      "div",
      { class: `toast toast-${kind}`, "data-testid": "toast", role: kind === "error" ? "alert" : "status" },
      kind === "error" ? icon("error") : null,
      h("span", {}, text),
      h("button", { type: "button", class: "icon-btn small", "aria-label": "Dismiss", onclick: () => el.remove() }, icon("close")),
    );
    const box = document.getElementById("toasts");
    box.append(el);
    while (box.children.length > MAX_SHOWN) box.firstElementChild.remove();
    setTimeout(() => el.remove(), kind === "error" ? SHOW_ERROR_MS : SHOW_INFO_MS);
  }

  /** A "notice" of the chat client: quiet ones go to the console only. */
  notice({ kind, text, quiet }) {
    if (quiet) {
      console.info(text);
      return;
    }
    this.show(text, kind);
  }
}
