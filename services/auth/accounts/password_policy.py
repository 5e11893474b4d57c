"""The password rules (NIST SP 800-63B 5.1.1.2) and the strength meter.

Rules: a minimum and a maximum length in Unicode code points, not one of the most common
passwords, not containing the e-mail address (or its part before the @) or the organisation's
name, and a matching confirmation. No composition rules. Every broken rule is reported at once.

The strength meter is zxcvbn: a score from 0 to 4 with feedback, shown while the user types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Final

from zxcvbn import zxcvbn  # type: ignore[import-untyped]
from zxcvbn.feedback import get_feedback  # type: ignore[import-untyped]

from services.auth.accounts.i18n import rule_message, strength_label, translate_feedback
from services.auth.domain import Language, normalize_password
from shared.problems import FieldError

COMMON_PASSWORDS_FILE: Final = Path(__file__).parent / "data" / "common-passwords.txt"
# Shorter names would forbid too many innocent passwords ("an" in "banana").
_MIN_NAME_LENGTH: Final = 3
_SEPARATORS = re.compile(r"[\s._\-+']+")
# zxcvbn refuses longer input; the first 72 characters decide the score of a longer password.
_ZXCVBN_MAX_LENGTH: Final = 72


@cache
def common_passwords() -> frozenset[str]:
    """The blocklist shipped with the package (see data/build_common_passwords.py)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


@dataclass(frozen=True)
class BrokenRule:
    rule: str
    field: str
    message: str


@dataclass(frozen=True)
class PasswordContext:
    """What a password must not contain: the account's e-mail and organisation name."""

    email: str
    organization_name: str

    def user_inputs(self) -> list[str]:
        local_part = self.email.rpartition("@")[0]
        return [
            value
            for value in (self.email, local_part, self.organization_name)
            if len(value) >= _MIN_NAME_LENGTH
        ]


@dataclass(frozen=True)
class Quality:
    score: int
    label: str
    warnings: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)


def _squeezed(text: str) -> str:
    return _SEPARATORS.sub("", text.lower())


def _contains(password: str, name: str) -> bool:
    lowered, squeezed = password.lower(), _squeezed(password)
    candidates = {name.lower(), _squeezed(name)}
    return any(len(c) >= _MIN_NAME_LENGTH and (c in lowered or c in squeezed) for c in candidates)


class PasswordPolicy:
    """Checks new passwords and measures their strength."""

    def __init__(self, min_length: int, max_length: int) -> None:
        self.min_length = min_length
        self.max_length = max_length
        self._common = common_passwords()

    def broken_rules(
        self,
        password: str,
        context: PasswordContext,
        *,
        language: Language = "en",
        confirmation: str | None = None,
        field: str = "password",
        confirmation_field: str = "password_confirmation",
    ) -> list[BrokenRule]:
        """Every rule `password` breaks (an empty list when it is acceptable)."""
        normalized = normalize_password(password)
        broken: list[str] = []
        if len(normalized) < self.min_length:
            broken.append("too_short")
        if len(normalized) > self.max_length:
            broken.append("too_long")
        if normalized.strip().lower() in self._common:
            broken.append("too_common")
        local_part = context.email.rpartition("@")[0]
        if _contains(normalized, context.email) or _contains(normalized, local_part):
            broken.append("contains_email")
        if _contains(normalized, context.organization_name):
            broken.append("contains_organization")
        rules = [BrokenRule(rule, field, self._message(rule, language)) for rule in broken]
        if confirmation is not None and normalize_password(confirmation) != normalized:
            rules.append(
                BrokenRule(
                    "confirmation_mismatch",
                    confirmation_field,
                    self._message("confirmation_mismatch", language),
                )
            )
        return rules

    def quality(
        self, password: str, language: Language, context: PasswordContext | None = None
    ) -> Quality:
        """zxcvbn's score with its feedback translated, plus the rules the password breaks."""
        normalized = normalize_password(password)
        inputs = context.user_inputs() if context else []
        if normalized:
            result = zxcvbn(normalized[:_ZXCVBN_MAX_LENGTH], user_inputs=inputs)
            score, feedback = int(result["score"]), result["feedback"]
        else:  # zxcvbn fails on an empty string; its advice for "nothing typed yet"
            score, feedback = 0, get_feedback(0, [])
        warnings = (
            [translate_feedback(feedback["warning"], language)] if feedback["warning"] else []
        )
        suggestions = [translate_feedback(s, language) for s in feedback["suggestions"]]
        rules = self.broken_rules(password, context or PasswordContext("", ""), language=language)
        warnings.extend(rule.message for rule in rules)
        if rules:
            score = min(score, 1)
        return Quality(score, strength_label(score, language), warnings, suggestions)

    def score(self, password: str, context: PasswordContext) -> int:
        """The zxcvbn score recorded when a password is set."""
        normalized = normalize_password(password)
        if not normalized:
            return 0
        scored = normalized[:_ZXCVBN_MAX_LENGTH]
        return int(zxcvbn(scored, user_inputs=context.user_inputs())["score"])

    def _message(self, rule: str, language: Language) -> str:
        return rule_message(rule, language, min=self.min_length, max=self.max_length)


def as_field_errors(rules: list[BrokenRule]) -> list[FieldError]:
    return [FieldError(field=rule.field, message=rule.message) for rule in rules]
