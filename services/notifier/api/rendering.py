"""Title, body and deep link of a notification, rendered at read time.

Notifications store their type and the event's parameters, never text, so they always read in
the user's *current* language. Each type's wording is in wording.py, translated by gettext
catalogs (`locale/<lang>/LC_MESSAGES/notifier.po`, compiled to `.mo`); amounts and dates are
formatted by Babel for the Belgian variant of each language (formatting.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from services.notifier.api.formatting import (
    LOCALES,
    Language,
    Links,
    Params,
    RenderedNotification,
    Unrenderable,
)
from services.notifier.api.wording import RENDERERS, generic
from shared.logging import get_logger

log = get_logger(__name__)

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE: Final = "en"
DISPLAY_TIMEZONE: Final = "Europe/Brussels"


class NotificationRenderer:
    """Renders (type, params, language) into what the bell shows."""

    def __init__(
        self,
        web_app_base_url: str,
        *,
        locale_dir: Path = LOCALE_DIR,
        timezone: str = DISPLAY_TIMEZONE,
    ) -> None:
        self._links = Links(web_app_base_url)
        self._languages = {lang: Language(lang, locale_dir, timezone) for lang in LOCALES}

    def render(
        self, notification_type: str, params: Mapping[str, Any], language: str
    ) -> RenderedNotification:
        """Never fails: an unknown type, or parameters that do not fit it, get a generic text."""
        t = self._languages.get(language) or self._languages[DEFAULT_LANGUAGE]
        render = RENDERERS.get(notification_type)
        if render is None:
            return generic(t)
        try:
            return render(t, Params(params), self._links)
        except Unrenderable as exc:
            log.warning("notification_unrenderable", type=notification_type, field=str(exc))
            return generic(t)
