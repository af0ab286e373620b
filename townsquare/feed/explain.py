"""Why am I seeing this: every feed item carries reasons built from its sources, the viewer's
affinities and the predicted actions that gave it the most value."""

from __future__ import annotations

from collections.abc import Mapping

ACTION_PHRASES = {
    "open": "you'll probably open it",
    "dwell": "you'll probably spend time on it",
    "like": "you're likely to like it",
    "comment": "you might comment",
    "share": "you might share it",
    "follow_author": "you might want to follow the author",
    "two_way": "you and the author might become friends",
}


def _handle(handles: Mapping[int, str], account_id: int) -> str:
    return "@" + handles.get(account_id, str(account_id))


def reasons(*, sources: Mapping[str, object], author_id: int, hashtags: tuple[str, ...], in_network: bool,
            top_actions: list[dict], handles: Mapping[int, str], author_affinity: float = 0.0,
            topic_affinity: Mapping[str, float] | None = None, ranked_by: str = "heuristic") -> list[dict]:
    """A list of ``{"code", "text"}``, most specific first; never empty."""
    out: list[dict] = []
    if "following" in sources or in_network:
        out.append({"code": "following", "text": f"Because you follow {_handle(handles, author_id)}"})
    if "friends_engaged" in sources:
        # Who engaged is not named: the source counts likes too, and no API lists who liked a post.
        out.append({"code": "friends_engaged", "text": "Popular with people you follow"})
    if "hashtag" in sources:
        out.append({"code": "hashtag", "text": f"New from #{sources['hashtag']}, which you follow"})
    liked_topics = [t for t in hashtags if (topic_affinity or {}).get(t, 0) > 0]
    if liked_topics and "hashtag" not in sources:
        out.append({"code": "topic", "text": f"New from a topic you like: #{liked_topics[0]}"})
    if author_affinity > 0 and not in_network:
        out.append({"code": "author_affinity",
                    "text": f"You've engaged with {_handle(handles, author_id)} before"})
    if "trending" in sources:
        out.append({"code": "trending", "text": "Trending in the community today"})
    if "topic" in sources:
        out.append({"code": "topic_sample", "text": f"Popular in #{sources['topic']}"})
    if "popular" in sources and not out:
        out.append({"code": "popular", "text": "Popular in the community this week"})
    if "similar" in sources:
        out.append({"code": "similar", "text": "Like posts you engaged with lately"})
    if "model" in sources:
        out.append({"code": "model", "text": "Recommended for you by the Townsquare model"})
    if top_actions:
        phrases = [ACTION_PHRASES[a["action"]] for a in top_actions if a["action"] in ACTION_PHRASES]
        if phrases:
            ranker = "the model" if ranked_by == "model" else "our heuristics"
            out.append({"code": "predicted", "text": f"Ranked here because {ranker} predict " + " and ".join(phrases)})
    if not out:
        out.append({"code": "discovery", "text": "Something new for you to discover"})
    return out
