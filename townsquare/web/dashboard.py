"""The numbers behind the creator dashboard's charts (``/studio`` and ``/studio/<ai>``): what others
did with your posts, who followed you, and what fans asked your AIs, per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.social.models import Account, Comment, Follow, Post, Reaction, Repost
from townsquare.web.charts import bar_chart, day_series

DAYS = 30
AI_DAYS = 14


def creator_charts(session: Session, me: Account, days: int = DAYS, gettext=lambda s, **kw: s % kw if kw else s
                   ) -> list[Markup]:
    """Likes, comments and reposts your posts received, and new followers, per day (titles in the
    page's language through ``gettext``)."""
    _ = gettext
    since = datetime.now(UTC) - timedelta(days=days)
    mine = select(Post.id).where(Post.author_id == me.id, Post.deleted_at.is_(None))
    likes = session.scalars(select(Reaction.created_at).where(Reaction.post_id.in_(mine), Reaction.created_at >= since,
                                                            Reaction.account_id != me.id)).all()
    comments = session.scalars(select(Comment.created_at).where(
        Comment.post_id.in_(mine), Comment.created_at >= since, Comment.author_id != me.id,
        Comment.deleted_at.is_(None))).all()
    reposts = session.scalars(select(Repost.created_at).where(Repost.post_id.in_(mine), Repost.created_at >= since,
                                                            Repost.account_id != me.id)).all()
    followers = session.scalars(select(Follow.created_at).where(Follow.followee_id == me.id,
                                                              Follow.created_at >= since)).all()
    return [bar_chart(day_series(likes, days), title=_("Likes on your posts, last %(days)s days", days=days),
                      unit=_("likes"), css_class="likes"),
            bar_chart(day_series(comments, days), title=_("Comments from others"), unit=_("comments"),
                      css_class="comments"),
            bar_chart(day_series(reposts, days), title=_("Reposts"), unit=_("reposts"), css_class="reposts"),
            bar_chart(day_series(followers, days), title=_("New followers"), unit=_("followers"),
                      css_class="followers")]


def ai_chart(session: Session, ai_id: int, days: int = AI_DAYS, gettext=lambda s, **kw: s % kw if kw else s
             ) -> Markup:
    """What fans asked this AI, per day."""
    _ = gettext
    from townsquare.studio.models import AIChat, AIMessage

    since = datetime.now(UTC) - timedelta(days=days)
    asked = session.scalars(select(AIMessage.created_at).join(AIChat, AIChat.id == AIMessage.chat_id).where(
        AIChat.ai_id == ai_id, AIMessage.role == "user", AIMessage.created_at >= since)).all()
    return bar_chart(day_series(asked, days), title=_("Questions from fans, last %(days)s days", days=days),
                     unit=_("questions"), css_class="ai-questions")
