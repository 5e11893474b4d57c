// The bell: a red dot while something is unread, a list on click.
//
// Polling follows the notifier's contract: GET /v1/notifications/unread-count with the last
// ETag in If-None-Match (a 304 costs the server one primary-key read and no body), every
// X-Poll-Interval seconds as the server says, and not at all while the tab is hidden (Page
// Visibility API); coming back polls at once.

import { ApiError, authorized, call } from "./api.js";
import { fullTime, relativeTime, t } from "./i18n.js";

const PAGE_SIZE = 10;
const DEFAULT_INTERVAL_SECONDS = 30;
const MAX_BACKOFF_SECONDS = 300;

export class Bell {
  constructor(root) {
    this.root = root;
    this.button = root.querySelector("#bell-button");
    this.dot = root.querySelector("#bell-dot");
    this.panel = root.querySelector("#bell-panel");
    this.list = root.querySelector("#bell-list");
    this.empty = root.querySelector("#bell-empty");
    this.more = root.querySelector("#bell-more");
    this.markAll = root.querySelector("#bell-mark-all");
    this.error = root.querySelector("#bell-error");
    this.etag = null;
    this.unread = 0;
    this.interval = DEFAULT_INTERVAL_SECONDS;
    this.failures = 0;
    this.timer = null;
    this.running = false;
    this.items = [];
    this.cursor = null;

    this.button.addEventListener("click", () => (this.isOpen() ? this.close() : this.open()));
    this.markAll.addEventListener("click", () => this.markAllRead());
    this.more.addEventListener("click", () => this.loadPage(this.cursor));
    // Escape closes the list from anywhere (the focus may be on the page when a button that
    // had it became disabled) and gives the focus back to the bell.
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen()) this.close(true);
    });
    document.addEventListener("click", (event) => {
      if (this.isOpen() && !this.root.contains(event.target)) this.close();
    });
    document.addEventListener("visibilitychange", () => {
      if (!this.running) return;
      if (document.hidden) {
        clearTimeout(this.timer);
        this.timer = null;
      } else {
        this.poll();
      }
    });
  }

  start() {
    this.running = true;
    this.root.hidden = false;
    this.poll();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = null;
    this.close();
    this.root.hidden = true;
    this.etag = null;
    this.items = [];
    this.cursor = null;
    this.render();
  }

  schedule(seconds) {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.running && !document.hidden) {
      this.timer = setTimeout(() => this.poll(), seconds * 1000);
    }
  }

  /** One poll of the unread count; reschedules itself. */
  async poll() {
    clearTimeout(this.timer);
    if (!this.running || document.hidden) return;
    try {
      const headers = this.etag ? { "If-None-Match": this.etag } : {};
      const response = await authorized("notifier", "/v1/notifications/unread-count", { headers });
      const asked = Number.parseInt(response.headers.get("X-Poll-Interval") || "", 10);
      if (asked > 0) this.interval = asked;
      if (response.status === 200) {
        this.etag = response.headers.get("ETag");
        const body = await response.json();
        const changed = body.unread_count !== this.unread;
        this.unread = body.unread_count;
        this.render();
        if (this.isOpen() && changed) await this.loadPage(null);
      } else if (response.status !== 304) {
        throw new ApiError(response.status);
      }
      this.failures = 0;
      this.schedule(this.interval);
    } catch {
      // The notifier or the network is away: keep the last state and back off.
      this.failures += 1;
      this.schedule(Math.min(MAX_BACKOFF_SECONDS, this.interval * 2 ** this.failures));
    }
  }

  isOpen() {
    return !this.panel.hidden;
  }

  async open() {
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    await this.loadPage(null);
    this.panel.querySelector("h2").focus();
  }

  close(returnFocus = false) {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    if (returnFocus) this.button.focus();
  }

  /** The first page (cursor null) or the next one. */
  async loadPage(cursor) {
    this.error.textContent = "";
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) query.set("cursor", cursor);
    try {
      const page = await call("notifier", `/v1/notifications?${query}`);
      this.items = cursor ? [...this.items, ...page.items] : page.items;
      this.cursor = page.next_cursor;
      this.unread = page.unread_count;
    } catch (error) {
      this.error.textContent = error.status === 0 ? t("err_network") : t("err_generic", { detail: error.message });
    }
    this.render();
  }

  async markRead(item) {
    if (item.read_at) return;
    try {
      await call("notifier", `/v1/notifications/${encodeURIComponent(item.id)}/read`, {
        method: "POST",
      });
      item.read_at = new Date().toISOString();
      this.unread = Math.max(0, this.unread - 1);
      this.render();
      this.poll();
    } catch (error) {
      this.error.textContent = t("err_generic", { detail: error.message });
    }
  }

  async markAllRead() {
    try {
      await call("notifier", "/v1/notifications/read-all", { method: "POST" });
      const now = new Date().toISOString();
      for (const item of this.items) item.read_at ??= now;
      this.unread = 0;
      const hadFocus = document.activeElement === this.markAll;
      this.render();
      // The button is disabled now, which would drop the focus on the page: keep it in the list.
      if (hadFocus) this.panel.querySelector("h2").focus();
      this.poll();
    } catch (error) {
      this.error.textContent = t("err_generic", { detail: error.message });
    }
  }

  /** Redraw from state; called after every change and on a language switch. */
  render() {
    this.dot.hidden = this.unread === 0;
    this.button.setAttribute(
      "aria-label",
      this.unread ? t("bell_unread", { count: this.unread }) : t("bell"),
    );
    this.markAll.disabled = this.unread === 0;
    this.more.hidden = !this.cursor;
    this.empty.hidden = this.items.length > 0;
    this.list.replaceChildren(...this.items.map((item) => this.renderItem(item)));
  }

  renderItem(item) {
    const entry = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = item.read_at ? "notification" : "notification unread";
    button.dataset.id = item.id;
    if (!item.read_at) {
      const marker = document.createElement("span");
      marker.className = "visually-hidden";
      marker.textContent = `${t("unread")}: `;
      button.append(marker);
    }
    const title = document.createElement("span");
    title.className = "notification-title";
    title.textContent = item.title;
    const body = document.createElement("span");
    body.className = "notification-body";
    body.textContent = item.body;
    const time = document.createElement("time");
    time.className = "notification-time";
    time.dateTime = item.created_at;
    time.title = fullTime(item.created_at);
    time.textContent = relativeTime(item.created_at);
    button.append(title, body, time);
    button.addEventListener("click", () => this.markRead(item));
    entry.append(button);
    return entry;
  }
}
