// The bell's preferences: which types of notification to show. GET and PUT
// /v1/notification-preferences; a muted type's items are kept and come back when it is shown
// again. Types that cannot be muted (every action and security type) are shown as locked:
// a disabled, checked box with the reason beside it.

import { loadPreferences, savePreferences } from "./bell-api.js";
import { language, t } from "./i18n.js";

function typeLabel(type) {
  const key = `type_${type.replace(/\W/g, "_")}`;
  const label = t(key);
  return label === key ? type : label;
}

function lockReason(type) {
  return type.startsWith("security.") ? t("bell_locked_security") : t("bell_locked_action");
}

export class BellPreferences {
  /** `onSaved()` runs after a change was saved (the counts and lists change with it). */
  constructor(form, onSaved) {
    this.form = form;
    this.list = form.querySelector("#bell-prefs-list");
    this.status = form.querySelector("#bell-prefs-status");
    this.error = form.querySelector("#bell-prefs-error");
    this.heading = form.querySelector("#bell-prefs-heading");
    this.onSaved = onSaved;
    this.types = null;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
  }

  async show() {
    this.form.hidden = false;
    this.status.textContent = "";
    this.error.textContent = "";
    this.heading.focus();
    try {
      this.types = (await loadPreferences()).types;
    } catch (error) {
      this.error.textContent = t("err_generic", { detail: error.message });
    }
    this.render();
  }

  hide() {
    this.form.hidden = true;
  }

  async save() {
    this.status.textContent = "";
    this.error.textContent = "";
    const muted = [...this.list.querySelectorAll("input[type=checkbox]")]
      .filter((box) => !box.checked && !box.disabled)
      .map((box) => box.value);
    try {
      this.types = (await savePreferences(muted)).types;
      this.render();
      this.status.textContent = t("bell_prefs_saved");
      this.onSaved();
    } catch (error) {
      this.error.textContent = error.status === 0 ? t("err_network") : error.message;
    }
  }

  /** Redraw in a new display language (a redraw from the badge must not undo unsaved ticks). */
  relabel() {
    if (this.language !== language()) this.render();
  }

  render() {
    this.language = language();
    if (!this.types) {
      this.list.replaceChildren();
      return;
    }
    const types = Object.keys(this.types).sort(
      (a, b) => Number(this.types[b].mutable) - Number(this.types[a].mutable),
    );
    this.list.replaceChildren(...types.map((type) => this.renderType(type, this.types[type])));
  }

  renderType(type, { muted, mutable }) {
    const entry = document.createElement("li");
    entry.className = mutable ? "pref" : "pref locked";
    const id = `bell-pref-${type.replace(/\W/g, "-")}`;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = id;
    box.value = type;
    box.checked = !muted || !mutable;
    box.disabled = !mutable;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = typeLabel(type);
    entry.append(box, label);
    const note = mutable
      ? type === "payment.received"
        ? t("bell_double_payment_note")
        : ""
      : lockReason(type);
    if (note) {
      const explain = document.createElement("span");
      explain.className = "pref-note";
      explain.id = `${id}-note`;
      explain.textContent = note;
      box.setAttribute("aria-describedby", explain.id);
      entry.append(explain);
    }
    return entry;
  }
}
