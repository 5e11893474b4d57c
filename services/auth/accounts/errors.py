"""Errors of accounts, profiles and passwords. Use cases raise them; shared.problems turns each
into its RFC 9457 document (type `https://clochette.dev/problems/<slug>`)."""

from __future__ import annotations

from shared.problems import DomainError, FieldError, Forbidden, InvalidRequest


class WrongCurrentPassword(DomainError):
    slug = "wrong-current-password"
    title = "Wrong current password"
    status = 401

    def __init__(self) -> None:
        super().__init__("The current password is not correct.")


class EmailChangeNotAllowed(Forbidden):
    slug = "email-change-not-allowed"
    title = "The login e-mail address cannot be changed"

    def __init__(self) -> None:
        super().__init__(
            "You cannot change your own login e-mail address. An administrator of your "
            "organisation must create a new user with the new address."
        )


class NotAnAdministrator(Forbidden):
    slug = "not-an-administrator"
    title = "Administrators only"

    def __init__(self) -> None:
        super().__init__("Only an administrator of this organisation may do this.")


class EmailTaken(DomainError):
    slug = "email-taken"
    title = "E-mail address already in use"
    status = 409

    def __init__(self, email: str) -> None:
        super().__init__(f"A user with the e-mail address {email} already exists.")


class UserNotFound(DomainError):
    slug = "user-not-found"
    title = "User not found"
    status = 404

    def __init__(self) -> None:
        super().__init__("There is no such user in this organisation.")


class CannotDeactivateSelf(DomainError):
    slug = "cannot-deactivate-self"
    title = "You cannot deactivate yourself"
    status = 409

    def __init__(self) -> None:
        super().__init__("Ask another administrator to deactivate your account.")


class PasswordRejected(InvalidRequest):
    """The new password breaks one or more rules; every broken rule is listed."""

    slug = "password-rejected"
    title = "The password is not accepted"

    def __init__(self, errors: list[FieldError], rules: list[str]) -> None:
        super().__init__(
            "The password breaks " + ("one rule." if len(rules) == 1 else f"{len(rules)} rules."),
            errors=errors,
            rules=rules,
        )


class InvalidFields(InvalidRequest):
    """A request body with unknown fields or bad values (found by the use case)."""

    def __init__(self, errors: list[FieldError]) -> None:
        names = ", ".join(sorted({e.field for e in errors}))
        super().__init__(f"Invalid or unexpected fields: {names}.", errors=errors)
