"""Feed configuration: value-model weights and blender rules, with documented defaults.

Override any of them in the TOML config file (``TOWNSQUARE_CONFIG``) under ``[feed]``::

    [feed.value_weights]
    like = 3.0
    hide = -30.0

    [feed.blend]
    author_gap = 4

See docs/feed.md for what each one does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from townsquare.rec.heads import POST_HEADS

# Weighted sum of predicted action probabilities (value model). Short-term terms reward what a
# person does in the session; long-term terms reward what builds their network; negative
# feedback weighs far more than a like so that one likely hide outweighs several likely likes.
DEFAULT_VALUE_WEIGHTS: dict[str, float] = {
    # short-term
    "open": 0.5,
    "dwell": 1.0,
    "like": 2.0,
    "comment": 4.0,
    "share": 5.0,
    # long-term
    "follow_author": 8.0,
    "two_way": 12.0,
    # negative feedback
    "hide": -20.0,
    "report": -100.0,
}

POST_KINDS = ("text", "photo", "video", "link")


@dataclass(frozen=True)
class BlendConfig:
    page_size_max: int = 50
    ranked_list_size: int = 200  # items kept in the cached ranked list per feed
    author_gap: int = 3  # the same author never appears twice within this many slots
    max_per_author: int = 3  # per 30-item window
    max_kind_run: int = 3  # at most this many items of one content type in a row
    freshness_half_life_h: float = 36.0  # value halves every this many hours of age
    hold_back_negative: bool = True  # items valued <= 0 come after every positive one (no quota forces them in)
    # Share of in-network items at the slider's two ends (discovery 0.0 -> 1.0).
    in_network_share_friends_first: float = 0.85
    in_network_share_discovery: float = 0.25
    # Model ranking only (its values are comparable in and out of network; the heuristic's are not):
    # a discovery slot needs a discovery item worth at least this share of the best in-network one.
    discovery_value_ratio: float = 1.0
    # Model ranking only: a discovery candidate (an account the viewer does not follow) whose content
    # similarity with what the viewer engaged with lately (the model's ``content_knn``: mean cosine
    # of its text embedding with its 3 nearest among their last 50 engaged posts) is below this floor
    # is not shown; 0 = off. No floor for a viewer with no engaged posts (cold start: nothing to judge
    # by), and never below ``discovery_floor_min_items`` candidates left (the closest come back).
    discovery_min_similarity: float = 0.6
    # ... for a post by someone who follows the viewer (a social tie: following back makes it a
    # two-way relationship) the floor is this instead. Both chosen on the seed-7 simulation
    # (docs/feed.md, "Blender"); the scale is the cosine of the bundled MiniLM text embeddings.
    discovery_min_similarity_followers: float = 0.4
    discovery_floor_min_items: int = 20
    show_less_author_factor: float = 0.25  # value multiplier for an author you said "show less" of
    show_less_topic_factor: float = 0.5  # ... and for posts sharing a hashtag with it
    seen_window_h: float = 168.0  # posts with an impression this recent are not shown again (= the longest source window)
    cache_ttl_s: float = 30 * 60
    cache_max_feeds: int = 5000


@dataclass(frozen=True)
class SourceConfig:
    following_recent: int = 200
    following_days: float = 7.0
    model_retrieval: int = 200
    # Posts most like what the person engaged with lately (needs the model's text features); 0 = off.
    # Off by default: on the seed-7 simulation it added hides with the model of the time (git log -- docs/benchmarks.md).
    content_similar: int = 0
    trending: int = 100
    trending_hours: float = 24.0
    friends_engaged: int = 100
    friends_engaged_days: float = 3.0
    hashtags: int = 100
    hashtags_days: float = 7.0
    popular: int = 80  # cold start and back-fill: popular over the last week
    popular_days: float = 7.0
    topics: int = 100  # cold start: best recent posts across many hashtags
    global_cache_s: float = 60.0  # trending/popular lists are shared by everyone for this long


@dataclass(frozen=True)
class FeedConfig:
    value_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_VALUE_WEIGHTS))
    blend: BlendConfig = field(default_factory=BlendConfig)
    sources: SourceConfig = field(default_factory=SourceConfig)


def _apply(obj, overrides: dict):
    known = {f.name: f for f in fields(obj)}
    clean = {}
    for key, value in (overrides or {}).items():
        if key not in known:
            raise ValueError(f"unknown feed setting {key!r}")
        clean[key] = type(getattr(obj, key))(value)
    return replace(obj, **clean)


def feed_config(settings=None) -> FeedConfig:
    """The feed config: defaults, overridden by ``[feed]`` in the settings' config file."""
    raw = (getattr(settings, "extra", None) or {}).get("feed", {}) if settings is not None else {}
    weights = dict(DEFAULT_VALUE_WEIGHTS)
    for key, value in (raw.get("value_weights") or {}).items():
        if key not in POST_HEADS:
            raise ValueError(f"unknown value weight {key!r}; heads are {', '.join(POST_HEADS)}")
        weights[key] = float(value)
    return FeedConfig(value_weights=weights, blend=_apply(BlendConfig(), raw.get("blend", {})),
                      sources=_apply(SourceConfig(), raw.get("sources", {})))
