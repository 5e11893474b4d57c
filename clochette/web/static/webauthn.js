// WebAuthn as the auth service speaks it: options arrive as JSON with base64url-encoded binary
// fields (py_webauthn's options_to_json), and the browser's credential goes back as JSON the same
// way. The browser's own parsers and PublicKeyCredential.toJSON() are used where they exist;
// otherwise the binary fields are decoded and encoded here.

/** True when this browser can make and use passkeys here (it needs a secure context). */
export function passkeysSupported() {
  return (
    globalThis.isSecureContext === true &&
    typeof globalThis.PublicKeyCredential === "function" &&
    typeof navigator.credentials?.create === "function"
  );
}

function fromBase64url(text) {
  const base64 = String(text).replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
}

function toBase64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function descriptors(list) {
  return (list || []).map((item) => ({ ...item, id: fromBase64url(item.id) }));
}

function creationOptions(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

function requestOptions(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    allowCredentials: descriptors(json.allowCredentials),
  };
}

/** The credential as JSON (the shape of PublicKeyCredential.toJSON()). */
function credentialJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const answer = credential.response;
  const response = { clientDataJSON: toBase64url(answer.clientDataJSON) };
  if (answer.attestationObject) {
    response.attestationObject = toBase64url(answer.attestationObject);
    response.transports = answer.getTransports?.() || [];
  } else {
    response.authenticatorData = toBase64url(answer.authenticatorData);
    response.signature = toBase64url(answer.signature);
    if (answer.userHandle) response.userHandle = toBase64url(answer.userHandle);
  }
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response,
    authenticatorAttachment: credential.authenticatorAttachment ?? null,
    clientExtensionResults: credential.getClientExtensionResults?.() || {},
  };
}

/** Make a new passkey from the service's creation options; its registration response as JSON. */
export async function createPasskey(optionsJSON) {
  const credential = await navigator.credentials.create({ publicKey: creationOptions(optionsJSON) });
  return credentialJSON(credential);
}

/** Sign the service's challenge with a passkey; the assertion as JSON. */
export async function usePasskey(optionsJSON) {
  const credential = await navigator.credentials.get({ publicKey: requestOptions(optionsJSON) });
  return credentialJSON(credential);
}

/** The i18n key for a refusal of the browser itself (a DOMException), else null. */
export function passkeyErrorKey(error) {
  switch (error?.name) {
    case "NotAllowedError":
    case "AbortError":
      return "err_passkey_cancelled";
    case "InvalidStateError":
      return "err_passkey_exists";
    case "SecurityError":
      return "err_passkey_insecure";
    case "NotSupportedError":
      return "err_passkey_unsupported";
    default:
      return null;
  }
}
