// Building the DOM without innerHTML: the page enforces Trusted Types with no policy, so every
// node is made with createElement and every text goes in as text.

import { fullTime, relativeTime, t } from "./i18n.js";

/** An element with attributes (`true` for a bare attribute, null/false left out) and children. */
export function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) node.setAttribute(name, "");
    else if (value !== null && value !== undefined && value !== false) {
      node.setAttribute(name, value);
    }
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** A <time> showing "3 minutes ago" in the page's language, the full date as its tooltip. */
export function timeElement(iso) {
  return element("time", { datetime: iso, title: fullTime(iso) }, [relativeTime(iso)]);
}

/** The string `key` with its {when} placeholder replaced by a <time> element. */
export function withTime(key, iso, params = {}) {
  const marker = "\u0000";
  const [before, after = ""] = t(key, { ...params, when: marker }).split(marker);
  return element("span", {}, [before, timeElement(iso), after]);
}
