// The bar above the open chat: avatar, title, and who is typing or the presence line ("online",
// "last seen ...", a group's members).

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
    mute.textContent = conv.muted ? "🔕" : "🔔";
    mute.title = conv.muted ? "Unmute" : "Mute";
    mute.setAttribute("aria-label", mute.title);
    mute.setAttribute("aria-pressed", String(Boolean(conv.muted)));
    mute.onclick = () => {
      c.conversations.setMuted(conv.id, !conv.muted).catch((err) => {
        if (!err.code) c.notice("error", err.message); // offline or no answer (server errors were shown)
      });
    };
  }
}
