// The bell, second version (contract 5.1): a red dot while something is unseen, a panel with a
// tab per category (action needed, information, security) and their unread counts, an archive,
// groups of one type on one day that expand, per-item actions and the preferences.
//
// Seen is not read: opening the bell marks everything seen (the dot goes out), an item stays
// unread (bold) until it is clicked. The badge is long-polled by bell-poller.js; the calls are in
// bell-api.js, the rows in bell-rows.js, the preferences in bell-preferences.js.

import * as bellApi from "./bell-api.js";
import { BadgePoller } from "./bell-poller.js";
import { BellPreferences } from "./bell-preferences.js";
import { groupRow, itemRow } from "./bell-rows.js";
import { t } from "./i18n.js";

const PAGE_SIZE = 10;
const TABS = [...bellApi.CATEGORIES, "archive"];
const TAB_LABELS = { action: "tab_action", info: "tab_info", security: "tab_security", archive: "tab_archive" };
const EMPTY_BADGE = { unread_count: 0, unseen_count: 0, by_category: {}, latest_created_at: null };

export class Bell {
  constructor(root) {
    this.root = root;
    this.button = root.querySelector("#bell-button");
    this.dot = root.querySelector("#bell-dot");
    this.panel = root.querySelector("#bell-panel");
    this.tablist = root.querySelector("#bell-tabs");
    this.tabpanel = root.querySelector("#bell-tabpanel");
    this.list = root.querySelector("#bell-list");
    this.empty = root.querySelector("#bell-empty");
    this.more = root.querySelector("#bell-more");
    this.markAll = root.querySelector("#bell-mark-all");
    this.error = root.querySelector("#bell-error");
    this.prefsButton = root.querySelector("#bell-prefs-button");
    this.prefs = new BellPreferences(root.querySelector("#bell-prefs"), () => this.changed());
    this.poller = new BadgePoller((badge) => this.receive(badge));
    this.badge = EMPTY_BADGE;
    this.tab = "action";
    this.rows = [];
    this.cursor = null;
    this.loading = 0;
    this.loadedLatest = null;
    this.tabs = TABS.map((name) => this.makeTab(name));
    this.tablist.replaceChildren(...this.tabs);
    this.on = {
      read: (item) => this.act(item, "read"),
      unread: (item) => this.act(item, "unread"),
      archive: (item) => this.act(item, "archive"),
      unarchive: (item) => this.act(item, "unarchive"),
      toggle: (row) => this.toggleGroup(row),
      single: (row, action) => this.single(row, action),
      readGroup: (row) => this.readGroup(row),
      moreOfGroup: (row) => this.loadGroup(row, row.cursor),
    };

    this.button.addEventListener("click", () => (this.isOpen() ? this.close() : this.open()));
    this.markAll.addEventListener("click", () => this.markAllRead());
    this.more.addEventListener("click", () => this.loadPage(this.cursor));
    this.prefsButton.addEventListener("click", () => this.togglePreferences());
    root.querySelector("#bell-prefs-back").addEventListener("click", () => this.togglePreferences(true));
    this.tablist.addEventListener("keydown", (event) => this.tabKey(event));
    // Escape closes the list from anywhere (the focus may be on the page when a button that
    // had it became disabled) and gives the focus back to the bell.
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen()) this.close(true);
    });
    document.addEventListener("click", (event) => {
      if (this.isOpen() && event.target.isConnected && !this.root.contains(event.target)) this.close();
    });
  }

  makeTab(name) {
    const tab = document.createElement("button");
    tab.type = "button";
    tab.setAttribute("role", "tab");
    tab.id = `bell-tab-${name}`;
    tab.dataset.tab = name;
    tab.setAttribute("aria-controls", "bell-tabpanel");
    tab.addEventListener("click", () => this.select(name));
    return tab;
  }

  start() {
    this.root.hidden = false;
    this.poller.start();
  }

  stop() {
    this.poller.stop();
    this.close();
    this.root.hidden = true;
    this.badge = EMPTY_BADGE;
    this.rows = [];
    this.cursor = null;
    this.render();
  }

  /** A new badge from the poller: redraw, and reload an open list when something arrived. */
  async receive(badge) {
    this.badge = badge;
    this.render();
    if (this.isOpen() && this.prefsClosed() && badge.latest_created_at !== this.loadedLatest) {
      // Something arrived while the list is open: show it (it is seen at the next opening).
      await this.loadPage(null);
    }
  }

  /** After a change made here: ask the server for the new badge (and reload the list). */
  async changed(reload = false) {
    this.poller.nudge();
    if (reload) await this.loadPage(null);
  }

  isOpen() {
    return !this.panel.hidden;
  }

  prefsClosed() {
    return this.prefs.form.hidden;
  }

  async open() {
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    // Open where something waits: the first tab with unread items, else the last one chosen.
    const counts = this.badge.by_category || {};
    const waiting = bellApi.CATEGORIES.find((name) => counts[name] > 0);
    if (waiting && !(counts[this.tab] > 0)) this.tab = waiting;
    this.panel.querySelector("h2").focus();
    const seen = bellApi.markSeen().then(
      () => {
        this.badge = { ...this.badge, unseen_count: 0 };
        this.render();
        this.poller.nudge();
      },
      () => {}, // the dot stays; the next open tries again
    );
    await Promise.all([seen, this.loadPage(null)]);
  }

  close(returnFocus = false) {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.prefs.hide();
    this.prefsButton.setAttribute("aria-expanded", "false");
    this.tabpanel.hidden = false;
    this.tablist.hidden = false;
    this.button.setAttribute("aria-expanded", "false");
    if (returnFocus) this.button.focus();
  }

  async select(name, focus = false) {
    this.tab = name;
    this.rows = [];
    this.cursor = null;
    this.render();
    if (focus) this.tabs[TABS.indexOf(name)].focus();
    await this.loadPage(null);
  }

  tabKey(event) {
    const index = TABS.indexOf(this.tab);
    const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: TABS.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    this.select(TABS[(moves[event.key] + TABS.length) % TABS.length], true);
  }

  /** The preferences in place of the tabs and the list, or back (`focusTabs`: to the tab). */
  togglePreferences(focusTabs = false) {
    const opening = this.prefsClosed();
    this.prefsButton.setAttribute("aria-expanded", String(opening));
    this.tabpanel.hidden = opening;
    this.tablist.hidden = opening;
    if (opening) {
      this.prefs.show();
      this.render();
    } else {
      this.prefs.hide();
      this.render();
      if (focusTabs) this.tabs[TABS.indexOf(this.tab)].focus();
      this.loadPage(null);
    }
  }

  /** The first page (cursor null) or the next one of the current tab: groups for a category,
   * items for the archive. */
  async loadPage(cursor) {
    const tab = this.tab;
    this.error.textContent = "";
    const latest = this.badge.latest_created_at;
    if (!cursor) this.busy(+1);
    try {
      let rows;
      let next;
      if (tab === "archive") {
        const page = await bellApi.listNotifications({ status: "archived" }, { limit: PAGE_SIZE, cursor });
        rows = page.items.map((item) => ({ kind: "item", item }));
        next = page.next_cursor;
      } else {
        const page = await bellApi.listGroups(tab, { limit: PAGE_SIZE, cursor });
        const open = new Set(this.rows.filter((row) => row.open).map((row) => row.group.key));
        rows = page.items.map((group) => ({ kind: "group", group, open: false, items: [], cursor: null }));
        if (!cursor) for (const row of rows) if (open.has(row.group.key) && row.group.count > 1) this.loadGroup(row, null);
        next = page.next_cursor;
      }
      if (tab !== this.tab) return; // another tab was chosen meanwhile
      this.rows = cursor ? [...this.rows, ...rows] : rows;
      this.cursor = next;
      if (!cursor) this.loadedLatest = latest;
    } catch (error) {
      this.error.textContent = error.status === 0 ? t("err_network") : t("err_generic", { detail: error.message });
    } finally {
      if (!cursor) this.busy(-1);
    }
    this.render();
  }

  /** While a first page loads, the list says it is busy and "nothing here" waits. */
  busy(change) {
    this.loading = (this.loading || 0) + change;
    this.tabpanel.setAttribute("aria-busy", String(this.loading > 0));
  }

  /** A group's items (`?group=KEY`), first page or the next. */
  async loadGroup(row, cursor) {
    try {
      const page = await bellApi.listNotifications({ group: row.group.key }, { limit: PAGE_SIZE, cursor });
      row.items = cursor ? [...row.items, ...page.items] : page.items;
      row.cursor = page.next_cursor;
      row.open = true;
    } catch (error) {
      this.error.textContent = t("err_generic", { detail: error.message });
    }
    this.render();
  }

  /** A group of one is shown as its item; its item is loaded on first use. */
  async single(row, action) {
    if (!row.items.length) await this.loadGroup(row, null);
    row.open = false;
    if (row.items[0]) await this.act(row.items[0], action, row);
  }

  async toggleGroup(row) {
    if (row.open) {
      row.open = false;
      this.render();
    } else {
      await this.loadGroup(row, null);
    }
  }

  /** read, unread, archive or unarchive one item; the counts follow from the server. */
  async act(item, action, owner = this.ownerOf(item)) {
    if (action === "read" && item.read_at) return;
    try {
      await bellApi[{ read: "markRead", unread: "markUnread" }[action] || action](item.id);
    } catch (error) {
      this.error.textContent = t("err_generic", { detail: error.message });
      return;
    }
    const now = new Date().toISOString();
    const wasUnread = !item.read_at;
    if (action === "read") {
      item.read_at = now;
      item.seen_at ??= now;
    } else if (action === "unread") {
      item.read_at = null;
    } else {
      this.remove(item, owner);
    }
    if (owner?.group) {
      const delta = action === "read" ? -1 : action === "unread" ? 1 : action === "archive" && wasUnread ? -1 : 0;
      owner.group.unread_count = Math.max(0, owner.group.unread_count + delta);
    }
    this.render();
    this.changed();
  }

  ownerOf(item) {
    return this.rows.find((row) => row.kind === "group" && row.items.includes(item)) || null;
  }

  remove(item, owner) {
    if (owner?.group) {
      owner.items = owner.items.filter((other) => other !== item);
      owner.group.count -= 1;
      if (owner.group.count <= 0) this.rows = this.rows.filter((row) => row !== owner);
    } else {
      this.rows = this.rows.filter((row) => row.item !== item);
    }
  }

  async readGroup(row) {
    try {
      await bellApi.readAll({ group: row.group.key });
    } catch (error) {
      this.error.textContent = t("err_generic", { detail: error.message });
      return;
    }
    const now = new Date().toISOString();
    for (const item of row.items) item.read_at ??= now;
    row.group.unread_count = 0;
    this.render();
    this.changed();
  }

  /** Read-all of the current tab's category. */
  async markAllRead() {
    try {
      await bellApi.readAll({ category: this.tab });
    } catch (error) {
      this.error.textContent = t("err_generic", { detail: error.message });
      return;
    }
    const now = new Date().toISOString();
    for (const row of this.rows) {
      if (row.group) row.group.unread_count = 0;
      for (const item of row.items || []) item.read_at ??= now;
    }
    this.badge = { ...this.badge, by_category: { ...this.badge.by_category, [this.tab]: 0 } };
    const hadFocus = document.activeElement === this.markAll;
    this.render();
    // The button is disabled now, which would drop the focus on the page: keep it in the list.
    if (hadFocus) this.panel.querySelector("h2").focus();
    this.changed();
  }

  /** Redraw from state; called after every change and on a language switch. */
  render() {
    const { unread_count: unread, unseen_count: unseen } = this.badge;
    const counts = this.badge.by_category || {};
    this.dot.hidden = !(unseen > 0);
    this.button.setAttribute("aria-label", unread ? t("bell_unread", { count: unread }) : t("bell"));
    this.tablist.setAttribute("aria-label", t("bell_tabs"));
    for (const tab of this.tabs) this.renderTab(tab, counts[tab.dataset.tab] || 0);
    this.tabpanel.setAttribute("aria-labelledby", `bell-tab-${this.tab}`);
    this.prefsButton.setAttribute("aria-label", t("bell_preferences"));
    this.prefsButton.title = t("bell_preferences");
    this.markAll.hidden = this.tab === "archive" || !this.prefsClosed();
    this.markAll.disabled = !(counts[this.tab] > 0);
    this.more.hidden = !this.cursor;
    this.empty.textContent = t(this.tab === "archive" ? "bell_archive_empty" : "no_notifications");
    this.empty.hidden = this.rows.length > 0 || this.loading > 0;
    const focused = document.activeElement?.dataset?.focusKey;
    this.list.replaceChildren(
      ...this.rows.map((row) => (row.kind === "item" ? itemRow(row.item, this.on) : this.groupOrItem(row))),
    );
    // Keep the focus on the same control across a redraw (keyboard users).
    if (focused) this.list.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
    this.prefs.render();
  }

  groupOrItem(row) {
    if (row.group.count === 1 && row.items.length === 1) return itemRow(row.items[0], this.on);
    return groupRow(row, this.on);
  }

  renderTab(tab, count) {
    const name = tab.dataset.tab;
    const selected = name === this.tab;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    const label = t(TAB_LABELS[name]);
    const children = [label];
    if (name !== "archive" && count > 0) {
      const badge = document.createElement("span");
      badge.className = "tab-count";
      badge.setAttribute("aria-hidden", "true");
      badge.textContent = String(count);
      children.push(" ", badge);
    }
    tab.replaceChildren(...children);
    tab.setAttribute("aria-label", name !== "archive" && count > 0 ? t("bell_tab_unread", { label, count }) : label);
  }
}
