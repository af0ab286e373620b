"""Canonical renderings of values that people write loosely: dates and currencies.

A person writes "July 4, 2027", "4th of July 2027" or "2027/07/04"; a tool wants "2027-07-04" (or
the format its description names: "MM-DD-YYYY", "dd/mm/yyyy", ...). A person writes "Swiss francs"; a
tool that takes a currency wants "CHF". The grounders (``grounders.py``: dates, money, addresses) offer
these renderings as the values of date-like, currency-like and address-like string arguments, so even a
small model can only pick one of them instead of copying the words.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
    "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
_MON = r"(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:1[6-9]|2[0-2])\d\d)"
_DATE_PATTERNS = [
    re.compile(rf"\b{_YEAR}[-/.](?P<m>[01]?\d)[-/.](?P<d>[0-3]?\d)\b"),                 # 2027-07-04
    re.compile(rf"\b(?P<a>[0-3]?\d)[-/.](?P<b>[0-3]?\d)[-/.]{_YEAR}\b"),                 # 07/04/2027
    re.compile(rf"\b{_YEAR},?\s+{_MON}\s*{_DAY}\b", re.I),                                # 2027 July 4th
    re.compile(rf"\b{_MON}[\s.]*{_DAY}(?!\d)(?:(?:\s*,\s*|\s+)(?:of\s+)?{_YEAR})?\b", re.I),  # July 4, 2027
    re.compile(rf"\b{_DAY}(?:\s+of)?[\s.-]*{_MON}(?:(?:\s*,\s*|\s+){_YEAR})?\b", re.I),     # 4th of July 2027
]
# A date format named in a description: "YYYY-MM-DD", "mm/dd/yyyy", "DD-MM-YYYY", "mm-yyyy".
_FORMAT_RE = re.compile(r"\b((?:y{2,4}|m{2}|d{2})(?:[-/.](?:y{2,4}|m{2}|d{2})){1,2})\b", re.I)
_WORD_FORMAT_RE = re.compile(r"\b(month|day|year)[-/](month|day|year)(?:[-/](month|day|year))?\b", re.I)


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def dates_in(text: str) -> list[dt.date]:
    """Calendar dates written in ``text``, in order of appearance. A date written without a year takes
    the year of the other dates in the message ("from July 4th to July 9th, 2027")."""
    found: list[tuple[int, int, int, int | None]] = []  # (position, month, day, year or None)
    taken: list[range] = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() in span or match.end() - 1 in span for span in taken):
                continue
            groups = match.groupdict()
            year = int(groups["year"]) if groups.get("year") else None
            if groups.get("m"):
                month, day = int(groups["m"]), int(groups["d"])
            elif groups.get("a"):
                first, second = int(groups["a"]), int(groups["b"])
                month, day = (second, first) if first > 12 else (first, second)  # US order unless impossible
            else:
                month, day = _MONTHS[groups["mon"].lower()], int(groups["day"])
            if not 1 <= month <= 12 or not 1 <= day <= 31:
                continue
            taken.append(range(match.start(), match.end()))
            found.append((match.start(), month, day, year))
    found.sort()
    years = [year for *_, year in found if year]
    out: list[dt.date] = []
    for _, month, day, year in found:
        year = year or (years[0] if years else None)
        value = _date(year, month, day) if year else None
        if value and value not in out:
            out.append(value)
    return out


def date_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each calendar date written in ``text`` (with a month and a day)."""
    spans: list[tuple[int, int]] = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            groups = match.groupdict()
            if groups.get("mon") or groups.get("m") or groups.get("a"):
                if not any(a <= match.start() < b or a < match.end() <= b for a, b in spans):
                    spans.append((match.start(), match.end()))
    return sorted(spans)


def date_format(description: str) -> str:
    """The strftime format a description asks for ("MM-DD-YYYY" -> "%m-%d-%Y"); ISO 8601 by default."""
    match = _FORMAT_RE.search(description)
    if match:
        out = match.group(1)
        for token, code in (("yyyy", "%Y"), ("yyy", "%Y"), ("yy", "%y"), ("mm", "%m"), ("dd", "%d")):
            out = re.sub(token, code, out, flags=re.I)
        return out
    words = _WORD_FORMAT_RE.search(description)
    if words:
        sep = "/" if "/" in words.group(0) else "-"
        codes = {"month": "%m", "day": "%d", "year": "%Y"}
        return sep.join(codes[w.lower()] for w in words.groups() if w)
    return "%Y-%m-%d"


def is_date_argument(name: str, prop: dict[str, Any]) -> bool:
    """A string argument that holds a calendar date: named so, or described with a date format."""
    if prop.get("type") not in ("string", None) or prop.get("enum"):
        return False
    words = set(re.split(r"[^a-z]+", name.lower()))
    description = str(prop.get("description", ""))
    return bool(words & {"date", "day", "birthday", "dob"}) or (
        "format" not in words and bool(_FORMAT_RE.search(description)))


def date_values(name: str, prop: dict[str, Any], text: str) -> list[str]:
    """The dates of ``text`` rendered as the argument wants them ([] if none, or not a date argument)."""
    if not is_date_argument(name, prop):
        return []
    fmt = date_format(str(prop.get("description", "")))
    return list(dict.fromkeys(day.strftime(fmt) for day in dates_in(text)))


_TIME_RE = re.compile(r"\b(?:([01]?\d|2[0-3]):([0-5]\d)\s?([ap]\.?m\.?)?|(1[0-2]|0?[1-9])\s?([ap]\.?m\.?))(?!\w)", re.I)
_TIME_ARG = re.compile(r"(?:^|_)(?:time|hour|at|when)(?:_|$)|hh:mm", re.I)


def times_in(text: str) -> list[tuple[int, int]]:
    """Times of day written in ``text`` ("7pm", "7:30 am", "19:30") as (hour, minute) on a 24-hour clock."""
    found = []
    for match in _TIME_RE.finditer(text):
        hour, minute, suffix = (int(match.group(1)), int(match.group(2)), match.group(3)) if match.group(1) else (
            int(match.group(4)), 0, match.group(5))
        if suffix:
            hour = hour % 12 + (12 if suffix.lower().startswith("p") else 0)
        found.append((hour, minute))
    return list(dict.fromkeys(found))


def time_values(name: str, prop: dict[str, Any], text: str) -> list[str]:
    """For a time-of-day argument (named ``time``, ``*_time``, ``hour``, or described as HH:MM), the times
    ``text`` writes as HH:MM; [] otherwise."""
    if prop.get("type") not in ("string", None) or prop.get("enum"):
        return []
    if not (_TIME_ARG.search(name) or "hh:mm" in str(prop.get("description", "")).lower()):
        return []
    return [f"{hour:02d}:{minute:02d}" for hour, minute in times_in(text)]


# --- currencies -----------------------------------------------------------------------------------

# Names people use for the most traded currencies (ISO 4217); the longest name that matches wins.
CURRENCY_NAMES = {
    "us dollar": "USD", "u.s. dollar": "USD", "united states dollar": "USD", "american dollar": "USD",
    "dollar": "USD", "buck": "USD", "canadian dollar": "CAD", "australian dollar": "AUD",
    "new zealand dollar": "NZD", "hong kong dollar": "HKD", "singapore dollar": "SGD",
    "euro": "EUR", "british pound": "GBP", "pound sterling": "GBP", "sterling": "GBP", "pound": "GBP",
    "japanese yen": "JPY", "yen": "JPY", "chinese yuan": "CNY", "yuan": "CNY", "renminbi": "CNY",
    "indian rupee": "INR", "rupee": "INR", "swiss franc": "CHF", "franc": "CHF", "mexican peso": "MXN",
    "peso": "MXN", "brazilian real": "BRL", "russian ruble": "RUB", "ruble": "RUB", "rouble": "RUB",
    "south korean won": "KRW", "korean won": "KRW", "swedish krona": "SEK", "norwegian krone": "NOK",
    "danish krone": "DKK", "south african rand": "ZAR", "turkish lira": "TRY", "lira": "TRY",
    "bitcoin": "BTC",
}
_CODES = set(CURRENCY_NAMES.values())
_CURRENCY_RE = re.compile(
    r"\b(" + "|".join(re.escape(name) for name in sorted(CURRENCY_NAMES, key=len, reverse=True)) + r")s?\b", re.I)
_CODE_RE = re.compile(r"\b([A-Z]{3})\b")


def currencies_in(text: str) -> list[str]:
    """ISO codes of the currencies ``text`` names ("Swiss francs" -> CHF, "USD" -> USD), in order."""
    found: list[tuple[int, str]] = [(m.start(), CURRENCY_NAMES[m.group(1).lower()]) for m in _CURRENCY_RE.finditer(text)]
    found += [(m.start(), m.group(1)) for m in _CODE_RE.finditer(text) if m.group(1) in _CODES]
    found += [(m.start(), _SYMBOLS[m.group(0)]) for m in re.finditer(r"[€£¥]", text)]
    return list(dict.fromkeys(code for _, code in sorted(found)))


_SYMBOLS = {"€": "EUR", "£": "GBP", "¥": "JPY", "$": "USD"}


def _currency_mentions(text: str) -> list[tuple[int, int, str]]:
    found = [(m.start(), m.end(), CURRENCY_NAMES[m.group(1).lower()]) for m in _CURRENCY_RE.finditer(text)]
    found += [(m.start(), m.end(), m.group(1)) for m in _CODE_RE.finditer(text) if m.group(1) in _CODES]
    found += [(m.start(), m.start() + 1, _SYMBOLS[m.group(0)[0]]) for m in re.finditer(r"[$€£¥]\s?\d", text)]
    return sorted(found)


_AMOUNT_BEFORE = re.compile(r"\d[\d,.]*\s*(?:[kKmM]|thousand|million|billion)?\s*$")
_AMOUNT_AFTER = re.compile(r"^\s*\d")
_SOURCE_ARG = re.compile(r"base|from|source|origin|have|sell", re.I)
_TARGET_ARG = re.compile(r"target|(?:^|_)to(?:_|$)|into|dest|quote|want|buy", re.I)


def currency_roles(text: str) -> tuple[str, str] | None:
    """(from, to) for a message that names two currencies and an amount in one of them ("how much are
    40 Swiss francs in euros" -> ("CHF", "EUR")), or one after "from" and one after "to"/"into";
    None when the message does not say which is which."""
    mentions = _currency_mentions(text)
    codes = list(dict.fromkeys(code for *_, code in mentions))
    if len(codes) != 2:
        return None
    with_amount = {code for start, end, code in mentions
                   if _AMOUNT_BEFORE.search(text[max(0, start - 20):start]) or _AMOUNT_AFTER.match(text[end:end + 3])}
    if len(with_amount) == 1:
        source = next(iter(with_amount))
        return source, next(code for code in codes if code != source)
    after_from = {code for start, _, code in mentions if re.search(r"\bfrom\s+(?:the\s+)?$", text[max(0, start - 10):start], re.I)}
    after_to = {code for start, _, code in mentions
                if re.search(r"\b(?:to|into|in)\s+(?:the\s+)?$", text[max(0, start - 10):start], re.I)}
    if len(after_from) == 1 and len(after_to - after_from) == 1:
        return next(iter(after_from)), next(iter(after_to - after_from))
    return None


def is_currency_argument(name: str, prop: dict[str, Any]) -> bool:
    return prop.get("type") in ("string", None) and not prop.get("enum") and "currenc" in name.lower()


def currency_values(name: str, prop: dict[str, Any], text: str) -> list[str]:
    """The currencies of ``text`` as ISO codes, for a currency argument ([] otherwise); for a "from" or
    "to" currency, only the one the message gives that role (``currency_roles``)."""
    if not is_currency_argument(name, prop):
        return []
    roles = currency_roles(text)
    if roles:
        if _SOURCE_ARG.search(name) and not _TARGET_ARG.search(name):
            return [roles[0]]
        if _TARGET_ARG.search(name) and not _SOURCE_ARG.search(name):
            return [roles[1]]
    return currencies_in(text)


def month_values(name: str, prop: dict[str, Any], text: str) -> list[str]:
    """For a string argument named for a month (``month``, ``*_month``), the month names ``text`` writes
    (not as part of a full date), capitalised; [] otherwise."""
    if prop.get("type") not in ("string", None) or prop.get("enum") or not re.search(r"(?:^|_)month$", name, re.I):
        return []
    dates = date_spans(text)
    found = [m for m in re.finditer(r"\b(" + "|".join(k for k in _MONTHS if len(k) > 3 or k == "may") + r")\b", text, re.I)
             if not any(a <= m.start() < b for a, b in dates)]
    return list(dict.fromkeys(m.group(1).capitalize() for m in found if m.group(1).lower() != "may" or m.group(1)[0] == "M"))


# --- addresses: e-mail addresses, file paths, web addresses ------------------------------------------

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PATH_RE = re.compile(r"(?<![\w@])(?:~|\.{1,2})?(?:[/\\][\w.\-]+)+[/\\]?|(?<![\w@/])[\w\-]+\.(?:csv|json|txt|png|"
                      r"jpg|jpeg|wav|mp3|mp4|pdf|xlsx?|parquet|h5|pkl|py|log|xml|yaml|yml|zip|tar|gz)\b")
_URL_RE = re.compile(r"\b(?:https?://\S+[\w/]|www\.[\w-]+(?:\.[\w-]+)+|[\w-]+\.(?:com|org|net|io|edu|gov|co\.uk)\b)",
                     re.I)
# (what the argument's name says, what its description says, what such a value looks like)
_KINDS_OF_ADDRESS = [
    (re.compile(r"(?:^|_)e?mail(?:_address)?$|^(?:to|from|cc|bcc|recipient)_?e?mail", re.I),
     re.compile(r"e-?mail address", re.I), _EMAIL_RE),
    (re.compile(r"(?:^|_)(?:file_?)?path$|^file(?:_?name)?$", re.I), re.compile(r"\b(?:file )?path\b", re.I), _PATH_RE),
    (re.compile(r"(?:^|_)(?:url|link|website)$", re.I), re.compile(r"\burl\b|\bwebsite\b|web address", re.I), _URL_RE),
]


def address_values(name: str, prop: dict[str, Any], text: str) -> list[str]:
    """For a string argument that holds an e-mail address, a file path or a web address (by its name or
    description), the ones ``text`` writes; [] otherwise. The argument then takes one of these and never
    the words around it ("Mira at mira.k@example.org")."""
    if prop.get("type") not in ("string", None) or prop.get("enum"):
        return []
    description = str(prop.get("description", ""))
    for by_name, by_description, pattern in _KINDS_OF_ADDRESS:
        if by_name.search(name) or by_description.search(description):
            found = [m.group(0).rstrip(".,") for m in pattern.finditer(text)]
            if pattern is _PATH_RE:  # a web or e-mail address is no file path
                found = [f for f in found if not _EMAIL_RE.search(f) and "://" not in f]
            return list(dict.fromkeys(f for f in found if f))
    return []
