"""The words a person is likely to say to the app, given to Whisper as ``hotwords`` (its decoding prompt).

Whisper tiny.en knows common English, not the app's own verbs at the start of a short command
("boost post 906" comes back as "Boost Pulse 906", "publish a post" as "Hableish opposed") nor the
names of the people in a community. Whisper's prompt biases decoding toward the words it holds, so
it gets the app's verbs and nouns (the assistant's tools are asked for in these words), the names of
the few people closest to the person (those they follow, their followers, the people they message or
hear from, most recent first) and the hashtags they follow.

Few names, on purpose: a long list of unusual names pulls Whisper toward unusual words everywhere
("Find" heard as "Fine", "search" as "Surch"). On 200 spoken dev-half requests of the assistant
benchmark, the round-trip WER is 10.8% with the verbs alone, 10.5% with eight names, 11.5% with
twenty (``docs/results/voice_dev/vocabulary_sizes.py``). A name said that is not in the prompt is still
heard as well as without it, and the assistant matches names as they sound (``assistant/people.py``).

Only what the person may see goes in: active accounts, none that blocks them or that they blocked.
"""

from __future__ import annotations

import re

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from townsquare.db.engine import end_transaction
from townsquare.social.models import (
    Account,
    Block,
    Conversation,
    Follow,
    Hashtag,
    HashtagFollow,
    Notification,
)

APP_WORDS = ("Find, search, look up, explain, post, posts, like, boost, reply, comment, follow, unfollow, mute, "
             "unmute, block, hashtag, message, publish, draft, share, feed, timeline, notifications, "
             "catch me up, creator AI")
NEARBY_PEOPLE = 8
TAGS = 5


def spoken_name(account: Account) -> str:
    """"Maya Okafor", or "David Bakker (davidb)" when the handle is not just the name run together
    (the handle as it is read aloud: "_" is a space)."""
    handle = account.handle.replace("_", " ")
    name = (account.display_name or "").strip()
    if not name or re.sub(r"\W", "", name.lower()) == re.sub(r"\W", "", handle):
        return name or handle
    return f"{name} ({handle})"


def _hidden_ids(account_id: int):
    """Accounts that block the person or that the person blocked."""
    return (select(Block.blocker_id).where(Block.blocked_id == account_id)
            .union(select(Block.blocked_id).where(Block.blocker_id == account_id)))


def nearby_ids(session: Session, account_id: int, limit: int) -> list[int]:
    """People the person is connected to, closest (most recent tie) first."""
    follows = select(Follow.followee_id.label("id"), Follow.created_at.label("at")).where(
        Follow.follower_id == account_id)
    followers = select(Follow.follower_id.label("id"), Follow.created_at.label("at")).where(
        Follow.followee_id == account_id)
    other = case((Conversation.low_id == account_id, Conversation.high_id), else_=Conversation.low_id)
    talked = select(other.label("id"), Conversation.last_message_at.label("at")).where(
        or_(Conversation.low_id == account_id, Conversation.high_id == account_id))
    noticed = select(Notification.actor_id.label("id"), Notification.created_at.label("at")).where(
        Notification.recipient_id == account_id, Notification.actor_id.is_not(None))
    ties = follows.union_all(followers, talked, noticed).subquery()
    rows = session.execute(select(ties.c.id).group_by(ties.c.id).order_by(func.max(ties.c.at).desc())
                           .limit(limit * 2)).scalars()
    return [i for i in rows if i != account_id]


def people(session: Session, account: Account, limit: int = NEARBY_PEOPLE) -> list[str]:
    """The names of the ``limit`` people closest to the person, closest first."""
    hidden = _hidden_ids(account.id)
    nearby = nearby_ids(session, account.id, limit)
    close = session.execute(select(Account).where(Account.id.in_(nearby), Account.status == "active",
                                                  Account.id.not_in(hidden))).scalars().all()
    close.sort(key=lambda a: nearby.index(a.id))
    return [spoken_name(a) for a in close[:limit]]


def hashtags(session: Session, account: Account) -> list[str]:
    return list(session.execute(select(Hashtag.name).join(HashtagFollow, HashtagFollow.hashtag_id == Hashtag.id)
                                .where(HashtagFollow.account_id == account.id)
                                .order_by(HashtagFollow.created_at.desc()).limit(TAGS)).scalars())


def for_account(session: Session, account: Account) -> str:
    """The hotwords for ``account``'s speech. Ends the session's transaction: speech recognition, a
    model call, comes next."""
    words = [APP_WORDS, *people(session, account), *hashtags(session, account)]
    end_transaction(session)
    return ", ".join(words)
