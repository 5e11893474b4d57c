// The settings page's "Security" section: the sessions (where the user is logged in; end one or
// all others), the passkeys (passkeys.js) and the security history (paged).

import { call } from "./api.js";
import { element, timeElement, withTime } from "./dom.js";
import { t } from "./i18n.js";
import { PasskeysPanel } from "./passkeys.js";
import { describe } from "./settings.js";

const HISTORY_PAGE_SIZE = 10;

function byId(id) {
  return document.getElementById(id);
}

/** "Firefox on Windows": the service's label, else what it knows of the browser and system. */
export function deviceLabel(device) {
  if (!device) return t("device_unknown");
  if (typeof device === "string") return device;
  if (device.label) return device.label;
  if (device.browser && device.os) return t("device_on", { browser: device.browser, os: device.os });
  return device.browser || device.os || t("device_unknown");
}

/** Runs `action` with `button` disabled; a failure is told in `errorId`'s alert region. */
async function guarded(button, errorId, action) {
  byId(errorId).textContent = "";
  if (button) button.disabled = true;
  try {
    await action();
  } catch (error) {
    byId(errorId).textContent = describe(error);
  } finally {
    if (button) button.disabled = false;
  }
}

export class SecuritySection {
  /** `me()` is the latest profile; `onTwoFactorChange()` reloads it after a passkey turned 2FA
   * on or off. */
  constructor({ me, onTwoFactorChange }) {
    this.sessions = [];
    this.events = [];
    this.cursor = null;
    this.passkeys = new PasskeysPanel({
      me,
      onChange: async () => {
        await onTwoFactorChange();
        await this.refresh();
      },
    });
    byId("sessions-end-others").addEventListener("click", (event) =>
      guarded(event.currentTarget, "sessions-error", () => this.endOthers()),
    );
    byId("sessions-list").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-end]");
      if (button) guarded(button, "sessions-error", () => this.end(button.dataset.end));
    });
    byId("history-more").addEventListener("click", (event) =>
      guarded(event.currentTarget, "history-error", () => this.loadHistory(this.cursor)),
    );
  }

  /** Everything, at login; a card that cannot load says so and the others still show. */
  async load() {
    this.clearMessages();
    await Promise.all([this.refresh(), this.passkeys.load()]);
  }

  /** Sessions and the first page of the history (after anything that changes them). */
  async refresh() {
    await Promise.all([
      guarded(null, "sessions-error", () => this.loadSessions()),
      guarded(null, "history-error", () => this.loadHistory(null)),
    ]);
  }

  /** The 2FA panel changed the factors: the passkeys, sessions and history may have too. */
  async twoFactorChanged() {
    await Promise.all([this.refresh(), this.passkeys.load()]);
  }

  /** Forget the user's data (log out). */
  clear() {
    this.sessions = [];
    this.events = [];
    this.cursor = null;
    this.clearMessages();
    this.passkeys.clear();
    this.render();
  }

  clearMessages() {
    for (const id of ["sessions-status", "sessions-error", "history-error"]) {
      byId(id).textContent = "";
    }
  }

  /** Redraw from the data held (labels and relative times in the new language), then load
   * again: the service names devices and events in the user's language. */
  languageChanged() {
    this.renderSessions();
    this.renderHistory();
    this.passkeys.render();
    return this.refresh();
  }

  render() {
    this.renderSessions();
    this.renderHistory();
    this.passkeys.render();
  }

  async loadSessions() {
    const answer = await call("auth", "/v1/me/sessions");
    this.sessions = answer.items;
    this.renderSessions();
  }

  renderSessions() {
    byId("sessions-list").replaceChildren(...this.sessions.map((session) => this.row(session)));
    byId("sessions-end-others").hidden = !this.sessions.some((session) => !session.current);
  }

  row(session) {
    const label = deviceLabel(session.device);
    const title = element("p", { class: "row-title" }, [
      element("strong", {}, [label]),
      session.current ? element("span", { class: "badge" }, [t("session_current")]) : null,
    ]);
    const facts = element("p", { class: "row-meta" }, [
      withTime("session_last_used", session.last_used_at),
      " · ",
      withTime("session_created", session.created_at),
      element("br"),
      t("session_address", { address: session.address || "—" }),
      " · ",
      t(session.second_factor ? "session_two_factor" : "session_password_only"),
    ]);
    const end = session.current
      ? null
      : element(
          "button",
          {
            type: "button",
            class: "secondary",
            "data-end": session.id,
            "aria-label": t("session_end_label", { device: label }),
          },
          [t("session_end")],
        );
    return element("li", { class: "row", "data-session": session.id }, [
      element("div", { class: "row-text" }, [title, facts]),
      end,
    ]);
  }

  /** DELETE /v1/me/sessions/{id}: that session's refresh token stops working at once. */
  async end(id) {
    byId("sessions-status").textContent = "";
    await call("auth", `/v1/me/sessions/${encodeURIComponent(id)}`, { method: "DELETE" });
    byId("sessions-heading").focus();
    byId("sessions-status").textContent = t("session_ended");
    await this.refresh();
  }

  /** POST /v1/me/sessions/revoke-others: every session but this one ends. */
  async endOthers() {
    byId("sessions-status").textContent = "";
    await call("auth", "/v1/me/sessions/revoke-others", { method: "POST" });
    byId("sessions-heading").focus();
    byId("sessions-status").textContent = t("sessions_others_ended");
    await this.refresh();
  }

  /** One page of GET /v1/me/security-events: the first (cursor null) or the next one. */
  async loadHistory(cursor) {
    const query = new URLSearchParams({ limit: String(HISTORY_PAGE_SIZE) });
    if (cursor) query.set("cursor", cursor);
    const page = await call("auth", `/v1/me/security-events?${query}`);
    this.events = cursor ? [...this.events, ...page.items] : page.items;
    this.cursor = page.next_cursor || null;
    this.renderHistory();
  }

  renderHistory() {
    byId("history-list").replaceChildren(
      ...this.events.map((event) => {
        const where = [
          event.device ? deviceLabel(event.device) : null,
          event.address || null,
        ].filter(Boolean);
        return element("li", { class: "row", "data-type": event.type }, [
          element("div", { class: "row-text" }, [
            element("p", { class: "row-title" }, [element("strong", {}, [event.title])]),
            element("p", { class: "row-meta" }, [
              timeElement(event.occurred_at),
              where.length ? ` · ${where.join(" · ")}` : null,
            ]),
          ]),
        ]);
      }),
    );
    byId("history-empty").hidden = this.events.length > 0;
    byId("history-more").hidden = !this.cursor;
  }
}
