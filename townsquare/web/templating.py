"""The Jinja2 environment and the filters the templates use (relative times, counts, linkified text)."""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlparse

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from townsquare.social.hashtag_chars import TAG_CHAR
from townsquare.web.i18n import DEFAULT, JS_STRINGS, LANGUAGES, N_, Lang, translations

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# URLs, #hashtags and @mentions inside post text become links. Text is escaped first, piece by piece.
_TOKEN_RE = re.compile(
    r"(?P<url>https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]])"
    r"|(?<![\w&#])#(?P<tag>" + TAG_CHAR + "{1,100})"
    r"|(?<![\w@])@(?P<handle>[A-Za-z0-9_]{1,30})"
)


def linkify(text: str | None) -> Markup:
    """Escape ``text`` and turn URLs, hashtags and mentions into links."""
    if not text:
        return Markup("")
    out: list[str] = []
    last = 0
    for m in _TOKEN_RE.finditer(text):
        out.append(str(escape(text[last : m.start()])))
        if m.group("url"):
            url = m.group("url")
            shown = url.split("://", 1)[1]
            if len(shown) > 40:
                shown = shown[:38] + "…"
            out.append(f'<a href="{escape(url)}" rel="nofollow noopener ugc" target="_blank">{escape(shown)}</a>')
        elif m.group("tag"):
            tag = m.group("tag")
            out.append(f'<a href="/tags/{quote(tag.lower())}">#{escape(tag)}</a>')
        else:
            handle = m.group("handle")
            out.append(f'<a href="/@{escape(handle.lower())}">@{escape(handle)}</a>')
        last = m.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def reltime(value: datetime | None, now: datetime | None = None) -> str:
    """"now", "5m", "3h", "2d", then a date: what social apps show next to a post."""
    if value is None:
        return ""
    now = now or datetime.now(UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = int((now - value).total_seconds())
    if seconds < 45:
        return "now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))}m"
    if seconds < 86400:
        return f"{round(seconds / 3600)}h"
    if seconds < 7 * 86400:
        return f"{round(seconds / 86400)}d"
    if value.year == now.year:
        return f"{value:%b} {value.day}"
    return f"{value:%b} {value.day}, {value.year}"


def isotime(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def fulltime(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{value:%H:%M} · {value:%b} {value.day}, {value.year} (UTC)"


def compact(n: int | None) -> str:
    """1234 -> 1.2K, as counters on buttons show."""
    n = int(n or 0)
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return (f"{n / 1000:.1f}" if n < 10_000 else f"{n // 1000}").removesuffix(".0") + "K"
    return f"{n / 1_000_000:.1f}".removesuffix(".0") + "M"


def host(url: str | None) -> str:
    if not url:
        return ""
    try:
        return (urlparse(url).hostname or url).removeprefix("www.")
    except ValueError:
        return url


def hue(seed: object) -> int:
    """A stable colour for an account's default avatar and cover."""
    text = str(seed or "")
    h = 0
    for ch in text:
        h = (h * 31 + ord(ch)) % 360
    return h


def initial(name: str | None) -> str:
    name = (name or "").strip()
    return name[0].upper() if name else "?"


# How the "why" chart names each predicted action.
ACTION_LABELS = {"open": N_("Open it"), "dwell": N_("Read it for a while"), "like": N_("Like it"), "comment": N_("Comment"),
                 "share": N_("Share it"), "follow_author": N_("Follow the author"), "two_way": N_("Become friends")}


def js_strings() -> dict[str, str]:
    """The page script's strings in the page's language (``i18n.JS_STRINGS``)."""
    return {text: _gettext(text) for text in JS_STRINGS}


def why_chart(top_actions) -> Markup:
    """The predictions that ranked a post, as bars: how likely the model thinks each action is."""
    from townsquare.web.charts import meter

    parts = [(_gettext(ACTION_LABELS.get(a["action"], a["action"])), a["p"]) for a in top_actions if "p" in a]
    return meter(parts, title=_gettext(N_("How likely you are to…"))) if parts else Markup("")


# The language of the page being drawn (set by ``web.context.render_page`` around each render).
CURRENT_LANG: ContextVar[Lang] = ContextVar("townsquare_lang", default=Lang(DEFAULT))  # noqa: B039 (frozen)


def _gettext(message: str) -> str:
    return translations(CURRENT_LANG.get().code).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(CURRENT_LANG.get().code).ngettext(singular, plural, n)


def _local_reltime(value: datetime | None) -> str:
    lang = CURRENT_LANG.get()
    return reltime(value) if lang.code == DEFAULT else lang.reltime(value)


def _local_fulltime(value: datetime | None) -> str:
    lang = CURRENT_LANG.get()
    return fulltime(value) if lang.code == DEFAULT else lang.fulltime(value)


def _local_compact(n: int | None) -> str:
    lang = CURRENT_LANG.get()
    return compact(n) if lang.code == DEFAULT else lang.compact(n)


def _local_number(n) -> str:
    return CURRENT_LANG.get().number(n or 0)


def _local_date(value, form: str = "long") -> str:
    return CURRENT_LANG.get().date(value, form)


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Translations are looked up in the page's language; newstyle: _("Hi %(name)s", name=x) escapes x.
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    env.filters.update(linkify=linkify, reltime=_local_reltime, isotime=isotime, fulltime=_local_fulltime,
                       compact=_local_compact, number=_local_number, localdate=_local_date, host=host, hue=hue,
                       initial=initial)
    from townsquare.web.views import REACTION_EMOJI, reaction_choices, report_reasons

    env.globals.update(report_reasons=report_reasons, reaction_choices=reaction_choices, reaction_emoji=REACTION_EMOJI,
                       why_chart=why_chart, languages=LANGUAGES,
                       js_strings=js_strings)
    return env


environment = make_environment()
