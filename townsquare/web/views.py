"""View models for templates: post cards with the viewer's state, avatars, media URLs.

Pure reads built on the social services (``posts.viewer_states``, ``media.media_url``); no rules here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.social import media as media_service
from townsquare.social.models import Account, Media, Post
from townsquare.social.posts import viewer_states


@dataclass(frozen=True)
class MediaView:
    url: str
    kind: str
    width: int | None
    height: int | None
    alt: str
    srcset: str = ""  # "<thumbnail url> 320w, ..., <original> <width>w" (social/renditions.py)
    poster: str | None = None  # a video's first frame
    placeholder: str | None = None  # the BlurHash as a tiny data: URL, painted while the file loads


@dataclass(frozen=True)
class PostCard:
    post: Post
    avatar_url: str | None
    media: list[MediaView]
    liked: bool
    reposted: bool
    reaction: str | None
    mine: bool
    position: int
    reposted_by: Account | None = None
    reasons: tuple[dict, ...] = ()  # why a ranked feed shows it: [{"code", "text"}, ...]
    top_actions: tuple[dict, ...] = ()  # the predictions that ranked it: [{"action", "p", "contribution"}]


def avatar_url(session: Session, account: Account) -> str | None:
    if account.avatar_media_id is None:
        return None
    media = session.get(Media, account.avatar_media_id)
    return media_service.media_url(media) if media is not None else None


def avatar_urls(session: Session, accounts: Iterable[Account]) -> dict[int, str]:
    """Account id -> avatar URL, for every account that has an avatar, in one query."""
    wanted = {a.avatar_media_id: a.id for a in accounts if a is not None and a.avatar_media_id is not None}
    if not wanted:
        return {}
    rows = session.scalars(select(Media).where(Media.id.in_(list(wanted)))).all()
    by_media = {m.id: media_service.media_url(m) for m in rows}
    result: dict[int, str] = {}
    for a in accounts:
        if a is not None and a.avatar_media_id in by_media:
            result[a.id] = by_media[a.avatar_media_id]
    return result


def media_view(item) -> MediaView:
    from townsquare.social.renditions import placeholder_data_url, variant_name

    url = media_service.media_url(item)
    variants = item.variants or []
    thumbs = sorted((v for v in variants if v["kind"] == "thumb"), key=lambda v: v["width"])
    srcset = ""
    if thumbs and item.width:
        srcset = ", ".join([f"/media/renditions/{item.sha256}/{variant_name(v)} {v['width']}w" for v in thumbs]
                           + [f"{url} {item.width}w"])
    poster = next((f"/media/renditions/{item.sha256}/{variant_name(v)}" for v in variants if v["kind"] == "poster"), None)
    return MediaView(url=url, kind=item.kind, width=item.width, height=item.height, alt=item.description or "",
                     srcset=srcset, poster=poster, placeholder=placeholder_data_url(item.blurhash))


def media_views(post: Post) -> list[MediaView]:
    return [media_view(pm.item) for pm in post.media]


def post_cards(session: Session, viewer: Account | None, posts: Sequence[Post], *, start: int = 0,
               reposted_by: Sequence[Account | None] | None = None,
               reasons: Sequence[Sequence[dict]] | None = None,
               positions: Sequence[int] | None = None,
               top_actions: Sequence[Sequence[dict]] | None = None) -> list[PostCard]:
    """Cards for ``posts`` in order. Each card's position (for impression logging) is ``start + i``, or
    ``positions[i]`` when the source numbers its items itself (the ranked feed)."""
    states = viewer_states(session, viewer, [p.id for p in posts])
    avatars = avatar_urls(session, [p.author for p in posts])
    cards = []
    for i, post in enumerate(posts):
        state = states.get(post.id)
        cards.append(PostCard(
            post=post, avatar_url=avatars.get(post.author_id), media=media_views(post),
            liked=bool(state and state.reaction), reposted=bool(state and state.reposted),
            reaction=state.reaction if state else None,
            mine=viewer is not None and post.author_id == viewer.id,
            position=positions[i] if positions is not None else start + i,
            reposted_by=reposted_by[i] if reposted_by else None,
            reasons=tuple(reasons[i]) if reasons else (),
            top_actions=tuple(top_actions[i]) if top_actions else (),
        ))
    return cards


# Emoji shown for each reaction kind the reactions service accepts ("like" shows the heart icon).
REACTION_EMOJI = {"like": "❤️", "love": "😍", "haha": "😂", "wow": "😮", "sad": "😢", "angry": "😡"}


def reaction_choices() -> list[tuple[str, str]]:
    from townsquare.social.reactions import REACTION_KINDS

    return [(k, REACTION_EMOJI.get(k, k)) for k in REACTION_KINDS]


_REASON_LABELS = {
    "spam": "Spam or scam", "harassment": "Harassment or bullying", "hate": "Hate speech",
    "violence": "Violence or threats", "nudity": "Nudity or sexual content", "self_harm": "Self-harm",
    "misinformation": "False information", "other": "Something else",
}


def report_reasons() -> list[tuple[str, str]]:
    """(value, label) for each reason the moderation service accepts, in its order."""
    from townsquare.social.moderation import REPORT_REASONS

    return [(r, _REASON_LABELS.get(r, r.replace("_", " ").capitalize())) for r in REPORT_REASONS]


def unread_counts(session: Session, account: Account) -> tuple[int, int]:
    """(unread notifications, unread messages) for the navigation badges."""
    from townsquare.social.messages import unread_message_count
    from townsquare.social.notifications import unread_count

    return unread_count(session, account), unread_message_count(session, account)
