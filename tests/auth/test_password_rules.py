"""Unit tests of the password rules, the strength meter and its translations (no database)."""

from __future__ import annotations

import ast
import inspect
import unicodedata

import pytest
import zxcvbn.feedback  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from services.auth.accounts.data.build_common_passwords import common_passwords as generated
from services.auth.accounts.i18n import (
    RULE_MESSAGES,
    STRENGTH_LABELS,
    ZXCVBN_FEEDBACK,
    negotiate_language,
    translate_feedback,
)
from services.auth.accounts.password_policy import PasswordContext, PasswordPolicy, common_passwords
from services.auth.domain import LANGUAGES

POLICY = PasswordPolicy(min_length=12, max_length=256)
CONTEXT = PasswordContext("jan.peeters@example.be", "Brasserie Clochette")


def rules(password: str, confirmation: str | None = None) -> list[str]:
    broken = POLICY.broken_rules(password, CONTEXT, confirmation=confirmation)
    return [b.rule for b in broken]


def test_a_long_unusual_password_passes() -> None:
    assert rules("violet tram under snow", "violet tram under snow") == []


def test_no_composition_rules_lowercase_words_are_fine() -> None:
    assert rules("anyway the river bends slowly") == []


def test_length_counts_code_points_from_12_and_accepts_64_and_more() -> None:
    assert rules("short one") == ["too_short"]
    assert rules("é" * 11 + "x") == []  # 12 code points, 13 bytes in UTF-8
    assert rules("gêne" * 16) == []  # 64 characters
    assert rules("a fairly long sentence " * 11) == []  # 253 characters
    assert rules("z" * 257) == ["too_long"]


def test_unicode_is_normalized_before_counting() -> None:
    # "ﬁ" (one code point) becomes "fi" (two) under NFKC.
    assert rules("ﬁ" * 6) == []


def test_the_most_common_passwords_are_refused_whatever_their_case() -> None:
    assert "1q2w3e4r5t6y" in common_passwords()
    assert rules("1Q2W3E4R5T6Y") == ["too_common"]


def test_the_blocklist_has_at_least_10000_entries_and_matches_its_generator() -> None:
    shipped = common_passwords()
    assert len(shipped) >= 10_000
    assert shipped == frozenset(generated())


def test_the_email_and_its_local_part_are_refused() -> None:
    assert rules("my jan.peeters password") == ["contains_email"]
    assert rules("JanPeeters-forever-2026") == ["contains_email"]


def test_the_organisation_name_is_refused_with_or_without_spaces() -> None:
    assert rules("I love brasserie clochette") == ["contains_organization"]
    assert rules("BrasserieClochette!!") == ["contains_organization"]


def test_every_broken_rule_is_reported_at_once() -> None:
    broken = POLICY.broken_rules("jan.peeters", CONTEXT, confirmation="other")
    assert [(b.rule, b.field) for b in broken] == [
        ("too_short", "password"),
        ("contains_email", "password"),
        ("confirmation_mismatch", "password_confirmation"),
    ]


def test_rule_messages_follow_the_language() -> None:
    broken = POLICY.broken_rules("short", CONTEXT, language="nl")
    assert broken[0].message == "Gebruik minstens 12 tekens."


def test_the_meter_scores_and_labels_in_the_callers_language() -> None:
    weak = POLICY.quality("password", "fr")
    strong = POLICY.quality("violet tram under snow", "de")
    assert (weak.score, weak.label) == (0, "Très faible")
    assert "Ce mot de passe fait partie des 10 plus courants." in weak.warnings
    assert strong.score == 4
    assert strong.label == "Sehr stark"


def test_the_meter_caps_the_score_of_a_password_the_rules_refuse() -> None:
    quality = POLICY.quality("jan.peeters ocean kayak", "en", CONTEXT)
    assert quality.score <= 1
    assert "The password must not contain your e-mail address or its name part." in (
        quality.warnings
    )


def test_the_meter_advises_on_an_empty_password() -> None:
    quality = POLICY.quality("", "nl")
    assert quality.score == 0
    assert quality.suggestions == [
        "Gebruik een paar woorden en vermijd gangbare uitdrukkingen.",
        "Symbolen, cijfers of hoofdletters zijn niet nodig.",
    ]


def _zxcvbn_messages() -> set[str]:
    """Every string zxcvbn's feedback module passes to gettext, read from its source."""
    tree = ast.parse(inspect.getsource(zxcvbn.feedback))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_"
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def test_every_zxcvbn_message_is_translated_into_all_four_languages() -> None:
    messages = _zxcvbn_messages()
    assert len(messages) >= 25
    assert messages <= set(ZXCVBN_FEEDBACK), sorted(messages - set(ZXCVBN_FEEDBACK))
    for english, texts in ZXCVBN_FEEDBACK.items():
        assert set(texts) == set(LANGUAGES), english
        assert texts["en"] == english
        assert all(text.strip() for text in texts.values())
        for language in ("nl", "fr", "de"):
            assert texts[language] != english, (language, english)


def test_every_label_and_rule_message_exists_in_all_four_languages() -> None:
    assert set(STRENGTH_LABELS) == set(LANGUAGES)
    assert all(len(labels) == 5 for labels in STRENGTH_LABELS.values())
    for texts in RULE_MESSAGES.values():
        assert set(texts) == set(LANGUAGES)


def test_an_unknown_message_falls_back_to_english() -> None:
    assert translate_feedback("A brand new zxcvbn message.", "nl") == "A brand new zxcvbn message."


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("nl-BE,nl;q=0.9,en;q=0.8", "nl"),
        ("fr-BE", "fr"),
        ("es, de;q=0.5, fr;q=0.4", "de"),
        ("en;q=0.2, de;q=0.9", "de"),
        ("nl;q=0, fr;q=0.1", "fr"),
        ("ja, zh", "en"),
        ("de;q=abc, nl", "nl"),
        ("*", "en"),
    ],
)
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate_language(header) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_rules_never_fail_and_length_rules_are_consistent(password: str) -> None:
    broken = rules(password)
    length = len(unicodedata.normalize("NFKC", password))
    assert ("too_short" in broken) == (length < 12)
    assert ("too_long" in broken) == (length > 256)


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=400))
def test_the_meter_answers_for_any_input(password: str) -> None:
    quality = POLICY.quality(password, "fr", CONTEXT)
    assert 0 <= quality.score <= 4
    assert quality.label in STRENGTH_LABELS["fr"]
