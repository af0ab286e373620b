"""People as pages show them: the follow button's state, person rows, and the "Who to follow"
panel (people you may know, from the feed's PYMK). Shared by the profile, search, feed and home pages."""

from __future__ import annotations

from dataclasses import dataclass

from townsquare.feed import pymk
from townsquare.social import graph
from townsquare.social.models import Account
from townsquare.web.context import Web
from townsquare.web.forms import attempt
from townsquare.web.views import avatar_urls


def follow_state(rel: graph.Relationship | None, viewer: Account | None, account: Account) -> str:
    """What the follow button shows: self, blocking, following, requested, followed_by or none."""
    if viewer is None:
        return "none"
    if viewer.id == account.id:
        return "self"
    if rel is None:
        return "none"
    if rel.blocking:
        return "blocking"
    if rel.following:
        return "following"
    if rel.requested:
        return "requested"
    return "followed_by" if rel.followed_by else "none"


def follow_states(session, viewer: Account | None, accounts_: list[Account]) -> dict[int, str]:
    if viewer is None:
        return {}
    return {a.id: follow_state(graph.relationship(session, viewer, a.id) if a.id != viewer.id else None, viewer, a)
            for a in accounts_}


@dataclass(frozen=True)
class PersonView:
    account: Account
    avatar_url: str | None
    state: str | None


@dataclass(frozen=True)
class SuggestionView:
    account: Account
    avatar_url: str | None
    reason: str
    follows_you: bool = False
    reasons: tuple[str, ...] = ()  # every reason, for the people-you-may-know page


def who_to_follow(ctx: Web, limit: int = 3) -> list[SuggestionView]:
    """People you may know, from the feed's PYMK (graph model + the unified model when trained):
    three in the side panel, more on ``/people/suggested``."""
    if ctx.account is None:
        return []
    services = ctx.services
    found, error = attempt(ctx, lambda: pymk.suggestions(ctx.session, ctx.account, limit,
                                                         scorer=services.feed.scorer,
                                                         model=services.pymk_model()))
    if error is not None or not found:
        return []
    avatars = avatar_urls(ctx.session, [s.account for s in found])
    return [SuggestionView(s.account, avatars.get(s.account.id), s.reasons[0]["text"] if s.reasons else "",
                           s.follows_you, tuple(r["text"] for r in s.reasons)) for s in found]
