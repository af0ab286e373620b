"""Readings Whisper did not offer: a misheard name or app word put right, for Whisper to judge.

Whisper tiny.en writes what it hears in common English, so the words that carry a request to the
app are the ones it gets wrong, and often none of its readings has them right: a person's name
("Farah Singh" heard as "Ferris Singh" or "Farissing", "amirkim" as "Amherkin"), the command before
a post's number ("Post 519 seems random" heard as "Host 519", "like post 509" as "Legpost 509",
"upvote 193" as "Up at 193") and a reaction ("React with wow" heard as "React with Wata").

This module proposes the corrected readings, each from one class of mishearing:

- people: a run of one to three words that sounds like (``people.sound_key``, the same first
  sound) the name or handle of someone the person may see: a close tie, an account the words begin
  like, or one whose handle holds a word heard right or ends in a number said (a long name may be
  one sound off: "Beyond Cam Music" for @bianca_music); a name with one word right and the other
  near it in sound ("Oscar Home" for Oscar Hoang: the same first sound, a sound key at most one
  sound apart); a handle that ends in a number, said aloud ("Noch and 82" for @noahchen82: the
  number exact, the words before it near in sound). A handle is proposed as it is said ("Noah Chen
  82"), the way Whisper would write it, which the assistant resolves as a handle said aloud;
- commands on a post: the one to three words before a number, replaced by a command on a post
  that sounds the same ("Legpost 509" or "Leg, post, 509" -> "Like post 509", "Combat on post 72"
  -> "Comment on post 72"; a long command may be one sound off), and the word before a number
  that begins a sentence by "Post" (Whisper drops the first sound of a short word: "Host", "House",
  "How") or by a one-word command with the same first sound ("Upop 193" -> "Upvote 193");
- post numbers: the teens and the tens sound alike ("five nineteen", "five ninety"), so a number
  that is no post the person may see, with its last two digits the other way round (519 for 590,
  614 for 640), when that one is;
- reactions: the word after "react with" that is not one of the app's reactions, replaced by each,
  and the words between it and a number by each reaction and "to post" ("React with Wata Post 976");
- punctuation: Whisper's commas and closing full stop are its guesses from pauses, which carry no
  words; the same words without them ("Could you please, like, post 573 for me?" -> "... please
  like post 573 for me?"; a final "." turns "fill me in" into a remark for the intent model).

Whisper itself then scores each proposal against the same audio (``asr.Transcript.rescore``):
``readings.choose`` keeps only those that cost little more than the reading they came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, not_, or_, select

from townsquare.assistant.people import MAX_CANDIDATE_WORDS as MAX_WORDS
from townsquare.assistant.people import NOT_NAMES, candidate_accounts, name_runs, sound_key
from townsquare.assistant.phrasing import edit_distance
from townsquare.social.blocks import either_way_clause
from townsquare.social.models import Account, Post
from townsquare.social.reactions import REACTION_KINDS
from townsquare.social.visibility import visible_posts_query
from townsquare.voice.vocabulary import nearby_ids

NEARBY = 200  # close ties looked at for a misheard name (names said of strangers come from the words)
MIN_KEY = 4  # sound-key digits a name needs before a sound-alike counts (shorter keys match too much)
LONG_KEY = 6  # from this many sound-key digits, a heard name may be one sound off
# Commands on one post, said before its number ("like post 12", "upvote 12").
POST_COMMANDS = ("post", "like post", "like", "upvote", "boost post", "boost", "repost", "share post",
                 "explain post", "love post", "comment on post", "reply to post")
_WORD = re.compile(r"[^\W\d_][\w'’]*")
_SENTENCE_START = re.compile(r"(?:^|(?<=[.?!] ))$")
# one to three words (commas between them allowed) just before a number, once a number
_WORDS_BEFORE_NUMBER = re.compile(r"(?<![\w'’])((?:[^\W\d_]+,? ){1,3})(?=#?\d)")
# "five nineteen" and "five ninety": a number's last two digits, teen and ten that sound alike
_TEEN_OR_TEN = {f"1{d}": f"{d}0" for d in "3456789"} | {f"{d}0": f"1{d}" for d in "3456789"}
_REACT_WITH = re.compile(r"\breact(?:s|ed|ing)? with (?:an? )?([^\W\d_]+)", re.IGNORECASE)
# "React with Wata Post 976", "React with Wattapost 976": the reaction and "to post" heard as other words
_REACT_WITH_TO_NUMBER = re.compile(r"\breact(?:s|ed|ing)? with (?:an? )?((?:[^\W\d_]+,? ){1,3})(?=#?\d)",
                                   re.IGNORECASE)


@dataclass(frozen=True)
class Correction:
    """``text`` in place of ``reading[start:end]``."""

    start: int
    end: int
    text: str

    def applied(self, reading: str) -> str:
        return reading[:self.start] + self.text + reading[self.end:]


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _first_sound(word: str) -> str:
    """A word's first sound class: its consonant group, or "" for a vowel, h, w or y."""
    return sound_key(word[:1])


def _accounts(ctx, words: list[str], numbers: list[str]) -> list[Account]:
    """Whom a misheard name could be: the person's close ties, accounts the words begin like, and
    accounts whose handle holds one of the words whole (a word Whisper heard right: "Music") or ends
    in one of the numbers (of two digits or more)."""
    def visible(*clauses) -> list[Account]:
        return list(ctx.session.scalars(select(Account).where(
            or_(*clauses), Account.status == "active", Account.id != ctx.account.id,
            not_(either_way_clause(ctx.account.id, Account.id))).limit(NEARBY * 2)))

    nearby = nearby_ids(ctx.session, ctx.account.id, NEARBY)
    found = visible(Account.id.in_(nearby)) if nearby else []
    whole = [w.lower() for w in dict.fromkeys(words) if len(w) >= 4 and w.lower() not in NOT_NAMES]
    said = [func.lower(Account.handle).contains(w, autoescape=True) for w in whole[:MAX_WORDS]]
    said += [Account.handle.endswith(n) for n in list(dict.fromkeys(numbers))[:MAX_WORDS] if len(n) >= 2]
    found += visible(*said) if said else []
    return list({a.id: a for a in found + candidate_accounts(ctx, words)}.values())


def said_handle(account: Account) -> str:
    """A handle as it is said, the way Whisper would write it: "Noah Chen 82" for @noahchen82 (the
    name, where the handle is the name run together), "bianca music" for @bianca_music."""
    letters, digits = re.fullmatch(r"(.*?)_?(\d*)", account.handle).groups()
    name = account.display_name or ""
    said = name if name and _letters(name) == _letters(letters) else letters.replace("_", " ")
    return f"{said} {digits}".strip()


def _near_in_sound(heard: str, part: str) -> bool:
    heard, part = _letters(heard), _letters(part)
    return (bool(heard) and bool(part) and _first_sound(heard) == _first_sound(part)
            and edit_distance(sound_key(heard), sound_key(part), cap=1) <= 1)


def _people(ctx, reading: str) -> list[Correction]:
    words = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(reading)]
    if not words:
        return []
    accounts = _accounts(ctx, [w for w, _, _ in words], re.findall(r"\b\d+\b", reading))
    out = []
    for account in accounts:
        parts = (account.display_name or "").split()
        if len(parts) < 2:
            continue
        for i in range(len(words) - len(parts) + 1):
            run = words[i:i + len(parts)]
            same = [w.lower() == p.lower() for (w, _, _), p in zip(run, parts, strict=True)]
            if any(same) and not all(same) and all(
                    ok or _near_in_sound(w, p) for ok, (w, _, _), p in zip(same, run, parts, strict=True)):
                out.append(Correction(run[0][1], run[-1][2], account.display_name))
    spellings: dict[str, list[tuple[str, str]]] = {}  # first sound -> (sound key, name or handle)
    for account in accounts:
        for written in {account.display_name or "", said_handle(account)}:
            key = sound_key(_letters(written))
            if len(key) >= MIN_KEY:
                spellings.setdefault(_first_sound(_letters(written)), []).append((key, written))
    for run in name_runs(words):
        said = _letters("".join(w for w, _, _ in run))
        key = sound_key(said)
        for name_key, name in spellings.get(_first_sound(said), ()):
            # every account that sounds so is proposed: Whisper judges, nobody guesses
            if _letters(name) != said and _keys_match(key, name_key):
                out.append(Correction(run[0][1], run[-1][2], name))
    return out + _handles_with_numbers(reading, words, accounts)


def _keys_match(heard: str, name: str) -> bool:
    """The same consonant sounds; for a long name (``LONG_KEY``), one sound more, less or other."""
    if heard == name:
        return True
    return len(name) >= LONG_KEY and abs(len(heard) - len(name)) <= 1 and edit_distance(heard, name, cap=1) <= 1


def _handles_with_numbers(reading: str, words, accounts: list[Account]) -> list[Correction]:
    """A handle that ends in a number, said aloud: its letters heard as words, then its number
    ("Noch and 82" for @noahchen82). The number must be the handle's; the words before it need only
    be near it in sound."""
    out = []
    for number in re.finditer(r"\b\d+\b", reading):
        for account in accounts:
            handle = re.fullmatch(r"(.*?)_?(\d+)", account.handle)
            if not handle or handle.group(2) != number.group(0) or len(sound_key(_letters(handle.group(1)))) < 3:
                continue
            before = [w for w in words if w[2] <= number.start() and not reading[w[2]:number.start()].strip(" ,-")]
            if not before:
                continue
            end = words.index(before[-1]) + 1
            for start in range(max(0, end - 3), end):
                said = _letters("".join(w for w, _, _ in words[start:end]))
                if (_first_sound(said) == _first_sound(handle.group(1))
                        and edit_distance(sound_key(said), sound_key(_letters(handle.group(1))), cap=1) <= 1):
                    out.append(Correction(words[start][1], number.end(), said_handle(account)))
    return out


def _post_commands(reading: str) -> list[Correction]:
    out = []
    for m in _WORDS_BEFORE_NUMBER.finditer(reading):
        words = list(re.finditer(r"[^\W\d_]+", m.group(1)))
        for first in range(len(words)):  # the last one, two or three words before the number
            start, said = m.start(1) + words[first].start(), " ".join(w.group(0) for w in words[first:])
            if said.lower() in POST_COMMANDS:
                continue
            key = sound_key(_letters(said))
            sounds = [c for c in POST_COMMANDS if _first_sound(c) == _first_sound(said)
                      and _keys_match(key, sound_key(_letters(c)))]
            starts_sentence = bool(_SENTENCE_START.search(reading[:start]))
            if not sounds and first == len(words) - 1 and starts_sentence:
                # "Host 519": a sentence that starts with a number says which post; "Upop 193": a
                # garbled one-word command keeps its first sound
                sounds = ["Post"] + [c for c in POST_COMMANDS if " " not in c and c != "post"
                                     and _first_sound(c) == _first_sound(said)]
            for command in sounds:
                command = command[:1].upper() + command[1:] if starts_sentence else command
                out.append(Correction(start, m.end(1), command + " "))
    return out


def _post_numbers(ctx, reading: str) -> list[Correction]:
    """Each number said that is no post the person may see, with its teen said as a ten or the
    other way round, where that number is a post they may see."""
    heard = {m: m.group(0)[:-2] + _TEEN_OR_TEN[m.group(0)[-2:]]
             for m in re.finditer(r"\b\d{2,9}\b", reading) if m.group(0)[-2:] in _TEEN_OR_TEN}
    if not heard:
        return []
    seen = visible_post_ids(ctx, {int(n) for n in heard.values()} | {int(m.group(0)) for m in heard})
    return [Correction(m.start(), m.end(), other) for m, other in heard.items()
            if int(m.group(0)) not in seen and int(other) in seen]


def visible_post_ids(ctx, ids: set[int]) -> set[int]:
    """Which of ``ids`` are posts the person may see."""
    return set(ctx.session.scalars(visible_posts_query(ctx.account.id).with_only_columns(Post.id)
                                   .where(Post.id.in_(ids))))


def unpunctuated(reading: str) -> str:
    """The words of ``reading`` without Whisper's commas and closing full stop."""
    return re.sub(r"\s*,\s*", " ", reading).strip().removesuffix(".").strip()


def _reactions(reading: str) -> list[Correction]:
    out = []
    for m in _REACT_WITH.finditer(reading):
        if m.group(1).lower() not in REACTION_KINDS:
            out += [Correction(m.start(1), m.end(1), kind) for kind in REACTION_KINDS]
    for m in _REACT_WITH_TO_NUMBER.finditer(reading):
        if m.group(1).split()[0].strip(",").lower() not in REACTION_KINDS:
            out += [Correction(m.start(1), m.end(1), f"{kind} to post ") for kind in REACTION_KINDS]
    return out


def corrections(ctx, reading: str) -> list[Correction]:
    """Each way to put one misheard name, command, post number or reaction of ``reading`` right."""
    found = _people(ctx, reading) + _post_commands(reading) + _post_numbers(ctx, reading) + _reactions(reading)
    out: dict[str, Correction] = {}
    for fix in found:
        out.setdefault(fix.applied(reading), fix)
    out.pop(reading, None)
    return list(out.values())


def together(reading: str, fixes: list[Correction]) -> tuple[str, int] | None:
    """``reading`` with every correction of ``fixes`` that overlaps none before it (a request may
    name two people, both misheard), and how many that is; None when fewer than two."""
    chosen: list[Correction] = []
    for fix in fixes:
        if all(fix.end <= other.start or other.end <= fix.start for other in chosen):
            chosen.append(fix)
    if len(chosen) < 2:
        return None
    for fix in sorted(chosen, key=lambda f: -f.start):  # from the end, so earlier offsets still hold
        reading = fix.applied(reading)
    return reading, len(chosen)
