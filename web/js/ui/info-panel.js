// The side panel: message info (read by / delivered to / not delivered yet, per member), group
// info (members, add, remove, leave) and contact info.

import { h, icon } from "../dom.js";
import { formatDay, formatFull, formatLastSeen, formatTime } from "../format.js";
import { messageLine } from "./message-view.js";
import { avatar, parseIds, richText, statusIcon } from "./widgets.js";

const INFO_POLL_MS = 3000;
const INFO_REFRESH_DELAY_MS = 250;

const $ = (id) => document.getElementById(id);

export class InfoPanel {
  /** toast(text, kind): tell the user something went wrong. */
  constructor({ client, on, toast }) {
    this.client = client;
    this.toast = toast;
    this.panel = null; // {kind: "info"|"group"|"contact", conversationId, seq?, data?, loading?, error?}
    this.pollTimer = null;
    this.refreshTimer = null;
    on($("panel-close"), "click", () => this.close());
    on(client, "receipt", (e) => this.onReceipt(e.detail.frame));
  }

  get isOpen() {
    return this.panel !== null;
  }

  get conversationId() {
    return this.panel ? this.panel.conversationId : null;
  }

  destroy() {
    clearTimeout(this.pollTimer);
    clearTimeout(this.refreshTimer);
  }

  /** Message info for one of my messages. */
  openInfo(conversationId, seq) {
    this.panel = { kind: "info", conversationId, seq, data: null, loading: true, error: null };
    this.show();
    this.refreshInfo();
  }

  /** Group or contact info for conv. */
  openDetails(conv) {
    this.panel = { kind: conv.kind === "group" ? "group" : "contact", conversationId: conv.id };
    this.show();
  }

  show() {
    $("panel").hidden = false;
    document.body.classList.add("panel-open");
    this.render();
  }

  close() {
    this.panel = null;
    this.destroy();
    $("panel").hidden = true;
    document.body.classList.remove("panel-open");
  }

  async refreshInfo() {
    const panel = this.panel;
    if (!panel || panel.kind !== "info") return;
    // Per-member progress in a group is not pushed (only the all-members "*" watermark is), so
    // the open panel asks again every few seconds.
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      if (this.panel === panel && document.visibilityState === "visible") this.refreshInfo();
      else if (this.panel === panel) this.pollTimer = setTimeout(() => this.refreshInfo(), INFO_POLL_MS);
    }, INFO_POLL_MS);
    try {
      const frame = await this.client.watermarks.messageInfo(panel.conversationId, panel.seq);
      if (this.panel !== panel) return;
      panel.data = frame;
      panel.error = null;
    } catch (err) {
      if (this.panel !== panel) return;
      panel.error = err.message;
    }
    panel.loading = false;
    this.render();
  }

  onReceipt(frame) {
    if (this.panel && this.panel.kind === "info" && this.panel.conversationId === frame.conversationId) {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => this.refreshInfo(), INFO_REFRESH_DELAY_MS);
    }
  }

  render() {
    const panel = this.panel;
    if (!panel) return;
    const conv = this.client.conversations.get(panel.conversationId);
    if (!conv) {
      this.close();
      return;
    }
    const root = $("panel");
    if (panel.kind === "info") {
      root.dataset.testid = "info-panel";
      $("panel-title").textContent = "Message info";
      this.fill(this.infoContent(conv, panel));
    } else if (panel.kind === "group") {
      root.dataset.testid = "group-info";
      $("panel-title").textContent = "Group info";
      this.fill(this.groupContent(conv));
    } else {
      root.dataset.testid = "contact-info";
      $("panel-title").textContent = "Contact info";
      this.fill(this.contactContent(conv));
    }
  }

  /**
   * Puts parts in the panel's body, unless it already shows the same: the app re-renders on every
   * change (a message, presence, typing), and rebuilt buttons would swallow a click under way (a
   * browser fires `click` only on an element that stayed in place from button down to up).
   */
  fill(parts) {
    const body = $("panel-body");
    const fresh = h("div", {}, parts.filter(Boolean));
    if (fresh.innerHTML === body.innerHTML) return;
    // Keep typed text in the add-members field across re-renders.
    const typed = body.querySelector("#add-members-input");
    const value = typed ? typed.value : "";
    const hadFocus = typed && document.activeElement === typed;
    body.replaceChildren(...fresh.childNodes);
    const input = body.querySelector("#add-members-input");
    if (input) {
      input.value = value;
      if (hadFocus) input.focus();
    }
  }

  infoContent(conv, panel) {
    const c = this.client;
    const msg = conv.messages.get(panel.seq);
    const parts = [];
    if (msg) {
      parts.push(
        h(
          "div",
          { class: "info-preview" },
          h(
            "div",
            { class: "msg mine first" },
            h(
              "div",
              { class: "bubble" },
              msg.deleted
                ? h("div", { class: "text deleted" }, "This message was deleted")
                : h("div", { class: "text" }, richText(messageLine(msg))),
              h("div", { class: "meta" }, h("time", {}, formatTime(msg.sentAt)), statusIcon(c.watermarks.statusOf(conv, msg.seq))),
            ),
          ),
        ),
      );
    }
    if (panel.loading && !panel.data) parts.push(h("p", { class: "muted pad" }, "Loading…"));
    if (panel.error) parts.push(h("p", { class: "error-text pad" }, `Could not load message info: ${panel.error}`));
    if (panel.data) {
      const members = (panel.data.members || []).filter((m) => m.userId !== c.me);
      const read = members.filter((m) => m.readAt);
      const delivered = members.filter((m) => !m.readAt && m.deliveredAt);
      const waiting = members.filter((m) => !m.readAt && !m.deliveredAt);
      const section = (title, iconName, rows, kind, timeOf) =>
        h(
          "section",
          { class: `info-section info-${kind}`, "data-testid": `info-${kind}` },
          h("h3", {}, h("span", { class: `ticks ticks-${kind === "read" ? "read" : "delivered"}` }, icon(iconName)), title),
          rows.length
            ? h(
                "ul",
                { class: "people" },
                rows.map((m) =>
                  h(
                    "li",
                    { "data-testid": `info-${kind}-row`, "data-user-id": m.userId },
                    avatar(m.userId),
                    h("span", { class: "person-name" }, m.userId),
                    h("time", { class: "muted", title: formatFull(timeOf(m)) }, timeOf(m) ? `${formatDay(timeOf(m))} ${formatTime(timeOf(m))}` : ""),
                  ),
                ),
              )
            : h("p", { class: "muted pad" }, kind === "read" ? "Not read yet" : "—"),
        );
      parts.push(section("Read by", "doubleCheck", read, "read", (m) => m.readAt));
      parts.push(section("Delivered to", "doubleCheck", delivered, "delivered", (m) => m.deliveredAt));
      if (waiting.length) parts.push(section("Not delivered yet", "check", waiting, "pending", () => null));
    }
    return parts;
  }

  groupContent(conv) {
    const c = this.client;
    const groups = c.conversations;
    const admins = conv.admins;
    const iAmAdmin = !admins || admins.includes(c.me); // unknown admins: let the server decide
    const items = conv.members.map((userId) =>
      h(
        "li",
        { "data-testid": "group-member", "data-user-id": userId },
        avatar(userId),
        h("span", { class: "person-name" }, userId === c.me ? `${userId} (you)` : userId),
        admins && admins.includes(userId) ? h("span", { class: "tag" }, "admin") : null,
        iAmAdmin && userId !== c.me && !conv.left
          ? h(
              "button",
              {
                type: "button",
                class: "link danger",
                "data-testid": "remove-member",
                onclick: () => this.run(groups.removeMembers(conv.id, [userId]), "Could not remove member"),
              },
              "Remove",
            )
          : null,
      ),
    );
    const addForm =
      iAmAdmin && !conv.left
        ? h(
            "form",
            {
              class: "add-members",
              novalidate: true,
              onsubmit: (e) => {
                e.preventDefault();
                const input = e.target.querySelector("input");
                const ids = parseIds(input.value).filter((u) => !conv.members.includes(u));
                if (!ids.length) return;
                this.run(groups.addMembers(conv.id, ids), "Could not add members").then((ok) => {
                  if (ok) input.value = "";
                });
              },
            },
            h("label", { for: "add-members-input" }, "Add members"),
            h(
              "div",
              { class: "drawer-row" },
              h("input", { id: "add-members-input", "data-testid": "add-members-input", placeholder: "User ids", autocomplete: "off", autocapitalize: "off", spellcheck: "false" }),
              h("button", { type: "submit", class: "primary", "data-testid": "add-members-submit" }, icon("personAdd"), "Add"),
            ),
          )
        : null;
    return [
      h("div", { class: "panel-hero" }, avatar(conv.name || "Group", true), h("h3", { "data-testid": "group-name" }, conv.name || "Group"), h("p", { class: "muted" }, `Group · ${conv.members.length} members`)),
      addForm,
      h("h4", { class: "panel-sub" }, `${conv.members.length} members`),
      h("ul", { class: "people", "data-testid": "group-members" }, items),
      conv.left
        ? h("p", { class: "muted pad" }, "You are no longer a member of this group.")
        : h(
            "button",
            { type: "button", class: "danger-btn", "data-testid": "leave-group", onclick: () => this.run(groups.leaveGroup(conv.id), "Could not leave the group") },
            "Leave group",
          ),
    ];
  }

  contactContent(conv) {
    const c = this.client;
    const peer = c.conversations.peerOf(conv) || "";
    const p = c.presence.get(peer);
    return [
      h(
        "div",
        { class: "panel-hero" },
        avatar(peer),
        h("h3", {}, peer),
        h("p", { class: "muted" }, p ? (p.online ? "online" : formatLastSeen(p.lastSeen)) : ""),
      ),
      h("p", { class: "muted pad" }, "Messages are delivered to every device this person is signed in on."),
    ];
  }

  /** Waits for a group request; a failure the server did not already report becomes a toast. */
  async run(promise, failure) {
    try {
      await promise;
      return true;
    } catch (err) {
      if (!err.code) this.toast(`${failure}: ${err.message}`, "error");
      return false;
    }
  }
}
