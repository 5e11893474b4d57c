// The bell's calls to the notifier (contract 5 and 5.1), one function each. Errors throw the
// ApiError of api.js (the 401 refresh and retry happen there).

import { call } from "./api.js";

export const CATEGORIES = ["action", "info", "security"];

function post(path, body) {
  return call("notifier", path, body === undefined ? { method: "POST" } : { method: "POST", body });
}

function one(id, what) {
  return post(`/v1/notifications/${encodeURIComponent(id)}/${what}`);
}

/** One page of items: `{items, next_cursor, unread_count}`. `filter` holds any of category,
 * status (all|unread|archived) and group (a group's key). */
export function listNotifications(filter, { limit, cursor } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  for (const name of ["category", "status", "group"]) {
    if (filter[name]) query.set(name, filter[name]);
  }
  if (cursor) query.set("cursor", cursor);
  return call("notifier", `/v1/notifications?${query}`);
}

/** One page of groups (one type on one Brussels day): `{items, next_cursor}`. */
export function listGroups(category, { limit, cursor } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (category) query.set("category", category);
  if (cursor) query.set("cursor", cursor);
  return call("notifier", `/v1/notifications/groups?${query}`);
}

/** Opening the bell: everything up to now is seen (the red dot goes out), nothing is read. */
export const markSeen = () => post("/v1/notifications/seen");
export const markRead = (id) => one(id, "read");
export const markUnread = (id) => one(id, "unread");
export const archive = (id) => one(id, "archive");
export const unarchive = (id) => one(id, "unarchive");

/** Read-all of everything (no scope), of one category `{category}` or of one group `{group}`. */
export const readAll = (scope) => post("/v1/notifications/read-all", scope);

/** `{types: {"<type>": {muted, mutable}}}` */
export const loadPreferences = () => call("notifier", "/v1/notification-preferences");

/** Mute exactly these types (the others are shown); answers the new preferences. */
export const savePreferences = (muted) =>
  call("notifier", "/v1/notification-preferences", { method: "PUT", body: { muted } });
