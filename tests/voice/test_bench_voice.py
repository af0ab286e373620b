"""The voice benchmark's scoring and its choice of phrasings (dev half only)."""

from townsquare.bench import voice as vb


def test_wer_scoring():
    assert vb.words("Could you please—show me posts? It's 9-5!") == ["could", "you", "please", "show", "me",
                                                                       "posts", "it's", "9", "5"]
    assert vb.words("Post 1,387 in three hours") == vb.words("post 1387 in 3 hours")  # a number either way
    assert vb.words("1,2 and 12,50") == ["1", "2", "and", "12", "50"]  # lists and decimals are not joined
    assert vb.edit_distance("a b c d".split(), "a x c".split()) == 2
    assert vb.edit_distance([], "a b".split()) == 2


class _World:
    def fill_text(self, key, text):
        return text.replace("{topic}", "climbing#" + key)


def test_round_trip_requests_come_from_the_dev_half_only():
    from townsquare.bench.assistant_tasks import load_split

    dev_ids = {t.id for t in load_split("dev") if t.lang == "en"}
    chosen = vb.requests_from_dev(_World(), 200)
    assert len(chosen) == 200
    assert {task.id for task, _ in chosen} <= dev_ids
    assert len({text for _, text in chosen}) > len(dev_ids)  # the second fill picks other entities
