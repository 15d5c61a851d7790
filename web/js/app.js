// The app once signed in: builds the chat client and the views, wires them to each other and to
// the page, keeps track of which chat is open (the URL's #c/<conversationId>, the back button),
// and re-renders once per animation frame after anything changed. The views live in ui/, the
// state and protocol in chat/.

import { ChatClient } from "./chat/client.js";
import { clear, icon } from "./dom.js";
import { ChatHeader } from "./ui/chat-header.js";
import { Composer } from "./ui/composer.js";
import { ConnectionBanner } from "./ui/connection-banner.js";
import { ConversationList } from "./ui/conversation-list.js";
import { Drawers } from "./ui/drawers.js";
import { InfoPanel } from "./ui/info-panel.js";
import { MessageMenu } from "./ui/message-menu.js";
import { MessageView } from "./ui/message-view.js";
import { Toasts } from "./ui/toasts.js";
import { fillAvatar } from "./ui/widgets.js";

const $ = (id) => document.getElementById(id);

export class App {
  constructor({ session, connection, onSignOut }) {
    this.session = session;
    this.conn = connection;
    this.onSignOut = onSignOut;
    this.client = new ChatClient({ userId: session.userId, deviceId: connection.deviceId, connection });
    this.openId = null;
    this.pendingOpenId = null; // from the URL, before sync made it known
    this.renderQueued = false;
    this.listeners = [];
  }

  on(target, type, handler, options) {
    target.addEventListener(type, handler, options);
    this.listeners.push(() => target.removeEventListener(type, handler, options));
  }

  start() {
    $("app").hidden = false;
    this.staticIcons();
    const label = this.session.label || this.session.userId;
    $("me-name").textContent = label;
    $("me").title = `Your user id: ${this.session.userId} (click to copy)`;
    fillAvatar($("me-avatar"), label);

    const client = this.client;
    const on = (...args) => this.on(...args);
    const toasts = new Toasts();
    const toast = (text, kind) => toasts.show(text, kind);
    this.toast = toast;
    this.banner = new ConnectionBanner({ connection: this.conn, on });
    this.list = new ConversationList({
      client,
      on,
      onOpen: (id) => this.open(id),
      requestRender: () => this.queueRender(),
    });
    this.header = new ChatHeader({ client });
    this.menu = new MessageMenu({
      client,
      on,
      toast,
      onReply: (conv, msg) => this.composer.replyTo(conv, msg),
      onEdit: (conv, msg) => this.composer.edit(conv, msg),
    });
    this.messages = new MessageView({ client, on, menu: this.menu, onMessageInfo: (id, seq) => this.panel.openInfo(id, seq) });
    this.composer = new Composer({ client, on, toast, onSent: () => this.messages.followNext() });
    this.panel = new InfoPanel({ client, on, toast });
    this.drawers = new Drawers({
      client,
      on,
      toast,
      onOpen: (id) => {
        this.open(id);
        this.queueRender();
      },
    });

    this.on(client, "change", () => this.queueRender());
    this.on(client, "notice", (e) => toasts.notice(e.detail));
    this.on(client, "opened", (e) => this.onDraftOpened(e.detail));
    this.on(client, "synced", () => this.onSynced());
    this.on(this.conn, "status", (e) => {
      this.banner.update(e.detail);
      this.queueRender();
    });
    this.on($("btn-logout"), "click", () => this.signOut());
    this.on($("me"), "click", () => this.copyUserId());
    this.on($("btn-back"), "click", () => this.goBack());
    this.on($("chat-heading"), "click", () => this.openDetails());
    this.on($("btn-chat-info"), "click", () => this.openDetails());
    this.on(document, "visibilitychange", () => this.updateView());
    this.on(window, "popstate", () => this.fromLocation());
    this.on(window, "keydown", (e) => {
      if (e.key === "Escape") {
        if (this.menu.isOpen) this.menu.close();
        else if (this.panel.isOpen) this.panel.close();
        else if (this.drawers.isOpen) this.drawers.toggle(null);
      }
    });
    this.fromLocation();
    this.banner.update({ state: this.conn.state });
    this.queueRender();
  }

  destroy() {
    for (const off of this.listeners) off();
    this.listeners = [];
    this.client.destroy();
    this.banner.destroy();
    this.panel.destroy();
    this.menu.close();
    $("app").hidden = true;
    this.list.clear();
    this.messages.clear();
  }

  staticIcons() {
    const put = (id, name) => clear($(id)).append(icon(name));
    put("btn-new-chat", "newChat");
    put("btn-new-group", "group");
    put("btn-logout", "logout");
    put("btn-back", "back");
    put("btn-chat-info", "info");
    put("panel-close", "close");
    put("composer-context-cancel", "close");
    put("composer-send", "send");
    put("composer-attach", "attach");
    $("scroll-down").prepend(icon("down"));
  }

  // ---- which chat is open ----------------------------------------------------------------------

  fromLocation() {
    const match = /^#c\/(.+)$/.exec(location.hash);
    const id = match ? decodeURIComponent(match[1]) : null;
    if (id && !this.client.conversations.get(id)) {
      this.pendingOpenId = id; // known after sync
      this.setOpen(null, { push: false });
      return;
    }
    this.setOpen(id, { push: false });
  }

  open(conversationId) {
    this.setOpen(conversationId, { push: true });
  }

  setOpen(conversationId, { push }) {
    if (conversationId === this.openId) {
      this.updateView();
      return;
    }
    this.openId = conversationId;
    if (push) {
      const hash = `#c/${encodeURIComponent(conversationId || "")}`;
      if (history.state && history.state.chat && conversationId) history.replaceState({ chat: true }, "", hash);
      else if (conversationId) history.pushState({ chat: true }, "", hash);
      else history.replaceState(null, "", location.pathname + location.search);
    }
    const conv = conversationId ? this.client.conversations.get(conversationId) : null;
    this.messages.opened(conv);
    if (this.panel.isOpen && this.panel.conversationId !== conversationId) this.panel.close();
    this.updateView();
    this.composer.switchTo(conversationId);
    this.queueRender();
    if (conv && !window.matchMedia("(pointer: coarse)").matches) {
      requestAnimationFrame(() => this.composer.focus());
    }
  }

  goBack() {
    if (history.state && history.state.chat) history.back();
    else this.setOpen(null, { push: true });
  }

  /** Tell the client what the user can see (read receipts depend on it). */
  updateView() {
    const visible = document.visibilityState === "visible";
    this.client.setView({ openId: this.openId, visible });
    document.body.classList.toggle("chat-open", Boolean(this.openId));
  }

  onDraftOpened({ conversationId, replaced }) {
    if (this.openId === replaced) {
      this.openId = conversationId;
      if (history.state && history.state.chat) {
        history.replaceState({ chat: true }, "", `#c/${encodeURIComponent(conversationId)}`);
      }
      this.composer.replaced(replaced, conversationId);
      this.messages.replaced();
      this.updateView();
    }
  }

  onSynced() {
    if (this.pendingOpenId && this.client.conversations.get(this.pendingOpenId)) {
      const id = this.pendingOpenId;
      this.pendingOpenId = null;
      this.setOpen(id, { push: false });
    }
  }

  openDetails() {
    if (!this.openId) return;
    const conv = this.client.conversations.get(this.openId);
    if (conv) this.panel.openDetails(conv);
  }

  // ---- rendering -------------------------------------------------------------------------------

  queueRender() {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.render();
    });
  }

  render() {
    this.list.render(this.openId);
    const conv = this.openId ? this.client.conversations.get(this.openId) : null;
    $("chat-empty").hidden = Boolean(conv);
    $("chat-active").hidden = !conv;
    if (conv) {
      this.header.render(conv);
      this.composer.render(conv);
    }
    this.messages.render(conv);
    this.panel.render();
  }

  // ---- you ------------------------------------------------------------------------------------

  async copyUserId() {
    const id = this.client.me;
    try {
      await navigator.clipboard.writeText(id);
      this.toast(`Your user id ${id} was copied.`);
    } catch {
      this.toast(`Your user id: ${id}`);
    }
  }

  signOut() {
    if (this.client.outbox.size && !confirm("Some messages are not sent yet. Sign out anyway?")) return;
    this.onSignOut();
  }
}
