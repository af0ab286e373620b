"""The interface in several languages: Babel catalogues (``web/locale/<lang>/LC_MESSAGES/messages.po``)
used through Jinja's i18n extension, and dates and numbers formatted for the language.

The language of a page is, in order: the one the person chose (Settings → Profile, kept on the
account), a ``ts_lang`` cookie (the signed-out language picker), the browser's Accept-Language, and
English. Catalogues are read from the ``.po`` files when first needed (no compiled files to keep in
step). To add strings: mark them in templates with ``{{ _("...") }}`` (or in Python with
``gettext_for``), then ``python -m townsquare.web.i18n`` updates the catalogues; translate the new
entries in each ``.po``.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
# Languages offered, with their own names. English and Spanish are complete; Bengali is started
# (what is not translated yet shows in English).
LANGUAGES = {"en": "English", "es": "Español", "bn": "বাংলা"}
LANG_COOKIE = "ts_lang"


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The catalogue of ``lang`` (read from its .po file once per process)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not po.exists():
        return NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer)


def negotiate(accept_language: str | None) -> str | None:
    """The best offered language for an Accept-Language header, or None."""
    if not accept_language:
        return None
    wanted = []
    for part in accept_language.split(","):
        piece = part.strip().split(";")
        tag = piece[0].strip()
        quality = 1.0
        for param in piece[1:]:
            if param.strip().startswith("q="):
                try:
                    quality = float(param.strip()[2:])
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            wanted.append((quality, tag))
    for _, tag in sorted(wanted, key=lambda t: -t[0]):
        base = tag.replace("_", "-").split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return None


def pick_language(request, account=None) -> str:
    chosen = getattr(account, "locale", None) if account is not None else None
    if chosen in LANGUAGES:
        return chosen
    cookie = request.cookies.get(LANG_COOKIE) if request is not None else None
    if cookie in LANGUAGES:
        return cookie
    if request is not None:
        return negotiate(request.headers.get("accept-language")) or DEFAULT
    return DEFAULT


@dataclass(frozen=True)
class Lang:
    """What a page needs to speak one language: gettext functions and formatters."""

    code: str

    @property
    def locale(self) -> Locale:
        try:
            return Locale.parse(self.code)
        except (UnknownLocaleError, ValueError):
            return Locale.parse(DEFAULT)

    def gettext(self, message: str, **variables) -> str:
        text = translations(self.code).gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, n: int, **variables) -> str:
        text = translations(self.code).ngettext(singular, plural, n)
        return text % {"num": n, **variables}

    # --- formatting -------------------------------------------------------------------------
    def number(self, n) -> str:
        from babel.numbers import format_decimal

        return format_decimal(n, locale=self.locale)

    def compact(self, n) -> str:
        """1234 -> "1.2K" (English), "1,2 mil" (Spanish)..."""
        from babel.numbers import format_compact_decimal

        n = int(n or 0)
        return format_compact_decimal(n, locale=self.locale, fraction_digits=1) if n >= 1000 else str(n)

    def reltime(self, value: datetime | None, now: datetime | None = None) -> str:
        """"now", "5m", "3h", "2d", then a date, in this language."""
        from babel.dates import format_date, format_timedelta

        if value is None:
            return ""
        now = now or datetime.now(UTC)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        delta = now - value
        seconds = int(delta.total_seconds())
        if seconds < 45:
            return self.gettext("now")
        if seconds < 7 * 86400:
            return format_timedelta(delta, granularity="minute", threshold=1, format="narrow", locale=self.locale)
        if value.year == now.year:
            return format_date(value, self.locale.date_formats["medium"].pattern.replace("y", "").strip(" ,/.-")
                               if self.code != DEFAULT else "MMM d", locale=self.locale)
        return format_date(value, "medium", locale=self.locale)

    def fulltime(self, value: datetime | None) -> str:
        from babel.dates import format_datetime

        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return format_datetime(value, "medium", tzinfo=UTC, locale=self.locale) + " (UTC)"

    def date(self, value: datetime | None, form: str = "long") -> str:
        from babel.dates import format_date

        return format_date(value, form, locale=self.locale) if value is not None else ""


def lang_for(request, account=None) -> Lang:
    return Lang(pick_language(request, account))


# --- catalogue upkeep (developers): python -m townsquare.web.i18n ----------------------------------


def update_catalogues() -> None:
    """Extract the marked strings from the templates and the web code into messages.pot, and merge
    them into each language's messages.po (new entries empty, vanished ones dropped)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po, write_po

    root = Path(__file__).parent
    template = Catalog(project="Townsquare", charset="utf-8")
    method_map = [("templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    for filename, lineno, message, comments, context in extract_from_dir(
            root, method_map, options_map=options, keywords={"_": None, "gettext": None, "ngettext": (1, 2),
                                                             "N_": None}):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with (LOCALE_DIR / "messages.pot").open("wb") as handle:
        write_po(handle, template, omit_header=False, sort_output=True)
    for lang in LANGUAGES:
        if lang == DEFAULT:
            continue
        po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
        po.parent.mkdir(parents=True, exist_ok=True)
        if po.exists():
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=lang)
        else:
            catalog = Catalog(locale=lang, project="Townsquare", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        with po.open("wb") as handle:
            write_po(handle, catalog, sort_output=True, ignore_obsolete=True, width=120)


def N_(message: str) -> str:  # noqa: N802 - the usual name: marks a string for extraction only
    return message


# Strings the page script (static/app.js) writes: sent translated with each page, {name} filled in there.
JS_STRINGS = (
    N_("Show more"), N_("Show less"), N_("Link copied"),
    N_("Your post is {over} characters over the {max}-character limit. Shorten it to post."),
    N_("{files}: larger than the {limit} upload limit. Choose a smaller file."),
    N_("Describe this video (optional)"), N_("Describe this photo for people who can't see it"),
    N_("Post without a description"), N_("New message from @{handle}"),
    # static/voice.js (the hands-free page)
    N_("Tap to talk"), N_("Listening…"), N_("Thinking…"), N_("Speaking…"), N_("You: {text}"),
    N_("I didn't hear anything. Tap to try again."), N_("The microphone is not available: {error}"),
    N_("The camera is not available: {error}"), N_("Something went wrong."),
    N_("The connection was lost. Try again."), N_("The server did not answer: {error}"),
)




if __name__ == "__main__":
    update_catalogues()
