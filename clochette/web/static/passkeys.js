// The passkeys card: the user's passkeys (name, added, last used), "Add a passkey" (a name, and
// the password and a second factor when 2FA is already on) and removing one (password and a
// second factor). A first passkey turns 2FA on: its recovery codes are shown once, here.

import { call } from "./api.js";
import { element, withTime } from "./dom.js";
import { t } from "./i18n.js";
import { describe, stepUp } from "./settings.js";
import { createPasskey, passkeyErrorKey, passkeysSupported } from "./webauthn.js";

function byId(id) {
  return document.getElementById(id);
}

/** The message for a failure: the browser's own refusals (cancelled, already registered, …) in
 * the page's words, the service's problems as settings.js tells them (their detail). */
export function explainPasskeyFailure(error) {
  const key = passkeyErrorKey(error);
  return key ? t(key) : describe(error);
}

export class PasskeysPanel {
  constructor({ me, onChange }) {
    this.me = me;
    this.onChange = onChange;
    this.items = [];
    this.removing = null;
    const supported = passkeysSupported();
    byId("passkeys-unsupported").hidden = supported;
    byId("passkey-add").hidden = !supported;

    byId("passkey-add").addEventListener("click", () => {
      this.clearMessages();
      this.show("add");
    });
    byId("passkey-recovery-done").addEventListener("click", () => this.show(null, "passkey-add"));
    for (const cancel of document.querySelectorAll("#passkeys [data-cancel]")) {
      cancel.addEventListener("click", () => this.show(null, "passkey-add"));
    }
    byId("passkeys-list").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-remove]");
      if (button) this.askRemove(button.dataset.remove);
    });
    this.submit("passkey-add-form", () => this.add());
    this.submit("passkey-remove-form", () => this.remove());
  }

  submit(formId, action) {
    byId(formId).addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = event.target.querySelector("button[type=submit]");
      button.disabled = true;
      this.clearMessages();
      try {
        await action();
      } catch (error) {
        byId("passkeys-error").textContent = explainPasskeyFailure(error);
      } finally {
        button.disabled = false;
      }
    });
  }

  clearMessages() {
    byId("passkeys-error").textContent = "";
    byId("passkeys-status").textContent = "";
  }

  clear() {
    this.items = [];
    this.clearMessages();
    this.show(null);
    this.render();
  }

  async load() {
    try {
      const answer = await call("auth", "/v1/me/2fa/passkeys");
      this.items = answer.items;
      this.render();
    } catch (error) {
      byId("passkeys-error").textContent = describe(error);
    }
  }

  render() {
    byId("passkeys-list").replaceChildren(
      ...this.items.map((passkey) =>
        element("li", { class: "row", "data-passkey": passkey.id }, [
          element("div", { class: "row-text" }, [
            element("p", { class: "row-title" }, [element("strong", {}, [passkey.name])]),
            element("p", { class: "row-meta" }, [
              withTime("passkey_created", passkey.created_at),
              " · ",
              passkey.last_used_at
                ? withTime("passkey_last_used", passkey.last_used_at)
                : t("passkey_never_used"),
            ]),
          ]),
          element(
            "button",
            {
              type: "button",
              class: "secondary",
              "data-remove": passkey.id,
              "aria-label": t("passkey_remove_label", { name: passkey.name }),
            },
            [t("passkey_remove")],
          ),
        ]),
      ),
    );
    byId("passkeys-empty").hidden = this.items.length > 0;
    if (this.removing) {
      const passkey = this.items.find((item) => item.id === this.removing);
      byId("passkey-remove-explain").textContent = t("passkey_remove_explain", {
        name: passkey?.name || "",
      });
    }
  }

  /** One part of the card at a time: the add form, the remove form, the recovery codes, or
   * (null) just the list; the focus goes to `focusId` or into the part shown. */
  show(part, focusId = null) {
    const parts = { add: "passkey-add-form", remove: "passkey-remove-form", codes: "passkey-recovery" };
    for (const [name, id] of Object.entries(parts)) byId(id).hidden = name !== part;
    if (part === "add") {
      byId("passkey-add-form").reset();
      byId("passkey-add-step-up").hidden = !this.me()?.two_factor?.enabled;
    }
    if (part === "remove") byId("passkey-remove-form").reset();
    if (part !== "remove") this.removing = null;
    const target = focusId
      ? byId(focusId)
      : part && byId(parts[part]).querySelector("input:not([hidden]), [tabindex='-1'], button");
    target?.focus();
  }

  /** Step-up (when 2FA is on) → creation options → the browser makes the passkey → saved. */
  async add() {
    const name = byId("passkey-name").value.trim();
    if (!name) {
      byId("passkeys-error").textContent = t("err_passkey_name");
      byId("passkey-name").focus();
      return;
    }
    const stepUpNeeded = !byId("passkey-add-step-up").hidden;
    const options = await call("auth", "/v1/me/2fa/passkeys/options", {
      method: "POST",
      body: stepUpNeeded
        ? stepUp(byId("passkey-add-password").value, byId("passkey-add-code").value)
        : undefined,
    });
    const credential = await createPasskey(options);
    const created = await call("auth", "/v1/me/2fa/passkeys", {
      method: "POST",
      body: { name, credential },
    });
    if (created.recovery_codes?.length) {
      byId("passkey-recovery-codes").replaceChildren(
        ...created.recovery_codes.map((code) => element("li", {}, [element("code", {}, [code])])),
      );
      this.show("codes", "passkey-recovery-heading");
    } else {
      this.show(null, "passkeys-heading");
    }
    byId("passkeys-status").textContent = t("passkey_added", { name: created.name });
    await this.load();
    await this.onChange();
  }

  askRemove(id) {
    this.clearMessages();
    this.show("remove");
    this.removing = id;
    this.render();
  }

  /** DELETE /v1/me/2fa/passkeys/{id} with the password and a second factor. */
  async remove() {
    const passkey = this.items.find((item) => item.id === this.removing);
    if (!passkey) return;
    await call("auth", `/v1/me/2fa/passkeys/${encodeURIComponent(passkey.id)}`, {
      method: "DELETE",
      body: stepUp(byId("passkey-remove-password").value, byId("passkey-remove-code").value),
    });
    this.show(null, "passkeys-heading");
    byId("passkeys-status").textContent = t("passkey_removed", { name: passkey.name });
    await this.load();
    await this.onChange();
  }
}
