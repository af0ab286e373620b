"""The interface in the person's language: English and Spanish complete, Bengali started; chosen on
the account, by cookie, or from the browser; dates and numbers formatted for the language."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "townsquare" / "web" / "locale"


def _catalog(lang: str):
    from babel.messages.pofile import read_po

    with (LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def test_spanish_is_complete_and_keeps_every_placeholder():
    from babel.messages.pofile import read_po

    with (LOCALE / "messages.pot").open("rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    spanish = {m.id: m.string for m in _catalog("es") if m.id}
    assert set(spanish) == template  # the catalogue is up to date with the templates
    assert all(spanish.values()), [k for k, v in spanish.items() if not v][:5]
    for msgid, text in spanish.items():
        assert re.findall(r"%\(\w+\)s|\{\w+\}", msgid) == re.findall(r"%\(\w+\)s|\{\w+\}", text) or sorted(
            re.findall(r"%\(\w+\)s|\{\w+\}", msgid)) == sorted(re.findall(r"%\(\w+\)s|\{\w+\}", text)), msgid
    bengali = {m.id: m.string for m in _catalog("bn") if m.id}
    assert sum(bool(v) for v in bengali.values()) >= 50  # started: the navigation, home, sign-in


def test_catalogues_match_the_templates(tmp_path, monkeypatch):
    """Every string marked in the templates and web code is in messages.pot (run
    `python -m townsquare.web.i18n` after changing them)."""
    from babel.messages.extract import extract_from_dir

    root = LOCALE.parent
    found = {message for _f, _l, message, _c, _ctx in extract_from_dir(
        root, [("templates/**.html", "jinja2"), ("**.py", "python")],
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}},
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}) if message}
    from babel.messages.pofile import read_po

    with (LOCALE / "messages.pot").open("rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    assert found == template


@pytest.mark.parametrize("header,expected", [("es-ES,es;q=0.9,en;q=0.8", "es"), ("bn-BD", "bn"),
                                             ("fr-FR, en;q=0.5", "en"), ("de", None), ("", None)])
def test_negotiate(header, expected):
    from townsquare.web.i18n import negotiate

    assert negotiate(header) == expected


def test_pages_follow_the_browser_cookie_and_account(person, db):
    visitor = person()
    page = visitor.get("/signin", headers={"accept": "text/html", "accept-language": "es-ES,es;q=0.9"}).text
    assert '<html lang="es">' in page and "Hola de nuevo" in page and "Iniciar sesión" in page
    english = visitor.get("/signin", headers={"accept": "text/html", "accept-language": "en-GB"}).text
    assert '<html lang="en">' in english and "Welcome back" in english
    visitor.client.get("/lang/bn?next=/signin", follow_redirects=False)
    assert "আবার স্বাগতম" in visitor.get("/signin").text  # the picker's cookie
    alice = person("alice")
    alice.post_form("/settings/language", {"language": "es"}, page="/settings/account")
    home = alice.get("/", headers={"accept": "text/html", "accept-language": "en"}).text  # the account wins
    assert '<html lang="es">' in home and "Para ti" in home and "¿Qué está pasando?" in home
    assert '"Show less": "Mostrar menos"' in home  # the page script's strings, translated
    alice.post_form("/settings/language", {"language": ""}, page="/settings/account")
    assert '<html lang="en">' in alice.get("/", headers={"accept": "text/html", "accept-language": "en"}).text


def test_dates_and_numbers_by_locale():
    from townsquare.web.i18n import Lang

    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    es, bn = Lang("es"), Lang("bn")
    assert es.reltime(now - timedelta(seconds=10), now) == "ahora"
    assert es.reltime(now - timedelta(minutes=5), now).replace(" ", "") == "5min"
    assert es.reltime(now - timedelta(days=2), now).startswith("2")
    assert "nov" in es.reltime(datetime(2026, 11, 27, tzinfo=UTC), now).lower()
    assert es.number(1234567) == "1.234.567" and Lang("en").number(1234567) == "1,234,567"
    assert es.compact(1500).replace("\xa0", " ") == "1,5 mil" and Lang("en").compact(1500) == "1.5K"
    assert bn.number(1234567) != "1234567"  # Bengali digits and grouping
    assert "2026" in es.fulltime(datetime(2026, 11, 27, 9, 30, tzinfo=UTC))
