// Start-up and the two views (login, settings). Everything goes through the public HTTP APIs of
// auth and notifier (api.js); this page's own server only hands out files and /config.json.

import * as api from "./api.js";
import { Bell } from "./bell.js";
import { preferredLanguage, setLanguage, t } from "./i18n.js";
import { SecuritySection } from "./security.js";
import { SettingsPage, describe } from "./settings.js";
import { passkeyErrorKey, passkeysSupported, usePasskey } from "./webauthn.js";

function byId(id) {
  return document.getElementById(id);
}

const bell = new Bell(byId("bell"));
const settings = new SettingsPage({
  onLanguage: () => {
    bell.render();
    security.languageChanged();
  },
  onTwoFactor: () => security.twoFactorChanged(),
});
const security = new SecuritySection({
  me: () => settings.me,
  onTwoFactorChange: () => settings.load(),
});
let mfaToken = null;

function showView(name) {
  byId("loading").hidden = true;
  byId("login-view").hidden = name !== "login";
  byId("settings-view").hidden = name !== "settings";
  byId("session-nav").hidden = name !== "settings";
}

function showLogin(message = "") {
  bell.stop();
  security.clear();
  mfaToken = null;
  byId("login-form").hidden = false;
  byId("mfa-form").hidden = true;
  byId("login-form").reset();
  byId("login-error").textContent = message;
  showView("login");
  byId("login-email").focus();
}

async function enter() {
  const me = await settings.load();
  setLanguage(me.language);
  settings.render();
  await security.load();
  showView("settings");
  bell.start();
  // The platform's security notifications link to /settings/security.
  if (location.pathname === "/settings/security") {
    byId("security-heading").focus();
    byId("security-heading").scrollIntoView();
  } else {
    byId("settings-heading").focus();
  }
}

function loginMessage(error) {
  if (error.status === 401) return t("err_credentials");
  return describe(error);
}

byId("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = byId("login-error");
  const button = event.target.querySelector("button[type=submit]");
  error.textContent = "";
  button.disabled = true;
  try {
    const answer = await api.login(byId("login-email").value.trim(), byId("login-password").value);
    if (answer.mfa_required) {
      mfaToken = answer.mfa_token;
      byId("login-form").hidden = true;
      byId("mfa-form").hidden = false;
      byId("mfa-code").value = "";
      byId("mfa-error").textContent = "";
      byId("mfa-passkey-option").hidden = !passkeysSupported();
      byId("mfa-code").focus();
    } else {
      await enter();
    }
  } catch (failure) {
    error.textContent = loginMessage(failure);
  } finally {
    button.disabled = false;
  }
});

byId("mfa-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = byId("mfa-error");
  const button = event.target.querySelector("button[type=submit]");
  error.textContent = "";
  button.disabled = true;
  try {
    await api.secondFactor(mfaToken, byId("mfa-code").value.replace(/\s+/g, ""));
    await enter();
  } catch (failure) {
    if (failure.status === 401 && failure.slug !== "invalid-second-factor") {
      // The half-done login expired or was used up: start over with the password.
      showLogin(t("err_session"));
    } else {
      error.textContent = failure.status === 401 ? t("err_second_factor") : describe(failure);
      byId("mfa-code").select();
    }
  } finally {
    button.disabled = false;
  }
});

// The second step with a passkey: the service's challenge, signed by the browser's passkey.
// A refused assertion leaves the half-done login alive (`invalid-second-factor` may also mean
// it ended: the service does not say which, so the message offers both); any other 401 means
// it is gone.
const PASSKEY_REFUSED = new Set(["invalid-second-factor", "passkey-verification-failed"]);

byId("mfa-passkey").addEventListener("click", async (event) => {
  const error = byId("mfa-error");
  const button = event.currentTarget;
  error.textContent = "";
  button.disabled = true;
  try {
    const options = await api.passkeyLoginOptions(mfaToken);
    const assertion = await usePasskey(options);
    await api.secondFactorPasskey(mfaToken, assertion);
    await enter();
  } catch (failure) {
    const key = passkeyErrorKey(failure);
    if (key) {
      error.textContent = t(key);
    } else if (failure.status === 401 && !PASSKEY_REFUSED.has(failure.slug)) {
      showLogin(t("err_session"));
    } else {
      error.textContent = failure.status === 401 ? t("err_passkey_refused") : describe(failure);
    }
  } finally {
    button.disabled = false;
  }
});

byId("mfa-restart").addEventListener("click", () => showLogin());

byId("logout").addEventListener("click", async () => {
  bell.stop(); // aborts the bell's held long poll before the tokens go
  await api.logout();
  showLogin();
});

api.whenSessionEnds(() => showLogin(t("err_session")));

async function start() {
  setLanguage(preferredLanguage());
  await api.loadConfig();
  if (api.hasStoredSession()) {
    try {
      await api.refresh();
      await enter();
      return;
    } catch {
      // Expired or revoked: fall through to the login page.
    }
  }
  showLogin();
}

start();
