// The session and every HTTP call to the two services, the way the platform's web app makes them.
//
// Token storage: the access token (15 minutes) lives only in this module's memory; the refresh
// token lives in sessionStorage, so a reload of the tab keeps the user logged in while closing
// the tab ends it, and other tabs and sites never see it. The page's CSP allows scripts from
// this origin only (no inline script, no eval) and Trusted Types close the DOM XSS sinks, which
// is what keeps a script from reading sessionStorage in the first place. localStorage holds
// only the device token: it is not a credential (it lets no one in without the password), it
// only tells the auth service that this browser logged in before, so guessing from elsewhere
// cannot get this browser throttled. It has to outlive the tab, hence localStorage.
//
// Tabs: a duplicated tab starts with a copy of sessionStorage, so two tabs may hold one refresh
// token. Refreshes take a Web Lock shared by every tab of this origin, and a tab that rotated a
// token tells the others (BroadcastChannel), so the tabs holding it adopt the new pair instead
// of presenting the used one again (the server's reuse interval covers the remaining race).

const REFRESH_KEY = "clochette.refresh_token";
const DEVICE_KEY = "clochette.device_token";
const REFRESH_LOCK = "clochette.refresh";
const REFRESH_MARGIN_SECONDS = 60;
const tabs = "BroadcastChannel" in globalThis ? new BroadcastChannel("clochette.session") : null;

let config = null;
let accessToken = null;
let refreshTimer = null;
let refreshing = null;
let onSessionEnd = () => {};

/** An RFC 9457 problem answered by a service (or a network failure, status 0). */
export class ApiError extends Error {
  constructor(status, problem = {}, headers = new Headers()) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.headers = headers;
  }

  get slug() {
    return String(this.problem.type || "").split("/").pop();
  }

  get retryAfter() {
    return Number.parseInt(this.headers.get("Retry-After") || "", 10) || null;
  }
}

export async function loadConfig() {
  const response = await fetch("/config.json", { cache: "no-store" });
  config = await response.json();
  return config;
}

export function whenSessionEnds(callback) {
  onSessionEnd = callback;
}

export function hasStoredSession() {
  return sessionStorage.getItem(REFRESH_KEY) !== null;
}

function url(service, path) {
  const base = service === "auth" ? config.auth_url : config.notifier_url;
  return `${base}${path}`;
}

async function send(service, path, { method = "GET", body, headers = {}, token, signal } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, cache: "no-store" };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (signal) init.signal = signal; // the bell aborts its held long poll (hide, log out)
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch(url(service, path), init);
  } catch {
    throw new ApiError(0, {});
  }
}

async function failure(response) {
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    problem = {};
  }
  return new ApiError(response.status, problem, response.headers);
}

function keep(pair) {
  accessToken = pair.access_token;
  sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
  clearTimeout(refreshTimer);
  const seconds = Math.max(5, (pair.expires_in || 900) - REFRESH_MARGIN_SECONDS);
  refreshTimer = setTimeout(() => refresh().catch(() => {}), seconds * 1000);
}

function deviceToken() {
  try {
    return localStorage.getItem(DEVICE_KEY) || undefined;
  } catch {
    return undefined; // storage disabled: log in without one
  }
}

function keepDevice(body) {
  try {
    if (body.device_token) localStorage.setItem(DEVICE_KEY, body.device_token);
  } catch {
    // storage disabled or full: the next login simply comes without a device token
  }
}

tabs?.addEventListener("message", (event) => {
  const { previous, pair } = event.data || {};
  if (previous && pair && previous === sessionStorage.getItem(REFRESH_KEY)) keep(pair);
});

function forget() {
  accessToken = null;
  clearTimeout(refreshTimer);
  sessionStorage.removeItem(REFRESH_KEY);
}

/** POST /v1/auth/refresh, once at a time: refresh tokens rotate, and presenting the same one
 * twice counts as reuse and ends the session, so concurrent 401s share one refresh. */
export function refresh() {
  if (refreshing) return refreshing;
  const startedWith = sessionStorage.getItem(REFRESH_KEY);
  const rotate = async () => {
    const stored = sessionStorage.getItem(REFRESH_KEY);
    if (!stored) throw new ApiError(401, {});
    if (stored !== startedWith && accessToken) return; // another tab rotated it meanwhile
    const response = await send("auth", "/v1/auth/refresh", {
      method: "POST",
      body: { refresh_token: stored },
    });
    if (response.status === 401) {
      forget();
      onSessionEnd();
      throw await failure(response);
    }
    if (!response.ok) throw await failure(response);
    const pair = await response.json();
    keep(pair);
    tabs?.postMessage({ previous: stored, pair });
  };
  const once = navigator.locks ? navigator.locks.request(REFRESH_LOCK, rotate) : rotate();
  refreshing = once.finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** True when a 401 is about the access token itself (expired, revoked), not a refusal such as
 * a wrong current password or a missing second factor, which a new token would not change. */
async function accessTokenRefused(response) {
  if (response.status !== 401) return false;
  try {
    const problem = await response.clone().json();
    return String(problem.type || "").endsWith("/unauthenticated");
  } catch {
    return true;
  }
}

/** A call with the access token; when the token is refused, one refresh and one retry (never
 * for other 401s: retrying a wrong password would count it twice). Returns the Response. */
export async function authorized(service, path, options = {}) {
  if (!accessToken) await refresh();
  let response = await send(service, path, { ...options, token: accessToken });
  if (await accessTokenRefused(response)) {
    await refresh();
    response = await send(service, path, { ...options, token: accessToken });
  }
  return response;
}

/** An authorized call whose answer is JSON (or nothing, for 202/204); errors throw ApiError. */
export async function call(service, path, options = {}) {
  const response = await authorized(service, path, options);
  if (!response.ok) throw await failure(response);
  if (response.status === 204 || response.status === 202) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** POST /v1/auth/login: tokens, or {mfa_required, mfa_token} when 2FA is on. */
export async function login(email, password) {
  const response = await send("auth", "/v1/auth/login", {
    method: "POST",
    body: { email, password, device_token: deviceToken() },
  });
  if (!response.ok) throw await failure(response);
  const body = await response.json();
  if (!body.mfa_required) {
    keep(body);
    keepDevice(body);
  }
  return body;
}

/** POST /v1/auth/login/2fa with a TOTP or recovery code. */
export async function secondFactor(mfaToken, code) {
  const response = await send("auth", "/v1/auth/login/2fa", {
    method: "POST",
    body: { mfa_token: mfaToken, code, device_token: deviceToken() },
  });
  if (!response.ok) throw await failure(response);
  const body = await response.json();
  keep(body);
  keepDevice(body);
}

/** POST /v1/auth/login/2fa/passkey-options: the WebAuthn request options (JSON) for the second
 * step of this half-done login. */
export async function passkeyLoginOptions(mfaToken) {
  const response = await send("auth", "/v1/auth/login/2fa/passkey-options", {
    method: "POST",
    body: { mfa_token: mfaToken },
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** POST /v1/auth/login/2fa with the passkey's assertion (JSON) instead of a code. */
export async function secondFactorPasskey(mfaToken, assertion) {
  const response = await send("auth", "/v1/auth/login/2fa", {
    method: "POST",
    body: { mfa_token: mfaToken, passkey: assertion, device_token: deviceToken() },
  });
  if (!response.ok) throw await failure(response);
  const body = await response.json();
  keep(body);
  keepDevice(body);
}

/** POST /v1/auth/logout (the server ends the session), then forget the tokens. */
export async function logout() {
  const stored = sessionStorage.getItem(REFRESH_KEY);
  forget();
  if (stored) {
    try {
      await send("auth", "/v1/auth/logout", { method: "POST", body: { refresh_token: stored } });
    } catch {
      // Offline: the refresh token is forgotten here and expires on its own.
    }
  }
}
