"""Languages of the customer portal and emails: which one, and numbers, money and dates in it.

The locale is the customer's (`members.locale`), else the shop's (`shops.locale`), else the
browser's `Accept-Language`, mapped onto the catalogs we ship (`web/translations/`): English,
French, Simplified Chinese, Traditional Chinese and Arabic (right to left). Chinese tags name a
script or a region (`zh-TW`, `zh-Hant-HK` → Traditional; `zh`, `zh-CN`, `zh-SG` → Simplified).
Formatting uses Babel with Latin digits in every locale (what stores print on receipts).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

CATALOGS = Path(__file__).parent / "web" / "translations"
SUPPORTED = ("en", "fr", "zh_Hans", "zh_Hant", "ar")
DEFAULT = "en"
RIGHT_TO_LEFT = frozenset({"ar"})
TRADITIONAL_REGIONS = frozenset({"tw", "hk", "mo"})


def normalise(tag: str | None) -> str | None:
    """One of SUPPORTED for a BCP 47 / POSIX tag (`fr-CA`, `zh_TW`, `ar-EG`), or None."""
    if not tag:
        return None
    parts = tag.strip().replace("_", "-").lower().split("-")
    language = parts[0]
    if language == "zh":
        rest = set(parts[1:])
        return "zh_Hant" if "hant" in rest or (rest & TRADITIONAL_REGIONS and "hans" not in rest) else "zh_Hans"
    return language if language in SUPPORTED else None


def choose(*candidates: str | None, accept_language: Iterable[tuple[str, float]] = ()) -> str:
    """The first candidate we support (member, then shop), else the browser's best, else English."""
    for candidate in candidates:
        if found := normalise(candidate):
            return found
    for tag, _quality in sorted(accept_language, key=lambda pair: -pair[1]):
        if found := normalise(tag):
            return found
    return DEFAULT


@lru_cache(maxsize=None)
def translations(code: str) -> NullTranslations:
    """The compiled catalog for `code` (English needs none: the source strings are English)."""
    loaded = Translations.load(str(CATALOGS), [code], domain="messages")
    return loaded if isinstance(loaded, Translations) else NullTranslations()


@dataclass(frozen=True, slots=True)
class Lang:
    """Everything a page or an email needs to speak one language; pass it to templates."""

    code: str

    @property
    def html_lang(self) -> str:  # zh_Hans -> zh-Hans, for <html lang>
        return self.code.replace("_", "-")

    @property
    def direction(self) -> str:
        return "rtl" if self.code in RIGHT_TO_LEFT else "ltr"

    @property
    def babel_locale(self) -> Locale:
        return Locale.parse(self.code)

    def gettext(self, message: str, **values: object) -> str:
        text = translations(self.code).gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, count: int, **values: object) -> str:
        text = translations(self.code).ngettext(singular, plural, abs(count))
        return text % {"num": self.number(count), **values}

    def number(self, value: int | Decimal) -> str:
        return format_decimal(value, locale=self.babel_locale)

    def points(self, count: int | Decimal) -> str:
        """`1,250 points`, with the language's plural forms (Arabic has six); a fractional
        earn rate (1.5 points per dollar) takes the plural."""
        if isinstance(count, Decimal) and count != count.to_integral_value():
            return translations(self.code).ngettext("%(num)s point", "%(num)s points", 2) % {"num": self.number(count)}
        return self.ngettext("%(num)s point", "%(num)s points", int(count))

    def money(self, amount: Decimal | int | str, currency: str) -> str:
        return format_currency(Decimal(amount), currency, locale=self.babel_locale)

    def date(self, moment: date | datetime | None) -> str:
        if moment is None:
            return ""
        return format_date(moment.date() if isinstance(moment, datetime) else moment, format="medium",
                           locale=self.babel_locale)

    def day_month(self, moment: date) -> str:
        """A birthday without its placeholder year (`March 14`, `14 mars`, `3月14日`)."""
        return format_skeleton("MMMMd", moment, locale=self.babel_locale)

    def month_names(self) -> list[str]:
        names = self.babel_locale.months["stand-alone"]["wide"]
        return [names[number] for number in range(1, 13)]


LANGUAGE_NAMES = {"en": "English", "fr": "Français", "zh_Hans": "简体中文", "zh_Hant": "繁體中文", "ar": "العربية"}
