// Start-up and the two views (login, settings). Everything goes through the public HTTP APIs of
// auth and notifier (api.js); this page's own server only hands out files and /config.json.

import * as api from "./api.js";
import { Bell } from "./bell.js";
import { preferredLanguage, setLanguage, t } from "./i18n.js";
import { SettingsPage, describe } from "./settings.js";

function byId(id) {
  return document.getElementById(id);
}

const bell = new Bell(byId("bell"));
const settings = new SettingsPage({ onLanguage: () => bell.render() });
let mfaToken = null;

function showView(name) {
  byId("loading").hidden = true;
  byId("login-view").hidden = name !== "login";
  byId("settings-view").hidden = name !== "settings";
  byId("session-nav").hidden = name !== "settings";
}

function showLogin(message = "") {
  bell.stop();
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
  showView("settings");
  bell.start();
  byId("settings-heading").focus();
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
