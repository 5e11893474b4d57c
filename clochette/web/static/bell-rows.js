// The bell's rows, built with createElement and textContent only (Trusted Types allow no HTML
// sink): one notification with its actions, and one group (a type on one day) that expands.

import { fullTime, relativeTime, t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const ICONS = {
  // An archive box, an envelope (mark as unread), an arrow back out of the box (restore).
  archive: "M3 4h18v4H3zm1 5h16v11H4zm5 3v2h6v-2z",
  unread: "M3 5h18v14H3zm2 2v.5l7 4.5 7-4.5V7zm0 2.9V17h14V9.9l-7 4.5z",
  unarchive: "M3 4h18v4H3zm1 5h16v11H4zm8 2-4 4h3v3h2v-3h3z",
};

function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "20");
  svg.setAttribute("height", "20");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("fill-rule", "evenodd");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

function span(className, text) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

function timeOf(iso) {
  const time = document.createElement("time");
  time.className = "notification-time";
  time.dateTime = iso;
  time.title = fullTime(iso);
  time.textContent = relativeTime(iso);
  return time;
}

/** The main button of a row: unread marker for screen readers, title, body, time. */
function face({ unread, title, body, createdAt, focusKey }) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = unread ? "notification unread" : "notification";
  button.dataset.focusKey = focusKey;
  if (unread) button.append(span("visually-hidden", `${t("unread")}: `));
  button.append(span("notification-title", title), span("notification-body", body));
  if (createdAt) button.append(timeOf(createdAt));
  return button;
}

function actionButton(name, label, focusKey, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "icon-button";
  button.dataset.action = name;
  button.dataset.focusKey = focusKey;
  button.setAttribute("aria-label", label);
  button.title = label;
  button.append(icon(name));
  button.addEventListener("click", onClick);
  return button;
}

/** One notification: clicking it marks it read; beside it "mark as unread" (when read) and
 * "archive" (or "restore" in the archive). `on` holds the callbacks read, unread, archive and
 * unarchive. */
export function itemRow(item, on) {
  const entry = document.createElement("li");
  entry.className = "notification-row";
  entry.dataset.id = item.id;
  entry.dataset.category = item.category || "";
  const key = `item:${item.id}`;
  const main = face({
    unread: !item.read_at,
    title: item.title,
    body: item.body,
    createdAt: item.created_at,
    focusKey: key,
  });
  main.dataset.id = item.id;
  main.addEventListener("click", () => on.read(item));
  const actions = document.createElement("div");
  actions.className = "notification-actions";
  const named = { title: item.title };
  const button = (name, label) =>
    actionButton(name, t(label, named), `${key}:${name}`, () => on[name](item));
  if (item.archived_at) {
    actions.append(button("unarchive", "bell_restore"));
  } else {
    if (item.read_at) actions.append(button("unread", "bell_mark_unread"));
    actions.append(button("archive", "bell_archive"));
  }
  entry.append(main, actions);
  return entry;
}

/** The list entry of a group (class `className`) and its face: count, title, body, newest. */
function groupFace(group, className) {
  const entry = document.createElement("li");
  entry.className = className;
  entry.dataset.group = group.key;
  const key = `group:${group.key}`;
  const main = face({
    unread: group.unread_count > 0,
    title: group.title,
    body: group.body,
    createdAt: group.latest_created_at,
    focusKey: key,
  });
  return { entry, key, main };
}

/** A group of several notifications: the summary, its count, and (expanded) its items with
 * "mark these as read" and "show more". `row` is {group, open, items, cursor}; `on` adds
 * toggle/readGroup/moreOfGroup to the item callbacks. */
export function groupRow(row, on) {
  const { group } = row;
  if (group.count === 1) return singleRow(row, on);
  const { entry, key, main } = groupFace(group, "group-row");
  main.classList.add("group");
  const panelId = `bell-group-${group.key.replace(/[^\w-]/g, "-")}`;
  main.setAttribute("aria-expanded", String(row.open));
  main.setAttribute("aria-controls", panelId);
  const count = span("group-count", String(group.count));
  count.setAttribute("aria-hidden", "true");
  main.prepend(count);
  main.append(span("visually-hidden", `, ${t("bell_group_count", { count: group.count })}`));
  main.addEventListener("click", () => on.toggle(row));
  const head = document.createElement("div");
  head.className = "notification-row";
  head.append(main);
  const items = document.createElement("div");
  items.className = "group-items";
  items.id = panelId;
  items.hidden = !row.open;
  if (row.open) {
    if (group.unread_count > 0) {
      const readAll = document.createElement("button");
      readAll.type = "button";
      readAll.className = "link-button";
      readAll.dataset.focusKey = `${key}:read`;
      readAll.textContent = t("bell_group_read");
      readAll.addEventListener("click", () => on.readGroup(row));
      items.append(readAll);
    }
    const list = document.createElement("ul");
    list.className = "bell-list nested";
    list.append(...(row.items || []).map((item) => itemRow(item, on)));
    items.append(list);
    if (row.cursor) {
      const more = document.createElement("button");
      more.type = "button";
      more.className = "secondary wide";
      more.dataset.focusKey = `${key}:more`;
      more.textContent = t("load_more");
      more.addEventListener("click", () => on.moreOfGroup(row));
      items.append(more);
    }
  }
  entry.append(head, items);
  return entry;
}

/** A group of one, shown as its item before the item itself is loaded (the group row has no id):
 * clicking it or one of its actions loads the item first (`on.single(row, action)`). */
function singleRow(row, on) {
  const { group } = row;
  const { entry, key, main } = groupFace(group, "notification-row");
  entry.dataset.category = group.category || "";
  main.addEventListener("click", () => on.single(row, "read"));
  const actions = document.createElement("div");
  actions.className = "notification-actions";
  const named = { title: group.title };
  const button = (name, label) =>
    actionButton(name, t(label, named), `${key}:${name}`, () => on.single(row, name));
  if (group.unread_count === 0) actions.append(button("unread", "bell_mark_unread"));
  actions.append(button("archive", "bell_archive"));
  entry.append(main, actions);
  return entry;
}
