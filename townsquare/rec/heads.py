"""The unified model's prediction heads: one vocabulary for training (``training_data.py``),
checkpoints (``registry.py``), serving (``serve.py``) and the feed's value model (``feed/config.py``).
No torch here: the feed reads it at start-up."""

from __future__ import annotations

# What happens when a person meets a post: short term (on this impression) ...
SHORT_TERM_HEADS: tuple[str, ...] = ("open", "like", "comment", "share", "dwell", "hide", "report")
# ... and long term (the network): a follow of the author it led to, and that follow becoming two-way.
LONG_TERM_HEADS: tuple[str, ...] = ("follow_author", "two_way")
POST_HEADS: tuple[str, ...] = SHORT_TERM_HEADS + LONG_TERM_HEADS
# What ``Scorer.score_accounts`` answers for an account, and the head each name is.
ACCOUNT_HEADS: dict[str, str] = {"follow": "follow_author", "two_way": "two_way"}
