// Protocol errors in words a person understands.

const ERROR_TEXT = {
  bad_request: "The server could not understand that request.",
  unknown_action: "The server does not support that yet.",
  too_large: "That message is too long to send.",
  not_found: "That conversation or user does not exist.",
  forbidden: "You are not allowed to do that.",
  limit_exceeded: "That goes over a limit (group size or list length).",
  rate_limited: "Slow down a little: too many requests. Retrying shortly.",
  internal: "Something went wrong on the server. Retrying shortly.",
};

const ACTION_TEXT = {
  send: "Message not sent",
  edit: "Could not edit the message",
  delete: "Could not delete the message",
  react: "Could not react",
  createGroup: "Could not create the group",
  addMembers: "Could not add members",
  removeMembers: "Could not remove members",
  leaveGroup: "Could not leave the group",
  history: "Could not load older messages",
  receipts: "Could not load message info",
  sync: "Could not sync",
  subscribePresence: "Could not follow online status",
  read: "Could not mark as read",
  delivered: "Could not mark as delivered",
};

export function humanError(frame, action) {
  const generic = ERROR_TEXT[frame.code] || "Something went wrong.";
  const what = ACTION_TEXT[action];
  let detail = frame.message && frame.message !== frame.code ? frame.message : generic;
  if (frame.code === "rate_limited" && Number(frame.retryAfterMs) > 0) {
    detail = `Too many at once. Try again in ${Math.ceil(Number(frame.retryAfterMs) / 1000)} s.`;
  }
  return what ? `${what}: ${detail}` : detail;
}
