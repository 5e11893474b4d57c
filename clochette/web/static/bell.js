// The bell, second version (contract 5.1): a red dot while something is unseen, a panel with a
// tab per category (action needed, information, security) and their unread counts, an archive,
// groups of one type on one day that expand, per-item actions and the preferences.
//
// Seen is not read: opening the bell marks everything seen (the dot goes out), an item stays
// unread (bold) until it is clicked. The badge is long-polled by bell-poller.js; the calls are in
// bell-api.js, the rows in bell-rows.js, the tabs in bell-tabs.js, the preferences in
// bell-preferences.js. The counts shown come from the server: after a change made here the poller
// is nudged and the new badge follows at once.

import * as bellApi from "./bell-api.js";
import { BadgePoller } from "./bell-poller.js";
import { BellPreferences } from "./bell-preferences.js";
import { groupRow, itemRow } from "./bell-rows.js";
import { BellTabs } from "./bell-tabs.js";
import { t } from "./i18n.js";

const PAGE_SIZE = 10;
const EMPTY_BADGE = { unread_count: 0, unseen_count: 0, by_category: {}, latest_created_at: null };
const CALLS = {
  read: bellApi.markRead,
  unread: bellApi.markUnread,
  archive: bellApi.archive,
  unarchive: bellApi.unarchive,
};
// How an item's action moves its group's unread count.
const UNREAD_DELTA = { read: -1, unread: 1 };

export class Bell {
  constructor(root) {
    this.root = root;
    this.button = root.querySelector("#bell-button");
    this.dot = root.querySelector("#bell-dot");
    this.panel = root.querySelector("#bell-panel");
    this.tabpanel = root.querySelector("#bell-tabpanel");
    this.list = root.querySelector("#bell-list");
    this.empty = root.querySelector("#bell-empty");
    this.more = root.querySelector("#bell-more");
    this.markAll = root.querySelector("#bell-mark-all");
    this.error = root.querySelector("#bell-error");
    this.prefsButton = root.querySelector("#bell-prefs-button");
    this.prefs = new BellPreferences(root.querySelector("#bell-prefs"), () => this.poller.nudge());
    this.tabs = new BellTabs(root.querySelector("#bell-tabs"), (name, focus) =>
      this.select(name, focus),
    );
    this.poller = new BadgePoller((badge) => this.receive(badge));
    this.badge = EMPTY_BADGE;
    this.tab = "action";
    this.rows = []; // {kind: "item", item} or {kind: "group", group, category, open, items, cursor}
    this.cursor = null;
    this.loading = 0;
    this.loadedLatest = null;
    this.on = {
      read: (item) => this.act(item, "read"),
      unread: (item) => this.act(item, "unread"),
      archive: (item) => this.act(item, "archive"),
      unarchive: (item) => this.act(item, "unarchive"),
      single: (row, action) => this.single(row, action),
      toggle: (row) => this.toggleGroup(row),
      readGroup: (row) => this.readGroup(row),
      moreOfGroup: (row) => this.loadGroup(row, row.cursor),
    };

    this.button.addEventListener("click", () => (this.isOpen() ? this.close() : this.open()));
    this.markAll.addEventListener("click", () => this.markAllRead());
    this.more.addEventListener("click", () => this.loadPage(this.cursor));
    this.prefsButton.addEventListener("click", () => this.togglePreferences());
    root
      .querySelector("#bell-prefs-back")
      .addEventListener("click", () => this.togglePreferences(true));
    // Escape closes the list from anywhere (the focus may be on the page when a button that
    // had it became disabled) and gives the focus back to the bell.
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen()) this.close(true);
    });
    // A click outside closes it; a click on a row that a redraw has just replaced does not.
    document.addEventListener("click", (event) => {
      const outside = event.target.isConnected && !this.root.contains(event.target);
      if (this.isOpen() && outside) this.close();
    });
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

  /** A new badge from the poller: redraw, and reload an open list when something arrived (it is
   * seen at the next opening). */
  async receive(badge) {
    this.badge = badge;
    this.render();
    const arrived = badge.latest_created_at !== this.loadedLatest;
    if (this.isOpen() && this.prefsClosed() && arrived) await this.loadPage(null);
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
    // Open where something waits: the tab left open if it has unread items, else the first
    // category that has.
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
      () => {}, // the dot stays; the next opening tries again
    );
    await Promise.all([seen, this.loadPage(null)]);
  }

  close(returnFocus = false) {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.prefs.hide();
    this.prefsButton.setAttribute("aria-expanded", "false");
    this.tabpanel.hidden = false;
    this.tabs.tablist.hidden = false;
    this.button.setAttribute("aria-expanded", "false");
    if (returnFocus) this.button.focus();
  }

  async select(name, focus = false) {
    this.tab = name;
    this.rows = [];
    this.cursor = null;
    this.render();
    if (focus) this.tabs.focus(name);
    await this.loadPage(null);
  }

  /** The preferences in place of the tabs and the list, or back (`focusTab`: on the tab). */
  togglePreferences(focusTab = false) {
    const opening = this.prefsClosed();
    this.prefsButton.setAttribute("aria-expanded", String(opening));
    this.tabpanel.hidden = opening;
    this.tabs.tablist.hidden = opening;
    if (opening) {
      this.prefs.show();
      this.render();
      return;
    }
    this.prefs.hide();
    this.render();
    if (focusTab) this.tabs.focus(this.tab);
    this.loadPage(null);
  }

  fail(error) {
    this.error.textContent =
      error.status === 0 ? t("err_network") : t("err_generic", { detail: error.message });
  }

  /** The first page (cursor null) or the next one of the current tab: groups for a category,
   * items for the archive. Groups that were open stay open. */
  async loadPage(cursor) {
    const tab = this.tab;
    const latest = this.badge.latest_created_at;
    const page = { limit: PAGE_SIZE, cursor };
    this.error.textContent = "";
    if (!cursor) this.busy(+1);
    try {
      let rows;
      let next;
      if (tab === "archive") {
        const answer = await bellApi.listNotifications({ status: "archived" }, page);
        rows = answer.items.map((item) => ({ kind: "item", item }));
        next = answer.next_cursor;
      } else {
        const answer = await bellApi.listGroups(tab, page);
        const open = new Set(this.rows.filter((row) => row.open).map((row) => row.group.key));
        rows = answer.items.map((group) => ({
          kind: "group",
          group,
          category: tab,
          open: false,
          items: [],
        }));
        for (const row of rows) {
          if (!cursor && open.has(row.group.key) && row.group.count > 1) this.loadGroup(row, null);
        }
        next = answer.next_cursor;
      }
      if (tab !== this.tab) return; // another tab was chosen meanwhile
      this.rows = cursor ? [...this.rows, ...rows] : rows;
      this.cursor = next;
      if (!cursor) this.loadedLatest = latest;
    } catch (error) {
      this.fail(error);
    } finally {
      if (!cursor) this.busy(-1);
    }
    this.render();
  }

  /** While a first page loads, the list says it is busy and "nothing here" waits. */
  busy(change) {
    this.loading += change;
    this.tabpanel.setAttribute("aria-busy", String(this.loading > 0));
  }

  /** A group's items (`?group=KEY`, and the tab's category: a tab folds only its own
   * category's items, so a day's payments under "Information" leave out a double payment),
   * first page or the next. */
  async loadGroup(row, cursor) {
    try {
      const answer = await bellApi.listNotifications(
        { group: row.group.key, category: row.category },
        { limit: PAGE_SIZE, cursor },
      );
      row.items = cursor ? [...row.items, ...answer.items] : answer.items;
      row.cursor = answer.next_cursor;
      row.open = true;
    } catch (error) {
      this.fail(error);
    }
    this.render();
  }

  async toggleGroup(row) {
    if (row.open) {
      row.open = false;
      this.render();
    } else {
      await this.loadGroup(row, null);
    }
  }

  /** A group of one is shown as its item; the item (its id) is loaded on first use. */
  async single(row, action) {
    if (!row.items.length) await this.loadGroup(row, null);
    row.open = false;
    if (row.items[0]) await this.act(row.items[0], action, row);
  }

  /** read, unread, archive or unarchive one item. */
  async act(item, action, owner = this.ownerOf(item)) {
    if (action === "read" && item.read_at) return;
    try {
      await CALLS[action](item.id);
    } catch (error) {
      this.fail(error);
      return;
    }
    const wasUnread = !item.read_at;
    if (action === "read") {
      item.read_at = new Date().toISOString();
    } else if (action === "unread") {
      item.read_at = null;
    } else {
      this.remove(item, owner);
    }
    if (owner?.group) {
      const delta = UNREAD_DELTA[action] ?? (action === "archive" && wasUnread ? -1 : 0);
      owner.group.unread_count = Math.max(0, owner.group.unread_count + delta);
    }
    this.render();
    this.poller.nudge();
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

  /** Read-all of a scope: `{group}` or `{category}`; `rows` are the rows it reads. */
  async readScope(scope, rows) {
    try {
      await bellApi.readAll(scope);
    } catch (error) {
      this.fail(error);
      return false;
    }
    const now = new Date().toISOString();
    for (const row of rows) {
      if (row.group) row.group.unread_count = 0;
      for (const item of row.items || [row.item]) item.read_at ??= now;
    }
    this.poller.nudge();
    return true;
  }

  async readGroup(row) {
    if (await this.readScope({ group: row.group.key }, [row])) this.render();
  }

  /** Read-all of the current tab's category. */
  async markAllRead() {
    if (!(await this.readScope({ category: this.tab }, this.rows))) return;
    this.badge = { ...this.badge, by_category: { ...this.badge.by_category, [this.tab]: 0 } };
    const hadFocus = document.activeElement === this.markAll;
    this.render();
    // The button is disabled now, which would drop the focus on the page: keep it in the list.
    if (hadFocus) this.panel.querySelector("h2").focus();
  }

  /** Redraw from state; called after every change and on a language switch. */
  render() {
    const { unread_count: unread, unseen_count: unseen } = this.badge;
    const counts = this.badge.by_category || {};
    this.dot.hidden = !(unseen > 0);
    this.button.setAttribute(
      "aria-label",
      unread ? t("bell_unread", { count: unread }) : t("bell"),
    );
    this.tabs.render(this.tab, counts);
    this.tabpanel.setAttribute("aria-labelledby", `bell-tab-${this.tab}`);
    this.prefsButton.setAttribute("aria-label", t("bell_preferences"));
    this.prefsButton.title = t("bell_preferences");
    this.markAll.hidden = this.tab === "archive" || !this.prefsClosed();
    this.markAll.disabled = !(counts[this.tab] > 0);
    this.more.hidden = !this.cursor;
    this.empty.textContent = t(this.tab === "archive" ? "bell_archive_empty" : "no_notifications");
    this.empty.hidden = this.rows.length > 0 || this.loading > 0;
    const focused = document.activeElement?.dataset?.focusKey;
    this.list.replaceChildren(...this.rows.map((row) => this.renderRow(row)));
    // Keep the focus on the same control across a redraw (keyboard users).
    if (focused) this.list.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
    this.prefs.relabel();
  }

  renderRow(row) {
    if (row.kind === "item") return itemRow(row.item, this.on);
    // A group of one whose item is loaded is that item.
    if (row.group.count === 1 && row.items.length === 1) return itemRow(row.items[0], this.on);
    return groupRow(row, this.on);
  }
}
