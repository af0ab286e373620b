"""Grounders: small named rules that say which values a request offers for one tool argument.

The tool layer decodes arguments under a grammar (``grammar.ArgumentsGrammar``); for each argument it
asks the grounders, in the order of ``GROUNDERS``, for an ``Offer``: the values the request gives for
it. The first grounder that applies to the argument and finds values wins; when none does, the argument
keeps its plain type grammar (any string, any number, ...). A grounder also says whether the request
*states* the value (``must``: an optional argument is then filled), merely *allows* it (``may``), or only
constrains a value that is needed anyway (``no``: an optional argument stays out, the tool's default
applies).

Each grounder's docstring names the class of requests it serves. They can be listed
(``townsquare bench tools --help``, ``GROUNDERS``), tested one by one (tests/llm/test_grounders.py) and
switched off one by one (``llm_tool_grounders``, ``bench tools --grounders`` / ``--ablate``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from townsquare.errors import InvalidInput
from townsquare.llm.request import Request, format_number, formulas_in, plain, same_word, words_of
from townsquare.llm.values import address_values, currency_values, date_values, month_values, time_values


@dataclass
class Argument:
    """One argument of a tool, as the grounders see it."""

    name: str
    schema: dict[str, Any]
    required: bool
    tool_required: list[str] = field(default_factory=list)  # the tool's required arguments
    tool_properties: dict[str, Any] = field(default_factory=dict)
    tool_name: str = ""

    @property
    def type(self) -> str | None:
        kind = self.schema.get("type")
        return kind if isinstance(kind, str) else None

    @property
    def description(self) -> str:
        return str(self.schema.get("description", ""))

    @property
    def items(self) -> dict[str, Any]:
        items = self.schema.get("items")
        return items if isinstance(items, dict) else {}

    @property
    def name_words(self) -> list[str]:
        """The words of the argument's name that say what it is ("include_", "is_" say nothing)."""
        return [w for w in words_of(self.name) if w not in FILLER and len(w) > 1]


@dataclass
class Offer:
    """The values a request gives for an argument.

    ``values``: the allowed values (with ``items``: the allowed items of an array, in any number).
    ``fill``: ``must`` (the request states it: fill even an optional argument), ``may`` (an optional
    argument may be filled with one of these), ``no`` (only a needed argument takes one of these)."""

    values: list[Any]
    grounder: str = ""
    items: bool = False
    fill: str = "no"


GrounderFn = Callable[[Argument, Request], Offer | None]
GROUNDERS: dict[str, GrounderFn] = {}


def grounder(name: str) -> Callable[[GrounderFn], GrounderFn]:
    def register(fn: GrounderFn) -> GrounderFn:
        GROUNDERS[name] = fn
        return fn
    return register


def describe_grounders() -> list[tuple[str, str]]:
    """(name, first line of its docstring) for each grounder, in the order they are asked."""
    return [(name, (fn.__doc__ or "").strip().splitlines()[0]) for name, fn in GROUNDERS.items()]


def parse_grounders(text: str | list[str] | None) -> list[str]:
    """None, ``all`` or "" -> every grounder; ``none`` or [] -> none; else the names given (a comma-separated
    string or a list), each a known grounder, in registry order."""
    if text is None:
        return list(GROUNDERS)
    if isinstance(text, str):
        names = [part.strip() for part in text.split(",") if part.strip()]
        if not names or names == ["all"]:
            return list(GROUNDERS)
    else:
        names = list(text)
    if names == ["none"]:
        return []
    unknown = [name for name in names if name not in GROUNDERS]
    if unknown:
        raise InvalidInput(f"unknown grounder(s): {', '.join(unknown)} (known: {', '.join(GROUNDERS)})")
    return [name for name in GROUNDERS if name in names]


def ground(argument: Argument, request: Request, active: list[str]) -> Offer | None:
    """The first offer of the active grounders (in registry order) that has values, or None."""
    for name in active:
        offer = GROUNDERS[name](argument, request)
        if offer is not None and offer.values:
            offer.grounder = name
            return offer
    return None


# Words of an argument's name that say nothing about its value.
FILLER = {
    "include", "including", "is", "use", "with", "get", "show", "return", "flag", "enable", "allow", "consider",
    "as", "to", "the", "of", "by", "in", "only", "for", "and", "or", "a", "an", "if", "should", "do", "does",
    "has", "have", "want", "need", "add", "apply", "set", "be", "on", "all", "whether", "option", "status",
    "value", "number", "num", "count", "name", "id", "type", "amount",
}
_NEGATIONS = {"no", "not", "without", "don't", "dont", "never", "exclude", "excluding", "except", "skip", "disable"}
_DEFAULT_RE = re.compile(r"default(?:s)?(?: value)?(?: is| to| of)?:?\s*['\"]?([\w .\-/]+?)['\"]?\s*(?:[.,;)]|$)",
                         re.I)


def described_default(schema: dict[str, Any]) -> str | None:
    """The default a schema gives (``default``) or its description names ("Default is 'all'")."""
    if "default" in schema and not isinstance(schema["default"], dict | list):
        return str(schema["default"])
    match = _DEFAULT_RE.search(str(schema.get("description", "")))
    return match.group(1).strip() if match else None


# --- booleans ---------------------------------------------------------------------------------------------

@grounder("booleans")
def booleans(arg: Argument, request: Request) -> Offer | None:
    """Flags the request asks for by name: "with subtitles" -> include_subtitles=true, "without ads" ->
    show_ads=false. Serves yes/no options named in a request; an unmentioned optional flag keeps the
    tool's default, and one whose default the mention would not change is left out."""
    if arg.type != "boolean":
        return None
    needed = arg.name_words
    message = request.lower_words
    positions = [next((i for i, word in enumerate(message) if same_word(w, word)), None) for w in needed]
    if not needed or None in positions:
        default = described_default(arg.schema)
        if arg.required and default and default.lower() in ("true", "false"):
            return Offer([default.lower() == "true"])  # a required flag not mentioned: its stated default
        return None
    first = min(p for p in positions if p is not None)
    value = not any(word in _NEGATIONS for word in message[max(0, first - 3):first])
    default = described_default(arg.schema)
    if not arg.required and default and default.lower() == str(value).lower():
        return None  # the mention asks for what the tool does anyway
    return Offer([value], fill="must")


# --- enums and values the schema names ------------------------------------------------------------------

_QUOTED_IN_DESCRIPTION = re.compile(r"""['"‘“]([^'"’”]{1,40})['"’”]""")
_EXAMPLES = re.compile(r"\b(?:e\.g\.|eg\.|such as|for example|like|options(?: are)?|one of)[,:]?\s+([^.;()]{1,80})", re.I)


def named_values(schema: dict[str, Any]) -> list[str]:
    """Values a schema names: its enum (or its items' enum), values quoted in its description, and the
    examples it lists ("e.g. vegan, gluten-free")."""
    items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
    values = [str(v) for v in schema.get("enum") or items.get("enum") or []]
    description = str(schema.get("description", ""))
    values += _QUOTED_IN_DESCRIPTION.findall(description)
    for examples in _EXAMPLES.findall(description):
        values += [v.strip(" '\"") for v in re.split(r",|\bor\b|\band\b|\betc\b", examples) if v.strip(" '\"")]
    return [v for v in dict.fromkeys(values) if plain(v)]


def _value_at(value: str, words: list[str]) -> list[set[int]]:
    """Where the words of ``value`` stand in ``words`` (each up to its ending, "and"/"or" allowed between)."""
    part = words_of(value)
    found = []
    for i in range(len(words)):
        cover, k, j = set(), 0, i
        while k < len(part) and j < len(words):
            if same_word(part[k], words[j]):
                cover.add(j)
                k, j = k + 1, j + 1
            elif k > 0 and words[j] in ("and", "or"):
                j += 1
            else:
                break
        if part and k == len(part):
            found.append(cover)
    return found


def mentioned_values(values: list[Any], text: str) -> list[Any]:
    """The ``values`` that ``text`` mentions, word for word up to word endings, in the order it says them.
    A value of one or two letters counts only as written ("A" is not the article "a"); a value mentioned
    only inside a longer mentioned value ("Good" in "Very Good") does not count."""
    words = words_of(text)
    found: list[tuple[Any, set[int]]] = []
    for value in values:
        covers = _value_at(str(value), words)
        short = len(str(value)) <= 2
        if covers and (not short or re.search(rf"(?<!\w){re.escape(str(value))}(?!\w)", text)):
            found.append((value, set().union(*covers)))
    found.sort(key=lambda item: min(item[1]))
    return [v for v, cover in found if not any(cover < other for w, other in found if w is not v)]


@grounder("enums")
def enums(arg: Argument, request: Request) -> Offer | None:
    """Choices the request names: an enum value ("in fahrenheit" -> unit=fahrenheit, "sorted newest first"
    -> order=newest), or a value the description quotes or lists as an example. Serves requests that pick
    an option of a closed set; the schema's default is not filled unless asked for by its name."""
    if arg.type not in ("string", "array", "integer", "number", None) or (arg.type == "array" and not (
            arg.items.get("enum") or arg.items.get("type", "string") == "string")):
        return None
    closed = bool(arg.schema.get("enum") or arg.items.get("enum"))
    values = named_values(arg.schema)
    if not values:
        return None
    mentioned = mentioned_values(values, request.text)
    default = described_default(arg.schema)
    if default and not arg.required:
        mentioned = [v for v in mentioned if plain(v) != plain(default)]
    if not mentioned:
        return None
    if closed:  # keep the enum's own values (and types)
        listed = arg.schema.get("enum") or arg.items.get("enum") or []
        mentioned = [v for v in listed if str(v) in {str(m) for m in mentioned}]
    return Offer(mentioned, items=arg.type == "array", fill="must")


# --- dates, times, money, addresses, units ----------------------------------------------------------------

@grounder("dates")
def dates(arg: Argument, request: Request) -> Offer | None:
    """Dates and times written loosely ("March 3, 2021", "3rd of March 2021", "2021/03/03", "7pm"),
    rendered as the argument wants them (the format its description names, ISO 8601 otherwise), and
    month names for a month argument. Serves scheduling, history and booking requests."""
    if arg.type not in ("string", None) or arg.schema.get("enum"):
        return None
    values = (date_values(arg.name, arg.schema, request.text) or time_values(arg.name, arg.schema, request.text)
              or month_values(arg.name, arg.schema, request.text))
    return Offer(values, fill="must") if values else None


@grounder("money")
def money(arg: Argument, request: Request) -> Offer | None:
    """Currencies named in words or symbols ("Swiss francs" -> CHF, "€" -> EUR), with the from/to roles
    of a conversion ("200 US dollars in euros": from USD to EUR). Serves prices, payments and exchange."""
    if arg.type not in ("string", None):
        return None
    values = currency_values(arg.name, arg.schema, request.text)
    return Offer(values, fill="must") if values else None


@grounder("addresses")
def addresses(arg: Argument, request: Request) -> Offer | None:
    """E-mail addresses, file paths and web addresses, whole ("write to ana@example.org" -> the address,
    not the words around it). Serves messaging, file and web requests."""
    values = address_values(arg.name, arg.schema, request.text)
    return Offer(values, fill="must") if values else None


_HANDLE_ARG = re.compile(r"handle|user|username|account|mention|person|people|member|author|recipient|who", re.I)


@grounder("handles")
def handles(arg: Argument, request: Request) -> Offer | None:
    """@handles and #tags written in the request, for an argument about people or accounts (``handle``,
    ``username``, ``user``...) or tags (``tag``, ``hashtag``). Serves social requests: "follow @ana",
    "mute #spoilers"."""
    if arg.type not in ("string", "array", None) or arg.schema.get("enum"):
        return None
    if arg.type == "array" and arg.items.get("type", "string") != "string":
        return None
    if _HANDLE_ARG.search(arg.name):
        values = re.findall(r"(?<![\w@])@[A-Za-z0-9_.]*[A-Za-z0-9_]", request.text)
    elif re.search(r"tag", arg.name, re.I):
        values = re.findall(r"(?<![\w#])#\w+", request.text)
    else:
        return None
    values = list(dict.fromkeys(values))
    return Offer(values, items=arg.type == "array", fill="must") if values else None


UNIT_WORDS = {
    "mm", "cm", "m", "km", "meter", "meters", "metre", "metres", "kilometers", "kilometres", "inch", "inches",
    "foot", "feet", "yard", "yards", "mile", "miles", "kg", "g", "gram", "grams", "kilograms", "pound", "pounds",
    "lb", "lbs", "ounce", "ounces", "oz", "liter", "liters", "litre", "litres", "ml", "gallon", "gallons",
    "celsius", "fahrenheit", "kelvin", "second", "seconds", "minute", "minutes", "hour", "hours", "day", "days",
    "week", "weeks", "month", "months", "year", "years", "degrees", "radians", "mph", "kph", "kmh", "units",
    "percent", "joules", "watts", "newtons", "hz", "bytes", "kb", "mb", "gb",
}


@grounder("units")
def units(arg: Argument, request: Request) -> Offer | None:
    """Units of measure the request asks for, for a unit-like argument ("in miles" -> unit=miles). A unit
    written right after a number measures that number and picks no unit option, unless the argument is
    required. Serves measuring and converting requests."""
    if arg.type not in ("string", None) or arg.schema.get("enum") or "unit" not in arg.name.lower():
        return None
    words = request.words
    asked = [w for k, w in enumerate(words) if w.lower() in UNIT_WORDS and k and words[k - 1].lower() in
             ("in", "into", "to", "as")]
    written = [w for w in words if w.lower() in UNIT_WORDS]
    values = list(dict.fromkeys(asked or (written if arg.required else [])))
    return Offer(values, fill="must") if values else None


# --- numbers ----------------------------------------------------------------------------------------------

_PERCENT_ARG = re.compile(r"percent|pct", re.I)
_DATE_ARG = re.compile(r"year|month|day|date|dob|birth|time|hour", re.I)
# Words that may stand between an argument's name and its number: "rate of 5", "mass is 3", "n = 4".
_LINKING = {"of", "is", "was", "are", "at", "to", "be", "equals", "equal", "as", "about", "around", "approximately",
            "the", "a", "an", "its", "their", "my", "by", "for"}


def number_readings(arg: Argument, request: Request) -> list[list[float]]:
    """For each number of the request, the readings that can fill this numeric argument: a percentage as
    a fraction for a number argument ("5%" -> 0.05, rates are decimals by convention) unless its name or
    description says percent; the digits of a written date only for arguments about dates; whole numbers
    only for an integer."""
    text = f"{arg.name} {arg.description}"
    out = []
    for number in request.numbers:
        if (number.in_date and not _DATE_ARG.search(text)) or number.in_formula:
            out.append([])
            continue
        readings = list(number.readings)
        if number.percent:
            as_fraction = arg.type == "number" and not _PERCENT_ARG.search(text)
            readings = [readings[-1]] if as_fraction else readings[:-1]
        if arg.type == "integer" or arg.items.get("type") == "integer":
            readings = [r for r in readings if float(r).is_integer()]
        out.append(readings)
    return out


# What a unit written right after a number measures: the words an argument for it is named with.
_KINDS = {
    "time duration period length": ("s sec secs second seconds min mins minute minutes h hr hrs hour hours day days "
                                    "week weeks month months year years yr yrs night nights"),
    "frequency freq pitch": "hz khz mhz ghz",
    "distance length height width radius depth diameter altitude size": (
        "m meter meters metre metres km kilometer kilometers kilometres cm mm mile miles ft feet foot inch inches "
        "yard yards"),
    "mass weight": "kg g gram grams kilogram kilograms lb lbs pound pounds ounce ounces oz ton tons",
    "speed velocity": "mph kph kmh",
    "temperature temp": "celsius fahrenheit kelvin degrees",
    "energy heat": "j joule joules kj calories kcal",
    "power": "w watt watts kw kilowatts",
    "volume capacity": "l liter liters litre litres ml gallon gallons",
    "people guests persons travelers travellers adults": "people persons guests adults travelers travellers",
}
UNIT_KINDS: dict[str, set[str]] = {}
for _kind, _units in _KINDS.items():
    for _unit in _units.split():
        UNIT_KINDS.setdefault(_unit, set()).update(_kind.split())


def _unit_fits(unit: str, arg: Argument) -> bool:
    """Whether a unit written after a number says the number is this argument's: the unit's kind is in
    the argument's name ("5 seconds" for ``duration``), or the unit itself is ("3 nights" for ``nights``)."""
    kinds = UNIT_KINDS.get(unit, set())
    names = set(arg.name_words)
    return bool(names & kinds) or any(same_word(unit, n) for n in names) and unit in UNIT_KINDS


def named_number(arg: Argument, request: Request) -> int | None:
    """The index of the number the request writes right after the argument's name, with only linking
    words between ("a height of 5", "limit 10", "n = 4"), or with a unit that measures what the
    argument names ("440 Hz" for ``frequency``, "5 seconds" for ``duration``); None when there is none
    or more than one."""
    # only the words that tell this argument from the tool's other arguments ("revenue" in both
    # year1_revenue and year2_revenue identifies neither)
    shared = {w for name in arg.tool_properties if name != arg.name for w in words_of(name)}
    words = [w for w in arg.name_words if w not in shared]
    if not words:
        return None
    hits = []
    for k, number in enumerate(request.numbers):
        stop = request.numbers[k - 1].end if k and request.numbers[k - 1].end <= number.start else 0
        before = request.words_before(number.start, 4, stop)
        after = request.words_after(number.end, 1)
        said_before = False
        for i in range(len(before) - 1, -1, -1):
            if any(same_word(w, before[i]) for w in words):
                said_before = all(b in _LINKING for b in before[i + 1:])
                break
        if said_before or (after and (_unit_fits(after[0], arg) or any(same_word(w, after[0]) for w in words))):
            hits.append(k)
    return hits[0] if len(hits) == 1 else None


def _numeric(arg: Argument) -> bool:
    return arg.type in ("integer", "number") and not arg.schema.get("enum")


@grounder("numbers")
def numbers(arg: Argument, request: Request) -> Offer | None:
    """Numbers written in the request (digits, "1,200", "5%", "1.2M", "3 million", "five"), read as the
    argument's type wants. A number written right after the argument's name is that argument's
    ("a radius of 4"); numbers named for other arguments are not offered to this one. An optional
    argument is offered when its name is said with a number, or when the request writes more numbers
    than the required numeric arguments take. Serves every request with quantities, counts and ids."""
    if not _numeric(arg):
        return None
    readings = number_readings(arg, request)
    own = named_number(arg, request)
    if own is not None and readings[own]:
        return Offer([format_number(v) for v in readings[own]], fill="must")
    others = {named_number(Argument(name, prop if isinstance(prop, dict) else {}, False, arg.tool_required,
                                    arg.tool_properties), request)
              for name, prop in arg.tool_properties.items() if name != arg.name}
    free = [k for k in range(len(readings)) if k not in others and readings[k]]
    values = [format_number(v) for k in (free or range(len(readings))) for v in readings[k]]
    values = list(dict.fromkeys(values))
    if not values:
        return None
    needed = sum(1 for name in arg.tool_required
                 if (arg.tool_properties.get(name) or {}).get("type") in ("integer", "number"))
    spare = len([r for r in readings if r]) > needed
    return Offer(values, fill="may" if spare else "no")


@grounder("number_lists")
def number_lists(arg: Argument, request: Request) -> Offer | None:
    """A list of numbers as the request writes it, in order ("scores 12, 15 and 9" -> [12, 15, 9]): runs
    of numbers written together, or two neighbours ("between 3 and 8"). Serves statistics, sorting and
    any request that passes a list of quantities."""
    if arg.type != "array" or arg.items.get("type") not in ("integer", "number"):
        return None
    item = Argument(arg.name, arg.items, arg.required)
    readings = [r[0] if r else None for r in number_readings(item, request)]
    written = [(v, n.group) for v, n in zip(readings, request.numbers, strict=True) if v is not None]
    runs: list[list[Any]] = []
    for start in range(len(written)):
        for end in range(start + 1, min(len(written), start + 20) + 1):
            if written[start][1] == written[end - 1][1] or end - start <= 2:
                run = [format_number(v) for v, _ in written[start:end]]
                if run not in runs:
                    runs.append(run)
    return Offer(runs, fill="must" if any(len(r) > 1 for r in runs) else "no") if runs else None


_FORMULA_ARG = re.compile(r"(?:^|_)(?:function|func|equation|expression|expr|formula|polynomial|fx)\d*$", re.I)


@grounder("formulas")
def formulas(arg: Argument, request: Request) -> Offer | None:
    """A formula argument (named ``function``, ``equation``, ``expression``, ``formula``...) takes the
    formulas the request writes, without their left-hand side ("f(x) = 3x^2" -> "3x^2"), also in Python
    syntax when the description asks for it ("3x**2"). Serves maths requests: derivatives, integrals,
    plots, roots."""
    if arg.type not in ("string", None) or arg.schema.get("enum") or not _FORMULA_ARG.search(arg.name):
        return None
    values = formulas_in(request.text)
    if re.search(r"python|\*\*", arg.description, re.I):
        values = [v.replace("^", "**") for v in values] + values
    return Offer(list(dict.fromkeys(values)), fill="must") if values else None


# --- free text ---------------------------------------------------------------------------------------------

_FROM_ARG = re.compile(r"(?:^|_)(?:from|source|origin|start|departure)(?:_|$)", re.I)
_TO_ARG = re.compile(r"(?:^|_)(?:to|target|destination|end|arrival)(?:_|$)", re.I)


def _role_words(name: str) -> set[str]:
    if _FROM_ARG.search(name) and not _TO_ARG.search(name):
        return {"from"}
    if _TO_ARG.search(name) and not _FROM_ARG.search(name):
        return {"to", "into"}
    return set()


@grounder("roles")
def roles(arg: Argument, request: Request) -> Offer | None:
    """For a from-like or to-like text argument (``origin``, ``destination``, ``from_city``), the phrase
    after "from" or after "to"/"into" ("from Lyon to Nice"). Serves routes, transfers and conversions."""
    if arg.type not in ("string", None) or arg.schema.get("enum"):
        return None
    cue = _role_words(arg.name)
    if not cue:
        return None
    values = [span for span in request.spans_after(cue) if not {"from", "to", "into"} & set(words_of(span))]
    return Offer(values) if values else None


@grounder("lists")
def lists(arg: Argument, request: Request) -> Offer | None:
    """Items of a list of text, each a phrase of the request ("tags: jazz, live music and vinyl" -> three
    items). Serves requests that pass several names, tags or topics at once."""
    if arg.type != "array" or arg.items.get("type", "string") != "string" or arg.items.get("enum"):
        return None
    values = request.spans(4)
    return Offer(values, items=True) if values else None


@grounder("spans")
def spans(arg: Argument, request: Request) -> Offer | None:
    """Free text copied from the request: a phrase of up to eight words as written ("posts about home
    brewing" -> "home brewing"), or quoted text of any length. Serves every request that names a thing,
    a person, a place or a topic: the model copies, it does not invent."""
    if arg.type not in ("string", None) or arg.schema.get("enum"):
        return None
    # a phrase made only of the words of the tool's own name is the request's verb, not a value ("follow")
    tool_words = set(words_of(arg.tool_name))
    values: list[Any] = [span for span in request.spans() if not set(words_of(span)) <= tool_words]
    if arg.type is None:  # a value of any type: a phrase or a number the request writes
        values += [format_number(n.value) for n in request.numbers]
    return Offer(values) if values else None
