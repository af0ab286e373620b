import pytest

from townsquare.assistant.tools import TOOLS, clean_query, repair_arguments


@pytest.mark.parametrize("query, cleaned", [
    ("posts about climbing", "climbing"), ("find posts about jazz from people I follow", "jazz"),
    ("sourdough bread", "sourdough bread"), ("about", "about")])
def test_clean_query_keeps_the_subject(query, cleaned):
    assert clean_query(query) == cleaned


@pytest.mark.parametrize("tool, args, request_text, expected", [
    ("follow", {"handle": "follow"}, "follow @mia_k please", {"handle": "mia_k"}),
    ("follow", {"handle": "mia_k"}, "follow @Mia_K", {"handle": "mia_k"}),
    ("follow", {"handle": "bob"}, "follow bob", {"handle": "bob"}),  # no mention: the model's word stands
    ("follow", {"handle": "a"}, "follow @a1 and @b2", {"handle": "a"}),  # two mentions: ambiguous, unchanged
    ("react_to_post", {"post_id": "1"}, "like post 42", {"post_id": "42"}),
    ("comment_on_post", {"post_id": "42", "text": "nice"}, "comment 'Great shot!' on post 42",
     {"post_id": "42", "text": "Great shot!"}),
    ("publish_post", {"text": "run"}, "publish a post saying: Anyone up for a run on Saturday?",
     {"text": "Anyone up for a run on Saturday?"}),
    ("suggest_follows", {}, "who should I follow for photography?", {"topic": "photography"}),
    ("search_posts", {"query": "jazz"}, "show me posts about jazz from people I follow",
     {"query": "jazz", "from_people_i_follow": True}),
])
def test_repair_arguments_prefers_the_persons_own_words(tool, args, request_text, expected):
    assert repair_arguments(TOOLS[tool], args, request_text) == expected
