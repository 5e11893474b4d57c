// The personal settings page: language, the read-only e-mail, the password with its quality
// meter, and the two-factor panel (phone → SMS code → QR → app code → recovery codes; new
// recovery codes and deactivation with the password and a second factor).

import { call, refresh } from "./api.js";
import { language, relativeTime, setLanguage, t } from "./i18n.js";

const METER_DELAY_MS = 250;

function byId(id) {
  return document.getElementById(id);
}

const SMS_LIMIT_MESSAGES = {
  cooldown: "err_sms_cooldown",
  user_hourly: "err_sms_user",
  user_daily: "err_sms_user",
  number_hourly: "err_sms_number",
  number_daily: "err_sms_number",
  organization_hourly: "err_sms_organization",
  organization_daily: "err_sms_organization",
};

/** "in 5 minutes", "over 2 uur", … for a wait in seconds, in the page's language. */
function inSeconds(seconds) {
  return relativeTime(new Date(Date.now() + seconds * 1000 + 500).toISOString());
}

/** The message to show for a failed call: the page's own words for the problems it knows, else
 * the service's detail. */
export function describe(error) {
  if (error.status === 0) return t("err_network");
  switch (error.slug) {
    case "second-factor-required":
      return t("err_second_factor_required");
    case "two-factor-not-enabled":
      return t("err_two_factor_not_enabled");
    case "invalid-code":
      return t("err_second_factor");
    case "sms-limit-reached": {
      const key = SMS_LIMIT_MESSAGES[error.problem?.limit] || "err_sms_number";
      const seconds = error.retryAfter || error.problem?.retry_after || 60;
      return t(key, { when: inSeconds(seconds) });
    }
    default:
      break;
  }
  if (error.status === 429 && error.retryAfter) {
    return t("err_throttled", { seconds: error.retryAfter });
  }
  return error.problem?.detail || t("err_generic", { detail: error.message });
}

/** The body of a step-up; an empty code is left out, so the service names what is missing. */
export function stepUp(password, code) {
  const trimmed = code.trim();
  return trimmed ? { password, code: trimmed } : { password };
}

/** An element with attributes (`data-i18n` ones are filled in by setLanguage). */
function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function codeField(id, describedBy) {
  return [
    element("label", { for: id, "data-i18n": "step_up_code" }),
    element("input", {
      id,
      type: "text",
      autocomplete: "one-time-code",
      autocapitalize: "characters",
      spellcheck: "false",
      maxlength: "40",
      required: true,
      "aria-describedby": describedBy,
    }),
  ];
}

/** The step-up parts of the 2FA panel: the code field of "deactivate", and the "new recovery
 * codes" action with its form (password and code). */
function buildStepUp() {
  const deactivateForm = byId("deactivate-form");
  deactivateForm
    .querySelector(".actions")
    .before(...codeField("deactivate-code", "deactivate-explain"));
  const deactivateButton = byId("deactivate");
  deactivateButton.before(
    element("button", {
      type: "button",
      class: "secondary",
      id: "renew-codes",
      "data-i18n": "renew_codes",
    }),
    " ",
  );
  const renewForm = element("form", { "data-step": "renew", id: "renew-form", novalidate: true }, [
    element("p", { id: "renew-explain", "data-i18n": "renew_explain" }),
    element("label", { for: "renew-password", "data-i18n": "password" }),
    element("input", {
      id: "renew-password",
      type: "password",
      autocomplete: "current-password",
      required: true,
      "aria-describedby": "renew-explain",
    }),
    ...codeField("renew-code", "renew-explain"),
    element("div", { class: "actions" }, [
      element("button", { type: "submit", class: "primary", "data-i18n": "renew_submit" }),
      " ",
      element("button", {
        type: "button",
        class: "secondary",
        "data-cancel": true,
        "data-i18n": "cancel",
      }),
    ]),
  ]);
  renewForm.hidden = true;
  deactivateForm.after(renewForm);
  setLanguage(language(), byId("two-factor"));
}

export class SettingsPage {
  constructor({ onLanguage, onTwoFactor = () => {} }) {
    this.onLanguage = onLanguage;
    // Told after 2FA was turned on or off or got new recovery codes (the Security section).
    this.onTwoFactor = onTwoFactor;
    this.me = null;
    this.meterTimer = null;
    this.meterRequest = 0;
    this.step = "off";
    buildStepUp();

    byId("language").addEventListener("change", (event) => this.changeLanguage(event.target.value));
    byId("new-password").addEventListener("input", () => this.scheduleMeter());
    byId("password-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.changePassword();
    });
    byId("activate").addEventListener("click", () => this.show("phone"));
    byId("deactivate").addEventListener("click", () => this.show("deactivate"));
    byId("renew-codes").addEventListener("click", () => this.show("renew"));
    byId("recovery-done").addEventListener("click", () => this.show("on"));
    for (const cancel of document.querySelectorAll("#two-factor [data-cancel]")) {
      cancel.addEventListener("click", () => this.show(this.me.two_factor.enabled ? "on" : "off"));
    }
    this.submit("phone-form", () => this.sendCode());
    this.submit("sms-form", () => this.verifyPhone());
    this.submit("app-form", () => this.activate());
    this.submit("deactivate-form", () => this.deactivate());
    this.submit("renew-form", () => this.renewRecoveryCodes());
  }

  submit(formId, action) {
    byId(formId).addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = event.target.querySelector("button[type=submit]");
      button.disabled = true;
      byId("two-factor-error").textContent = "";
      byId("two-factor-status").textContent = "";
      try {
        await action();
      } catch (error) {
        byId("two-factor-error").textContent = describe(error);
      } finally {
        button.disabled = false;
      }
    });
  }

  async load() {
    this.me = await call("auth", "/v1/me");
    byId("email").value = this.me.email;
    byId("language").value = this.me.language;
    this.show(this.me.two_factor.enabled ? "on" : "off", false);
    this.render();
    return this.me;
  }

  /** Strings built from data (not from data-i18n), redrawn on a language switch. */
  render() {
    if (!this.me) return;
    const methods = this.me.two_factor.methods;
    byId("two-factor-on").textContent =
      methods && !methods.includes("totp")
        ? t("two_factor_on_passkeys", { count: this.me.two_factor.passkeys })
        : t("two_factor_on", { phone: this.me.two_factor.phone_number || "—" });
    if (!byId("new-password").value) byId("quality-text").textContent = t("quality_empty");
  }

  async changeLanguage(language) {
    byId("language-status").textContent = "";
    byId("language-error").textContent = "";
    try {
      this.me = await call("auth", "/v1/me", { method: "PATCH", body: { language } });
      // The access token carries the language (`lang`), which the quality meter answers in.
      await refresh();
      setLanguage(this.me.language);
      this.onLanguage(this.me.language);
      this.render();
      byId("language-status").textContent = t("language_saved");
      if (byId("new-password").value) this.updateMeter();
    } catch (error) {
      byId("language").value = this.me.language;
      byId("language-error").textContent = describe(error);
    }
  }

  scheduleMeter() {
    clearTimeout(this.meterTimer);
    this.meterTimer = setTimeout(() => this.updateMeter(), METER_DELAY_MS);
  }

  /** POST /v1/password-quality while the user types; late answers to old input are dropped. */
  async updateMeter() {
    const password = byId("new-password").value;
    const request = ++this.meterRequest;
    const meter = byId("quality-meter");
    const feedback = byId("quality-feedback");
    if (!password) {
      meter.dataset.score = "none";
      byId("quality-text").textContent = t("quality_empty");
      feedback.replaceChildren();
      return;
    }
    try {
      const quality = await call("auth", "/v1/password-quality", {
        method: "POST",
        body: { password },
      });
      if (request !== this.meterRequest) return;
      meter.dataset.score = String(quality.score);
      byId("quality-text").textContent = quality.label;
      const lines = [...(quality.warnings || []), ...(quality.suggestions || [])];
      feedback.replaceChildren(
        ...lines.map((line) => {
          const item = document.createElement("li");
          item.textContent = line;
          return item;
        }),
      );
    } catch {
      // The meter is advice; the change itself reports every broken rule.
    }
  }

  async changePassword() {
    const errors = byId("password-error");
    const status = byId("password-status");
    errors.replaceChildren();
    status.textContent = "";
    const body = {
      current_password: byId("current-password").value,
      new_password: byId("new-password").value,
      new_password_confirmation: byId("confirm-password").value,
    };
    try {
      await call("auth", "/v1/me/password", { method: "PUT", body });
      byId("password-form").reset();
      this.updateMeter();
      status.textContent = t("password_changed");
    } catch (error) {
      const messages = error.problem?.errors?.length
        ? error.problem.errors.map((item) => item.message)
        : [describe(error)];
      errors.replaceChildren(
        ...messages.map((message) => {
          const item = document.createElement("li");
          item.textContent = message;
          return item;
        }),
      );
    }
  }

  /** Show one step of the 2FA panel and move the focus into it. */
  show(step, focus = true) {
    this.step = step;
    for (const element of document.querySelectorAll("#two-factor [data-step]")) {
      element.hidden = element.dataset.step !== step;
    }
    if (["phone", "deactivate", "renew"].includes(step)) byId(`${step}-form`).reset();
    if (!focus) return;
    const target = byId("two-factor").querySelector(
      `[data-step="${step}"] input, [data-step="${step}"] [tabindex="-1"], [data-step="${step}"] button`,
    );
    target?.focus();
  }

  async sendCode() {
    await call("auth", "/v1/me/2fa/phone", {
      method: "POST",
      body: { phone_number: byId("phone").value },
    });
    byId("sms-code").value = "";
    this.show("sms");
  }

  async verifyPhone() {
    const enrollment = await call("auth", "/v1/me/2fa/phone/verify", {
      method: "POST",
      body: { code: byId("sms-code").value.trim() },
    });
    // The SVG goes into an <img> (a data: URL), never into the DOM: an image cannot run script.
    // The service sends SVG meant for inline HTML; as a document of its own it needs its
    // namespace, and a viewBox so that it scales to the image's box.
    let svg = enrollment.qr_svg.replace(/^<svg(?![^>]*\bxmlns=)/, '<svg xmlns="http://www.w3.org/2000/svg"');
    const size = /^<svg[^>]*\bwidth="(\d+)"[^>]*\bheight="(\d+)"/.exec(svg);
    if (size && !/^<svg[^>]*\bviewBox=/.test(svg)) {
      svg = svg.replace(/^<svg/, `<svg viewBox="0 0 ${size[1]} ${size[2]}"`);
    }
    byId("qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
    const secret = new URL(enrollment.otpauth_uri).searchParams.get("secret") || "";
    byId("secret").textContent = secret.replace(/(.{4})/g, "$1 ").trim();
    byId("app-code").value = "";
    this.show("qr");
  }

  async activate() {
    const result = await call("auth", "/v1/me/2fa/activate", {
      method: "POST",
      body: { code: byId("app-code").value.trim() },
    });
    this.showRecoveryCodes(result.recovery_codes);
    this.me = await call("auth", "/v1/me");
    this.render();
    this.show("recovery");
    byId("two-factor-status").textContent = t("two_factor_enabled");
    this.onTwoFactor();
  }

  showRecoveryCodes(codes) {
    byId("recovery-codes").replaceChildren(
      ...codes.map((code) => {
        const item = document.createElement("li");
        const text = document.createElement("code");
        text.textContent = code;
        item.append(text);
        return item;
      }),
    );
  }

  /** New recovery codes: the password and a code of the app (or an unused recovery code). */
  async renewRecoveryCodes() {
    const result = await call("auth", "/v1/me/2fa/recovery-codes", {
      method: "POST",
      body: stepUp(byId("renew-password").value, byId("renew-code").value),
    });
    byId("renew-form").reset();
    this.showRecoveryCodes(result.recovery_codes);
    this.show("recovery");
    byId("two-factor-status").textContent = t("recovery_codes_renewed");
    this.onTwoFactor();
  }

  async deactivate() {
    await call("auth", "/v1/me/2fa", {
      method: "DELETE",
      body: stepUp(byId("deactivate-password").value, byId("deactivate-code").value),
    });
    byId("deactivate-form").reset();
    this.me = await call("auth", "/v1/me");
    this.render();
    this.show("off");
    byId("two-factor-status").textContent = t("two_factor_disabled");
    this.onTwoFactor();
  }
}
