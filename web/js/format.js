// Local-time formatting for timestamps (the wire carries ISO 8601 UTC).

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const weekdayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long" });
const shortDateFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const longDateFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "long", year: "numeric" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export function parseTime(value) {
  if (!value) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

function dayDiff(date, now = new Date()) {
  return Math.round((startOfDay(now) - startOfDay(date)) / 86400000);
}

export function formatTime(value) {
  const date = parseTime(value);
  return date ? timeFmt.format(date) : "";
}

/** For the conversation list: time today, "Yesterday", weekday this week, else a short date. */
export function formatListTime(value) {
  const date = parseTime(value);
  if (!date) return "";
  const diff = dayDiff(date);
  if (diff <= 0) return timeFmt.format(date);
  if (diff === 1) return "Yesterday";
  if (diff < 7) return weekdayFmt.format(date);
  return shortDateFmt.format(date);
}

/** Day separators in a chat. */
export function formatDay(value) {
  const date = parseTime(value);
  if (!date) return "";
  const diff = dayDiff(date);
  if (diff <= 0) return "Today";
  if (diff === 1) return "Yesterday";
  if (diff < 7) return weekdayFmt.format(date);
  return longDateFmt.format(date);
}

export function dayKey(value) {
  const date = parseTime(value);
  return date ? startOfDay(date) : 0;
}

export function formatLastSeen(value) {
  const date = parseTime(value);
  if (!date) return "offline";
  const diff = dayDiff(date);
  if (diff <= 0) return `last seen today at ${timeFmt.format(date)}`;
  if (diff === 1) return `last seen yesterday at ${timeFmt.format(date)}`;
  return `last seen ${shortDateFmt.format(date)} at ${timeFmt.format(date)}`;
}

export function formatFull(value) {
  const date = parseTime(value);
  return date ? fullFmt.format(date) : "";
}
