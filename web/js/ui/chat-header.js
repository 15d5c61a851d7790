// The bar above the open chat: avatar, title, and who is typing or the presence line ("online",
// "last seen ...", a group's members).

import { icon } from "../dom.js";
import { formatLastSeen } from "../format.js";
import { fillAvatar } from "./widgets.js";

const $ = (id) => document.getElementById(id);

export class ChatHeader {
  constructor({ client }) {
    this.client = client;
  }

  render(conv) {
    const c = this.client;
    const title = c.conversations.title(conv);
    $("chat-title").textContent = title;
    fillAvatar($("chat-avatar"), title, conv.kind === "group");
    const typers = c.presence.typingUsers(conv);
    const typingEl = $("chat-typing");
    const presenceEl = $("chat-presence");
    if (typers.length) {
      typingEl.textContent =
        conv.kind === "group"
          ? typers.length === 1
            ? `${typers[0]} is typing…`
            : `${typers.slice(0, 2).join(", ")} are typing…`
          : "typing…";
      typingEl.hidden = false;
    } else {
      typingEl.hidden = true;
      typingEl.textContent = "";
    }
    let presenceText = "";
    let online = false;
    if (conv.kind === "direct") {
      const peer = c.conversations.peerOf(conv);
      const p = peer ? c.presence.get(peer) : null;
      if (p) {
        online = p.online;
        presenceText = p.online ? "online" : formatLastSeen(p.lastSeen);
      } else if (conv.draftFor) {
        presenceText = "new chat";
      }
    } else {
      const others = conv.members.filter((m) => m !== c.me);
      presenceText = conv.left ? "you left this group" : `${["You", ...others].slice(0, 6).join(", ")}${others.length > 5 ? "…" : ""}`;
    }
    presenceEl.textContent = presenceText;
    presenceEl.hidden = typers.length > 0;
    presenceEl.classList.toggle("online", online);
    presenceEl.dataset.online = String(online);
    const mute = $("btn-mute");
    mute.hidden = Boolean(conv.draftFor || conv.left);
    if (mute.dataset.icon !== String(Boolean(conv.muted))) {
      mute.dataset.icon = String(Boolean(conv.muted));
      mute.replaceChildren(icon(conv.muted ? "bellOff" : "bell"));
    }
    mute.title = conv.muted ? "Unmute" : "Mute";
    mute.setAttribute("aria-label", mute.title);
    mute.setAttribute("aria-pressed", String(Boolean(conv.muted)));
    mute.onclick = () => {
      c.conversations.setMuted(conv.id, !conv.muted).catch((err) => {
        if (!err.code) c.notice("error", err.message); // offline or no answer (server errors were shown)
      });
    };
    // Blocking is per person, offered in a direct chat.
    const block = $("btn-block");
    const peer = conv.kind === "direct" ? c.conversations.peerOf(conv) : null;
    const blocked = c.conversations.blockedPeer(conv);
    block.hidden = !peer || Boolean(conv.draftFor);
    if (!block.firstChild) block.append(icon("block"));
    block.title = blocked ? `Unblock ${peer}` : `Block ${peer}`;
    block.setAttribute("aria-label", block.title);
    block.setAttribute("aria-pressed", String(blocked));
    block.onclick = () => {
      if (!peer) return;
      if (!blocked && !window.confirm(`Block ${peer}? They will not be able to message you or see when you are online.`)) return;
      c.conversations.setBlocked(peer, !blocked).catch((err) => {
        if (!err.code) c.notice("error", err.message);
      });
    };
    if (blocked) presenceEl.textContent = "blocked";
  }
}
