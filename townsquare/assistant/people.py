"""People a request names: by @handle, by bare handle, or by display name (with small typos).

Serves requests that name a person the way people do: "follow @mia_k", "unfollow mia_k",
"stop following Mia Kovac", "folow Mia Kovak", "what's new with Mia?", and names as speech
recognition writes them ("find David Becker" for David Bakker, "Nor Castro" for Nora Castro,
"follow Nora Castro 81" for @noracastro81). Only accounts the person may see are resolved (active,
no block either way), and a name that fits several accounts is not guessed (a first name alone must
be unique among the accounts the request's words match).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, not_, or_, select

from townsquare.assistant.phrasing import edit_distance
from townsquare.social.blocks import either_way_clause
from townsquare.social.models import Account

_MENTION = re.compile(r"(?<![\w.])@(\w{1,30})")
_WORD = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)
MAX_CANDIDATE_WORDS = 16

# Words that start a sentence or a request and are never looked up as names.
NOT_NAMES = frozenset("""
a an the i me my mine you your we our they them their he him his she her it its this that these those
and or but so then also too please pls thanks thank hi hey yo ok okay yes no not can could would will
should do does did is are was were be been have has had what who whom whose why how when where which
find search look show tell give get let make post posts comment reply like love follow unfollow
people person someone account accounts for to of in on at by with from about into up down out over
just only some any all every new old good great best top latest recent feed timeline app
""".split())


@dataclass
class Named:
    handle: str
    name: str
    start: int  # where the request names them
    end: int
    how: str  # "mention", "handle", "name", "fuzzy name", "sounds like", "spoken handle", "near spoken handle",
    # "first name"


def _words(text: str) -> list[tuple[str, int, int]]:
    out = []
    for m in _WORD.finditer(text):
        word = re.sub(r"['’]s$", "", m.group(0)).rstrip("'’.-")  # "Theo's" names Theo
        out.append((word, m.start(), m.start() + len(word)))
    return out


def _close(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    if a == b:
        return True
    return len(b) >= 4 and len(a) >= 4 and edit_distance(a, b, cap=1) <= 1


# Consonants that sound alike share a digit (Soundex's groups); vowels, h, w and y are dropped.
_SOUND_GROUPS = {c: str(i) for i, group in enumerate(("bfpv", "cgjkqsxz", "dt", "l", "mn", "r"), 1) for c in group}


def sound_key(word: str) -> str:
    """"Bakker" and "Becker" -> "126"; "Okafor" and "aquifer" -> "216": how a name sounds, roughly."""
    digits = [_SOUND_GROUPS.get(c, "") for c in word.lower()]
    return "".join(d for i, d in enumerate(digits) if d and (i == 0 or d != digits[i - 1]))


def _sounds_like(a: str, b: str) -> bool:
    """The same sound key, for words long enough that the key says something (3 consonant sounds)."""
    key = sound_key(a)
    return len(key) >= 3 and min(len(a), len(b)) >= 4 and key == sound_key(b)


def _clipped(a: str, b: str) -> bool:
    """"Nor" for "Nora": speech recognition drops a name's last sound."""
    return len(a) >= 3 and len(b) == len(a) + 1 and b.lower().startswith(a.lower())


def _squashed(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def name_runs(tokens: list[tuple[str, int, int]], longest: int = 3):
    """Every run of one to ``longest`` consecutive words that could say a name (not only common words)."""
    for i in range(len(tokens)):
        for j in range(i + 1, min(i + longest + 1, len(tokens) + 1)):
            run = tokens[i:j]
            if not all(w.lower() in NOT_NAMES for w, _, _ in run):
                yield run


def _spoken_handles(accounts: list[Account], tokens: list[tuple[str, int, int]]) -> list[tuple[int, Named]]:
    """A handle said aloud comes back as words: "noracastro81" as "Nora Castro 81" or "Norcastro 81";
    and a name may come back run together ("Norcastro" for Nora Castro). Runs of up to three words,
    squashed together, that spell a handle or a whole name (at most one letter off, two for a long
    one)."""
    out = []
    spellings = [(a, _squashed(a.handle)) for a in accounts]
    spellings += [(a, _squashed(a.display_name)) for a in accounts if len((a.display_name or "").split()) >= 2]
    by_length: dict[int, list[tuple[Account, str]]] = {}
    for account, spelled in spellings:
        if len(spelled) >= 6:
            by_length.setdefault(len(spelled), []).append((account, spelled))
    for run in name_runs(tokens):
        said = _squashed("".join(w for w, _, _ in run))
        # Two letters off at most: only spellings of about this length, that begin or end alike.
        near = [(account, spelled) for n in range(len(said) - 2, len(said) + 3)
                for account, spelled in by_length.get(n, ()) if spelled[:2] == said[:2] or spelled[-2:] == said[-2:]]
        for account, spelled in near:
            distance = edit_distance(said, spelled, cap=2)
            if distance <= (1 if len(spelled) < 10 else 2):
                out.append((0 if distance == 0 else 1,
                            Named(account.handle, account.display_name, run[0][1], run[-1][2],
                                  "spoken handle" if distance == 0 else "near spoken handle")))
    return out


def candidate_accounts(ctx, words: list[str]) -> list[Account]:
    wanted = [w.lower() for w in dict.fromkeys(words) if w.lower() not in NOT_NAMES and len(w) >= 2]
    wanted = wanted[:MAX_CANDIDATE_WORDS]
    if not wanted:
        return []
    # Prefix of each word, so that a typo at its end still finds the account ("Kovak" -> "Kovac"),
    # and handles that begin like a word ("Norcastro" -> noracastro81).
    clauses = [Account.handle.in_([w.replace(" ", "_") for w in wanted])]
    clauses += [func.lower(Account.display_name).like(f"%{w[:4]}%") for w in wanted if len(w) >= 4]
    clauses += [func.lower(Account.handle).like(f"{w[:3]}%") for w in wanted if len(w) >= 4]
    clauses += [func.lower(Account.display_name).like(f"{w}%") for w in wanted if len(w) < 4]
    return list(ctx.session.scalars(select(Account).where(
        Account.status == "active", Account.id != ctx.account.id,
        not_(either_way_clause(ctx.account.id, Account.id)), or_(*clauses)).limit(200)))


def people_named(ctx, text: str) -> list[Named]:
    """Everyone the request names, in the order it names them (overlapping matches: the best)."""
    found: list[Named] = []
    for m in _MENTION.finditer(text):
        found.append(Named(m.group(1).lower(), "", m.start(), m.end(), "mention"))
    words = _words(text)
    covered = [(n.start, n.end) for n in found]
    free = [(w, s, e) for w, s, e in words if not any(a <= s < b for a, b in covered)]
    accounts = candidate_accounts(ctx, [w for w, _, _ in free])
    matches: list[tuple[int, Named]] = []  # (rank: lower is better, named)
    for account in accounts:
        parts = (account.display_name or "").split()
        for i in range(len(free)):
            word, start, _ = free[i]
            if word.lower() == account.handle.lower():
                matches.append((0, Named(account.handle, account.display_name, start, free[i][2], "handle")))
            if len(parts) >= 2 and i + len(parts) <= len(free):
                window = free[i:i + len(parts)]
                if all(w.lower() == p.lower() for (w, _, _), p in zip(window, parts, strict=True)):
                    matches.append((0, Named(account.handle, account.display_name, start, window[-1][2], "name")))
                elif all(_close(w, p) for (w, _, _), p in zip(window, parts, strict=True)):
                    matches.append((1, Named(account.handle, account.display_name, start, window[-1][2],
                                             "fuzzy name")))
                elif (any(_close(w, p) for (w, _, _), p in zip(window, parts, strict=True))
                      and all(_close(w, p) or _sounds_like(w, p) or _clipped(w, p)
                              for (w, _, _), p in zip(window, parts, strict=True))):
                    # Misheard, not mistyped: one word of the name is right, the others sound like it.
                    matches.append((1, Named(account.handle, account.display_name, start, window[-1][2],
                                             "sounds like")))
    matches += _spoken_handles(accounts, [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[\w'’-]+", text)
                                          if not any(a <= m.start() < b for a, b in covered)])
    # A first name alone, capitalised, when exactly one candidate account has it.
    for word, start, end in free:
        if not word[:1].isupper() or word.lower() in NOT_NAMES:
            continue
        owners = {a.handle: a for a in accounts if (a.display_name or "").split()[:1]
                  and a.display_name.split()[0].lower() == word.lower()}
        if len(owners) == 1:
            account = next(iter(owners.values()))
            matches.append((2, Named(account.handle, account.display_name, start, end, "first name")))
    for _, named in sorted(matches, key=lambda m: (m[0], -(m[1].end - m[1].start), m[1].start)):
        if any(named.start < other.end and other.start < named.end for other in found):
            continue
        found.append(named)
    return sorted(found, key=lambda n: n.start)
