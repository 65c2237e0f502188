"""Every visible string of the portal and emails has a real translation in every language we
ship, and the committed .mo files are compiled from the committed .po files."""
from __future__ import annotations

from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from integration.i18n import SUPPORTED, Lang, choose

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "integration" / "web" / "translations"
TRANSLATED = [code for code in SUPPORTED if code != "en"]


def load(path: Path):  # type: ignore[no-untyped-def]
    with open(path, "rb") as handle:
        return read_po(handle)


def source_messages() -> set[str]:
    with open(CATALOGS / "babel.cfg", encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    return {(message[0] if isinstance(message, tuple) else message)
            for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map)}


@pytest.fixture(scope="module")
def messages() -> set[str]:
    return source_messages()


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_string_is_translated(code: str, messages: set[str]):
    catalog = load(CATALOGS / code / "LC_MESSAGES" / "messages.po")
    translated = {(m.id[0] if isinstance(m.id, tuple) else m.id): m.string for m in catalog if m.id}
    assert sorted(messages - set(translated)) == []
    untranslated = [key for key, value in translated.items()
                    if not all(value if isinstance(value, tuple) else (value,))]
    assert untranslated == []
    assert [error for _message, errors in catalog.check() for error in errors] == []


@pytest.mark.parametrize("code", SUPPORTED)
def test_the_compiled_catalog_matches_its_source(code: str):
    folder = CATALOGS / code / "LC_MESSAGES"
    compiled = BytesIO()
    write_mo(compiled, load(folder / "messages.po"))
    assert compiled.getvalue() == (folder / "messages.mo").read_bytes(), \
        f"recompile: pybabel compile -d {CATALOGS.relative_to(ROOT)} -D messages"


@pytest.mark.parametrize(("member", "shop", "browser", "expected"), [
    ("fr-CA", "en", [], "fr"),
    (None, "zh-TW", [], "zh_Hant"),
    ("zh-Hant-HK", None, [], "zh_Hant"),
    ("zh-CN", None, [], "zh_Hans"),
    ("zh", None, [], "zh_Hans"),
    ("de", None, [("ar-EG", 0.9), ("fr", 0.5)], "ar"),
    (None, None, [("de", 1.0)], "en"),
])
def test_the_language_is_the_members_then_the_shops_then_the_browsers(member, shop, browser, expected):
    assert choose(member, shop, accept_language=browser) == expected


def test_money_dates_and_plurals_follow_the_language():
    assert Lang("fr").money(1234.5, "EUR") == "1\u202f234,50\u00a0€"
    assert Lang("en").date(date(2026, 3, 31)) == "Mar 31, 2026"
    assert Lang("zh_Hans").date(date(2026, 3, 31)) == "2026年3月31日"
    assert [Lang("ar").points(n) for n in (1, 2, 5, 11, 100)] == ["نقطة واحدة", "نقطتان", "5 نقاط", "11 نقطة", "100 نقطة"]
    assert Lang("ar").direction == "rtl" and Lang("zh_Hant").html_lang == "zh-Hant"
