// The bell's badge: GET /v1/notifications/unread-count, long-polled while the tab is visible.
//
// Each request carries the last ETag in If-None-Match and, once there is one, `Prefer: wait=25`
// (RFC 7240). A server that holds the request answers `Preference-Applied: wait=N` with a 200 as
// soon as the user's badge changes or a 304 after N seconds: the next request goes out at once.
// A server that does not hold it (an older one, or one past its cap of held requests) answers at
// once without Preference-Applied: then the next request waits X-Poll-Interval seconds, as plain
// polling; Prefer is still sent, so long polling resumes when the server has room again. A 200
// is followed by a request at once (the first one has no ETag to wait on).
//
// A hidden tab (Page Visibility API) aborts its held request and asks nothing until it is shown
// again, when it asks at once; stop() (log out, session ended) aborts it too (AbortController).
// Network failures back off (doubling the interval, at most 5 minutes). The 401 refresh and retry
// is api.js's `authorized`, as for every other call.

import { ApiError, authorized } from "./api.js";

export const WAIT_SECONDS = 25;
const DEFAULT_INTERVAL_SECONDS = 30;
const MAX_BACKOFF_SECONDS = 300;
// A server that answers a long poll at once over and over must not make this a busy loop.
const MIN_GAP_MS = 1000;

export class BadgePoller {
  /** `onBadge(body)` gets every 200 body:
   * {unread_count, unseen_count, by_category, latest_created_at}. */
  constructor(onBadge) {
    this.onBadge = onBadge;
    this.etag = null;
    this.interval = DEFAULT_INTERVAL_SECONDS;
    this.failures = 0;
    this.timer = null;
    this.controller = null;
    this.running = false;
    this.longPolling = false; // whether the last answer said Preference-Applied
    document.addEventListener("visibilitychange", () => {
      if (!this.running) return;
      if (document.hidden) this.halt();
      else this.poll();
    });
  }

  start() {
    this.running = true;
    this.poll();
  }

  stop() {
    this.running = false;
    this.halt();
    this.etag = null;
    this.failures = 0;
  }

  /** Ask now (after a change made here): abort what is held and poll with the last ETag, so the
   * server answers the new badge at once. */
  nudge() {
    if (this.running) this.poll();
  }

  halt() {
    clearTimeout(this.timer);
    this.timer = null;
    this.controller?.abort();
    this.controller = null;
  }

  schedule(milliseconds) {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.running && !document.hidden) {
      this.timer = setTimeout(() => this.poll(), milliseconds);
    }
  }

  async poll() {
    this.halt();
    if (!this.running || document.hidden) return;
    const controller = new AbortController();
    this.controller = controller;
    const headers = {};
    if (this.etag) {
      headers["If-None-Match"] = this.etag;
      headers.Prefer = `wait=${WAIT_SECONDS}`;
    }
    const started = Date.now();
    try {
      const response = await authorized("notifier", "/v1/notifications/unread-count", {
        headers,
        signal: controller.signal,
      });
      const asked = Number.parseInt(response.headers.get("X-Poll-Interval") || "", 10);
      if (asked > 0) this.interval = asked;
      const applied = /\bwait\s*=/i.test(response.headers.get("Preference-Applied") || "");
      let body = null;
      if (response.status === 200) {
        body = await response.json();
        if (controller.signal.aborted) return;
        this.etag = response.headers.get("ETag");
      } else if (response.status !== 304) {
        throw new ApiError(response.status);
      }
      if (controller.signal.aborted) return;
      this.controller = null;
      this.failures = 0;
      this.longPolling = applied;
      // At once after a held answer, and after a change answered at once (the first poll, or
      // a change already there: the next request shows whether the server holds); else the
      // server's interval.
      const again = applied || response.status === 200;
      const gap = Math.max(0, MIN_GAP_MS - (Date.now() - started));
      this.schedule(again ? gap : this.interval * 1000);
      if (body) await this.onBadge(body);
    } catch {
      if (controller.signal.aborted) return; // hidden, stopped or nudged: not a failure
      // The notifier or the network is away: keep the last state and back off.
      this.controller = null;
      this.failures += 1;
      this.longPolling = false;
      this.schedule(Math.min(MAX_BACKOFF_SECONDS, this.interval * 2 ** this.failures) * 1000);
    }
  }
}
