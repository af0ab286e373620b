"""The feed's data as it moves through the stages: sources propose ``Proposal``s about the viewer
(``ViewerContext``), ``collect`` turns them into ``Candidate``s, which are scored, filtered, valued,
blended and hydrated (see ``service.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from townsquare.feed.config import SourceConfig

Proposal = tuple[int, str, object]  # (post_id, source name, detail)


@dataclass
class Candidate:
    """A post that some source proposed, with what ranking, blending and explaining need."""

    post_id: int
    author_id: int
    kind: str
    created_at: datetime
    likes: int = 0
    comments: int = 0
    reposts: int = 0
    hashtags: tuple[str, ...] = ()
    sources: dict[str, Any] = field(default_factory=dict)  # source name -> detail (ids, hashtag, score)
    in_network: bool = False

    def age_hours(self, now: datetime) -> float:
        return max(0.0, (now - self.created_at).total_seconds() / 3600)


@dataclass
class ViewerContext:
    """What the feed knows about the viewer for this request."""

    viewer_id: int
    following: set[int] = field(default_factory=set)
    hidden_authors: set[int] = field(default_factory=set)  # blocked either way or muted: never shown
    author_affinity: dict[int, float] = field(default_factory=dict)  # recent engagement with each author
    topic_affinity: dict[str, float] = field(default_factory=dict)  # hashtags of posts engaged with / followed
    followed_hashtags: set[str] = field(default_factory=set)
    show_less_authors: set[int] = field(default_factory=set)  # hid a post of theirs
    show_less_topics: set[str] = field(default_factory=set)
    seen: set[int] = field(default_factory=set)  # recent impressions
    has_history: bool = False
    followers: set[int] = field(default_factory=set)  # who follows the viewer
    # The viewer's latest events, newest first (rows with ``social.events.EventRecord``'s fields):
    # read once per page for the affinities above and handed to the model's ``encode`` too.
    events: list = field(default_factory=list)


@dataclass
class SourceInput:
    """What every candidate source gets (one signature for all of them)."""

    session: Session
    ctx: ViewerContext
    cfg: SourceConfig
    now: datetime
    scorer: Any = None  # the unified model, when one is served
    state: Any = None  # the viewer encoded by it
