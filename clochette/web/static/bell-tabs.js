// The bell's tabs: one per category with its unread count, and the archive. A WAI-ARIA tablist:
// the chosen tab is the one in the tab order, the arrow keys, Home and End move between them.

import { CATEGORIES } from "./bell-api.js";
import { t } from "./i18n.js";

export const TABS = [...CATEGORIES, "archive"];
const LABELS = {
  action: "tab_action",
  info: "tab_info",
  security: "tab_security",
  archive: "tab_archive",
};

export class BellTabs {
  /** `onSelect(name, focus)` runs when the user picks a tab (focus: by keyboard). */
  constructor(tablist, onSelect) {
    this.tablist = tablist;
    this.tabs = TABS.map((name) => this.make(name, onSelect));
    tablist.replaceChildren(...this.tabs);
    tablist.addEventListener("keydown", (event) => {
      const index = this.tabs.findIndex((tab) => tab.getAttribute("aria-selected") === "true");
      const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: TABS.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      onSelect(TABS[(moves[event.key] + TABS.length) % TABS.length], true);
    });
  }

  make(name, onSelect) {
    const tab = document.createElement("button");
    tab.type = "button";
    tab.setAttribute("role", "tab");
    tab.id = `bell-tab-${name}`;
    tab.dataset.tab = name;
    tab.setAttribute("aria-controls", "bell-tabpanel");
    tab.addEventListener("click", () => onSelect(name, false));
    return tab;
  }

  focus(name) {
    this.tabs[TABS.indexOf(name)].focus();
  }

  /** Redraw: which one is chosen, and each category's unread count (`by_category`). */
  render(current, counts) {
    this.tablist.setAttribute("aria-label", t("bell_tabs"));
    for (const tab of this.tabs) {
      const name = tab.dataset.tab;
      const count = name === "archive" ? 0 : counts[name] || 0;
      tab.setAttribute("aria-selected", String(name === current));
      tab.tabIndex = name === current ? 0 : -1;
      const label = t(LABELS[name]);
      if (count > 0) {
        const badge = document.createElement("span");
        badge.className = "tab-count";
        badge.setAttribute("aria-hidden", "true");
        badge.textContent = String(count);
        tab.replaceChildren(label, " ", badge);
        tab.setAttribute("aria-label", t("bell_tab_unread", { label, count }));
      } else {
        tab.replaceChildren(label);
        tab.setAttribute("aria-label", label);
      }
    }
  }
}
