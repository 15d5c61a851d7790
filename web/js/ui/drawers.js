// The "new chat" and "new group" forms that fold out under the sidebar's top bar.

import { parseIds } from "./widgets.js";

const FORMS = { "new-chat-form": "btn-new-chat", "new-group-form": "btn-new-group" };

const $ = (id) => document.getElementById(id);

export class Drawers {
  /** onOpen(conversationId): open the new chat. toast(text, kind): tell the user. */
  constructor({ client, on, toast, onOpen }) {
    this.client = client;
    this.toast = toast;
    this.onOpen = onOpen;
    on($("btn-new-chat"), "click", () => this.toggle("new-chat-form"));
    on($("btn-new-group"), "click", () => this.toggle("new-group-form"));
    on($("new-chat-form"), "submit", (e) => this.submitNewChat(e));
    on($("new-group-form"), "submit", (e) => this.submitNewGroup(e));
  }

  get isOpen() {
    return Object.keys(FORMS).some((formId) => !$(formId).hidden);
  }

  /** Shows form `id` (or hides it when it is shown); null hides both. */
  toggle(id) {
    for (const [formId, buttonId] of Object.entries(FORMS)) {
      const form = $(formId);
      const show = formId === id && form.hidden;
      form.hidden = !show;
      const button = $(buttonId);
      button.setAttribute("aria-expanded", String(show));
      button.classList.toggle("active", show);
      if (show) form.querySelector("input").focus();
    }
  }

  submitNewChat(event) {
    event.preventDefault();
    const input = $("new-chat-user");
    const userId = input.value.trim();
    if (!userId) {
      input.focus();
      return;
    }
    if (userId === this.client.me) {
      this.toast("That's you. Enter someone else's user id.", "error");
      return;
    }
    const conv = this.client.conversations.directWith(userId);
    input.value = "";
    this.toggle(null);
    this.onOpen(conv.id);
  }

  async submitNewGroup(event) {
    event.preventDefault();
    const nameInput = $("new-group-name");
    const membersInput = $("new-group-members");
    const name = nameInput.value.trim();
    const members = parseIds(membersInput.value).filter((m) => m !== this.client.me);
    if (!name) {
      nameInput.focus();
      this.toast("Give the group a name.", "error");
      return;
    }
    const button = event.target.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const frame = await this.client.conversations.createGroup(name, members);
      nameInput.value = "";
      membersInput.value = "";
      this.toggle(null);
      this.onOpen(frame.conversationId);
    } catch (err) {
      if (!err.code) this.toast(`Could not create the group: ${err.message}`, "error");
    } finally {
      button.disabled = false;
    }
  }
}
