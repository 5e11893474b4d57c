"""Request and response bodies of the HTTP API (they also make the OpenAPI document).

Requests refuse unknown fields, so a typo is a 422 naming the field rather than silently ignored.
Length limits bound the work one request can cause (argon2 and zxcvbn cost grows with input).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.auth.domain import LANGUAGES, MAX_EMAIL_LENGTH, Language, Role

# Longer than any acceptable password (AUTH_PASSWORD_MAX_LENGTH ≤ 1024), so the policy, not the
# schema, explains what is too long; short enough to bound hashing work.
PasswordField = Annotated[str, Field(min_length=1, max_length=4096)]
# PostgreSQL text cannot hold U+0000: a field that reaches the database refuses it here (422)
# instead of failing the query (500). Found by fuzzing: a login with "a\u0000b" as e-mail.
NO_NUL = r"^[^\x00]*$"
EmailField = Annotated[str, Field(min_length=1, max_length=MAX_EMAIL_LENGTH, pattern=NO_NUL)]
RefreshTokenField = Annotated[str, Field(min_length=1, max_length=512, pattern=NO_NUL)]
DeviceTokenField = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=512,
        pattern=NO_NUL,
        description="The device token of an earlier login from this device, if any: the attempt "
        "is then throttled by this device's own failures. Not a credential; an unknown, "
        "expired or other account's token is ignored.",
    ),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Request):
    email: EmailField
    password: PasswordField
    device_token: DeviceTokenField = None


class RefreshRequest(_Request):
    refresh_token: RefreshTokenField


class LogoutRequest(_Request):
    refresh_token: RefreshTokenField


class UpdateMeRequest(BaseModel):
    """Only `language` can be changed. Any other field is refused: `email` with 403
    `email-change-not-allowed`, the rest with 422."""

    # Extra fields are let through to the use case, which reports them (and `email`) itself.
    model_config = ConfigDict(extra="allow")

    language: Annotated[
        Any,
        Field(
            description="The display language.",
            json_schema_extra={"type": "string", "enum": list(LANGUAGES)},
        ),
    ] = None

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, with their values, unknown ones included."""
        sent = {name: getattr(self, name) for name in self.model_fields_set}
        return {**sent, **(self.model_extra or {})}


class ChangePasswordRequest(_Request):
    current_password: PasswordField
    new_password: Annotated[str, Field(max_length=4096)]
    new_password_confirmation: Annotated[str, Field(max_length=4096)]


class PasswordQualityRequest(_Request):
    password: Annotated[str, Field(max_length=4096)]


class CreateUserRequest(_Request):
    email: EmailField
    password: PasswordField
    language: Language
    role: Role


class TokenPairResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")


class LoginTokenPairResponse(TokenPairResponse):
    device_token: str = Field(
        description="Keep it on this device and send it with the next logins (at least 90 days "
        "valid after its last use). Not a credential."
    )


class TwoFactorState(BaseModel):
    enabled: bool
    phone_number: str | None = Field(description="E.164, once confirmed.")
    passkeys: int = Field(0, ge=0, description="How many passkeys the user registered.")
    methods: list[Literal["totp", "passkey"]] = Field(
        default_factory=list, description="The second factors in use; 2FA is on with any."
    )


class PasswordQualitySummary(BaseModel):
    score: int | None = Field(ge=0, le=4)
    label: str | None


class MeResponse(BaseModel):
    id: UUID
    email: str
    organization_id: UUID
    role: Role
    language: Language
    two_factor: TwoFactorState
    password_quality: PasswordQualitySummary


class PasswordQualityResponse(BaseModel):
    score: int = Field(ge=0, le=4)
    label: str
    warnings: list[str]
    suggestions: list[str]


class UserResponse(BaseModel):
    id: UUID
    email: str
    organization_id: UUID
    role: Role
    language: Language
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserListResponse(BaseModel):
    items: list[UserResponse]


class MfaRequiredResponse(BaseModel):
    mfa_required: Literal[True] = True
    mfa_token: str = Field(description="Single use; send it with the code to /v1/auth/login/2fa.")
    expires_in: int = Field(description="Seconds until the mfa_token expires.")


class SecondFactorRequest(_Request):
    mfa_token: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
    code: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=40,
            pattern=NO_NUL,
            description="The 6-digit code of the authenticator app, or one recovery code.",
        ),
    ] = None
    passkey: dict[str, Any] | None = Field(
        None,
        description="Instead of `code`: the browser's WebAuthn assertion (PublicKeyCredential "
        "as JSON) for the options of /v1/auth/login/2fa/passkey-options.",
    )
    device_token: DeviceTokenField = None

    @model_validator(mode="after")
    def _one_factor(self) -> SecondFactorRequest:
        if (self.code is None) == (self.passkey is None):
            raise ValueError("send either `code` or `passkey`")
        return self


class PhoneNumberRequest(_Request):
    phone_number: Annotated[str, Field(min_length=1, max_length=40, pattern=NO_NUL)]


class CodeRequest(_Request):
    code: Annotated[str, Field(min_length=1, max_length=40, pattern=NO_NUL)]


class EnrollmentResponse(BaseModel):
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as a QR code (SVG) to scan with the app.")


class RecoveryCodesResponse(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each works once.")


class StepUpRequest(_Request):
    """Re-authentication for a change to the second factor: the password and, while 2FA is on,
    a current code of the authenticator app or an unused recovery code (which it uses up)."""

    password: PasswordField
    code: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=40,
            pattern=NO_NUL,
            description="A current 6-digit code of the authenticator app, or an unused "
            "recovery code. Required while two-factor authentication is on.",
        ),
    ] = None
