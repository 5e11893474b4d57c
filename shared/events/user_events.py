"""User events the auth service publishes on topic `auth.users` (keyed by organization_id, like
every producer's records; a user never changes organisation, so each user's events stay in
order) and the notifier consumes to keep its projection of recipients.

Same envelope as the platform events; `user_id` is always set. Security events also reach the
user's bell.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints

from shared.events.models import Email, _Strict

Language = Literal["nl", "fr", "en", "de"]
Role = Literal["admin", "member"]


class UserCreated(_Strict):
    """A user was created (by an administrator, the CLI or the demo seed)."""

    type_name: ClassVar[str] = "user.created"
    # No longer published: no consumer needs the address, and auth.users is kept forever. Still
    # accepted (optional, version 1 unchanged) so that records published before keep validating.
    email: Email | None = Field(
        None,
        exclude=True,
        description="Deprecated, no longer sent: the notifier never needed the address.",
    )
    role: Role
    language: Language
    active: bool = True


class UserLanguageChanged(_Strict):
    """The user chose another display language; notifications render in it from now on."""

    type_name: ClassVar[str] = "user.language_changed"
    language: Language


class UserDeactivated(_Strict):
    """The user can no longer log in and gets no new notifications."""

    type_name: ClassVar[str] = "user.deactivated"


class UserPasswordChanged(_Strict):
    """The user's password changed; their other sessions were revoked."""

    type_name: ClassVar[str] = "user.password_changed"


class UserTwoFactorEnabled(_Strict):
    """Two-factor authentication was turned on."""

    type_name: ClassVar[str] = "user.two_factor_enabled"


class UserTwoFactorDisabled(_Strict):
    """Two-factor authentication was turned off."""

    type_name: ClassVar[str] = "user.two_factor_disabled"


class UserSuspiciousCodes(_Strict):
    """A run of wrong second-factor codes followed a correct password: the password may be
    known to someone else."""

    type_name: ClassVar[str] = "user.suspicious_codes"
    failed_attempts: Annotated[int, Field(ge=1)]


class UserRecoveryCodesRegenerated(_Strict):
    """New recovery codes replaced the old ones (which stopped working)."""

    type_name: ClassVar[str] = "user.recovery_codes_regenerated"


class UserRecoveryCodeUsed(_Strict):
    """A recovery code was used to log in; `remaining` unused codes are left."""

    type_name: ClassVar[str] = "user.recovery_code_used"
    remaining: Annotated[int, Field(ge=0, description="Unused recovery codes left.")]


DevicePart = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class SignInDevice(_Strict):
    """The device of a sign-in, from its user agent (null parts are unknown)."""

    browser: DevicePart | None = Field(description='E.g. "Firefox 133".')
    os: DevicePart | None = Field(description='E.g. "Windows 10".')
    label: Annotated[str, StringConstraints(min_length=1, max_length=300)] = Field(
        description='In English, e.g. "Firefox 133 on Windows 10" or "Unknown device"; a '
        "consumer that shows it in another language builds it from `browser` and `os`."
    )


class UserNewSignIn(_Strict):
    """Someone signed in without a valid device token of the account (a new device, another
    browser, cleared storage): the owner should check that it was them."""

    type_name: ClassVar[str] = "user.new_sign_in"
    session_id: UUID = Field(description="The new session; the owner can end it.")
    device: SignInDevice
    address: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = Field(
        description="The client address truncated to its network (IPv4 /24, IPv6 /48), e.g. "
        '"203.0.113.0/24"; null when unknown.'
    )
    signed_in_at: AwareDatetime


USER_EVENT_PAYLOADS: tuple[type[_Strict], ...] = (
    UserCreated,
    UserLanguageChanged,
    UserDeactivated,
    UserPasswordChanged,
    UserTwoFactorEnabled,
    UserTwoFactorDisabled,
    UserSuspiciousCodes,
    UserRecoveryCodesRegenerated,
    UserRecoveryCodeUsed,
    UserNewSignIn,
)
