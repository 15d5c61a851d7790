// The conversations this client knows: their shape, drafts of new direct chats, titles and order,
// and group membership changes (`group` frames and the requests that cause them).
//
// A conversation keeps its messages by seq; the fields below are owned by the module named:
// sync.js (messages, minSeq, held, lastSeq, hasMore, loadingHistory, lastChange), watermarks.js (watermarks,
// myDelivered, myRead, deliveredSent, readSent), presence.js (typing).

const DRAFT_PREFIX = "draft:";

/** A number from a frame field, 0 when it is not one. */
export function num(value) {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

/** The later of two ISO 8601 timestamps (either may be missing). */
export function maxTime(a, b) {
  if (!a) return b || null;
  if (!b) return a;
  return a > b ? a : b;
}

export class Conversations {
  constructor(chat) {
    this.chat = chat;
    this.byId = new Map();
  }

  create(id, props = {}) {
    return {
      id,
      kind: props.kind || "direct",
      name: props.name || null,
      members: props.members || [],
      admins: props.admins || null,
      lastSeq: 0,
      messages: new Map(),
      minSeq: 0,
      held: 0,
      hasMore: null, // null: unknown, ask history when needed
      lastChange: null, // the change cursor, from `synced` (changes.js)
      loadingHistory: false,
      watermarks: new Map(),
      myDelivered: 0,
      myRead: this.chat.watermarks.savedRead(id),
      deliveredSent: 0,
      readSent: 0,
      typing: new Map(),
      notices: [],
      left: false,
      known: Boolean(props.known),
      activity: props.activity || null,
      draftFor: props.draftFor || null,
    };
  }

  get(id) {
    return this.byId.get(id) || null;
  }

  all() {
    return this.byId.values();
  }

  ensure(id, props = {}) {
    let conv = this.byId.get(id);
    if (!conv) {
      conv = this.create(id, props);
      this.byId.set(id, conv);
    }
    return conv;
  }

  ensureDraft(userId) {
    return this.ensure(DRAFT_PREFIX + userId, {
      kind: "direct",
      members: [this.chat.me, userId],
      draftFor: userId,
      known: true,
      activity: new Date().toISOString(),
    });
  }

  /** The direct conversation with userId, or a draft that becomes real on the first `sent`. */
  directWith(userId) {
    const me = this.chat.me;
    for (const conv of this.byId.values()) {
      if (conv.kind === "direct" && !conv.draftFor && conv.members.includes(userId) && userId !== me) {
        return conv;
      }
    }
    return this.ensureDraft(userId);
  }

  /** The first `sent` of a new direct chat names its conversation: the draft becomes real. */
  promoteDraft(userId, conv) {
    const draftId = DRAFT_PREFIX + userId;
    const draft = this.byId.get(draftId);
    conv.known = true;
    conv.kind = "direct";
    if (!conv.members.length) conv.members = [this.chat.me, userId];
    this.chat.outbox.adopt(userId, conv.id);
    if (draft) {
      conv.activity = maxTime(conv.activity, draft.activity);
      this.byId.delete(draftId);
    }
    if (this.chat.openId === draftId) {
      this.chat.openId = conv.id;
      this.chat.emit("opened", { conversationId: conv.id, replaced: draftId });
    }
    this.chat.presence.subscribe();
  }

  peerOf(conv) {
    if (!conv || conv.kind !== "direct") return null;
    if (conv.draftFor) return conv.draftFor;
    const me = this.chat.me;
    const other = conv.members.find((m) => m !== me);
    if (other) return other;
    for (const msg of conv.messages.values()) if (msg.senderId !== me) return msg.senderId;
    for (const userId of conv.watermarks.keys()) if (userId !== me && userId !== "*") return userId;
    return null;
  }

  title(conv) {
    if (!conv) return "";
    if (conv.kind === "group") return conv.name || "Group";
    return this.peerOf(conv) || conv.name || "Chat";
  }

  sortedMessages(conv) {
    return [...conv.messages.values()].sort((a, b) => a.seq - b.seq);
  }

  /** {pending: outbox entry} while one waits, else {message: the newest}, else null. */
  lastMessage(conv) {
    const pending = this.chat.outbox.pendingFor(conv);
    if (pending.length) return { pending: pending[pending.length - 1] };
    let best = null;
    for (const msg of conv.messages.values()) if (!best || msg.seq > best.seq) best = msg;
    return best ? { message: best } : null;
  }

  /** The conversations worth listing, the most recently active first. */
  sorted() {
    const list = [...this.byId.values()].filter((c) => c.known || c.messages.size || c.draftFor);
    const key = (c) => {
      const last = this.lastMessage(c);
      const at = last ? (last.pending ? last.pending.createdAt : last.message.sentAt) : null;
      return maxTime(at, c.activity) || "";
    };
    return list.sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
  }

  // ---- groups ------------------------------------------------------------------------------------

  onGroup(frame) {
    const chat = this.chat;
    const me = chat.me;
    const conv = this.ensure(frame.conversationId, { kind: "group" });
    const before = new Set(conv.members);
    conv.known = true;
    conv.kind = "group";
    if (frame.name) conv.name = frame.name;
    if (Array.isArray(frame.members)) conv.members = frame.members;
    if (Array.isArray(frame.admins)) conv.admins = frame.admins;
    const stillMember = conv.members.includes(me);
    conv.left = !stillMember;
    conv.activity = maxTime(conv.activity, new Date().toISOString());
    const by = frame.by === me ? "You" : frame.by || "Someone";
    const names = (ids) => ids.map((u) => (u === me ? "you" : u)).join(", ");
    let text = null;
    if (frame.change === "created") text = `${by} created the group "${conv.name || ""}"`;
    else if (frame.change === "membersAdded") {
      const added = conv.members.filter((m) => !before.has(m));
      text = `${by} added ${names(added.length ? added : ["members"])}`;
    } else if (frame.change === "membersRemoved") {
      const removed = [...before].filter((m) => !conv.members.includes(m));
      text = `${by} removed ${names(removed.length ? removed : stillMember ? ["members"] : [me])}`;
    } else if (frame.change === "left") {
      text = `${frame.by === me ? "You" : frame.by} left`;
    }
    if (text) conv.notices.push({ afterSeq: conv.lastSeq, text, at: new Date().toISOString() });
    // Match a pending createGroup / addMembers request (requestId if echoed, else by content).
    if (!chat.requests.settle(frame.requestId, true, frame)) {
      for (const [requestId, req] of chat.requests.entries()) {
        const match =
          (req.action === "createGroup" && frame.change === "created" && frame.by === me && req.name === frame.name) ||
          (req.action === "addMembers" && frame.change === "membersAdded" && req.conversationId === frame.conversationId) ||
          (req.action === "leaveGroup" && frame.change === "left" && req.conversationId === frame.conversationId) ||
          (req.action === "removeMembers" && frame.change === "membersRemoved" && req.conversationId === frame.conversationId);
        if (match) {
          chat.requests.settle(requestId, true, frame);
          break;
        }
      }
    }
    chat.presence.subscribe();
    chat.changed();
  }

  createGroup(name, members) {
    return this.chat.requests.send({ action: "createGroup", name, members }, { name });
  }

  addMembers(conversationId, userIds) {
    return this.chat.requests.send({ action: "addMembers", conversationId, userIds }, { conversationId });
  }

  removeMembers(conversationId, userIds) {
    return this.chat.requests.send({ action: "removeMembers", conversationId, userIds }, { conversationId });
  }

  /** Mute (until unmuted) or unmute a conversation for all of the user's devices. */
  setMuted(conversationId, muted) {
    const action = muted ? "mute" : "unmute";
    return this.chat.requests.send({ action, conversationId }, { conversationId });
  }

  /** `muted`: the answer to mute/unmute, or another device of the user changed it. */
  onMuted(frame) {
    const conv = this.ensure(frame.conversationId);
    conv.muted = Boolean(frame.muted);
    this.chat.requests.settle(frame.requestId, true, frame);
    this.chat.changed();
  }

  /** Block or unblock a user for all of this user's devices. */
  setBlocked(userId, blocked) {
    return this.chat.requests.send({ action: blocked ? "block" : "unblock", userId }, { userId });
  }

  /** `blocked`: the answer to block/unblock, or another device of the user changed it. */
  onBlocked(frame) {
    if (frame.blocked) this.chat.blocked.add(frame.userId);
    else this.chat.blocked.delete(frame.userId);
    this.chat.requests.settle(frame.requestId, true, frame);
    this.chat.changed();
  }

  /** Whether the user blocked the other person of this direct chat. */
  blockedPeer(conv) {
    if (conv.kind !== "direct") return false;
    const peer = this.peerOf(conv);
    return Boolean(peer && this.chat.blocked.has(peer));
  }

  leaveGroup(conversationId) {
    return this.chat.requests.send({ action: "leaveGroup", conversationId }, { conversationId });
  }
}
