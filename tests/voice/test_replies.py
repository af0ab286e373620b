"""Spoken answers to a confirmation, and "post this" with a photo."""

import pytest

from townsquare.voice import replies


@pytest.mark.parametrize("said", ["Yes, post it.", "yeah go ahead", "Sure.", "OK, do it", "Confirm.",
                                  "yes please", "That's right.", "Yep, follow them."])
def test_yes(said):
    assert replies.answer(said) == "yes"


@pytest.mark.parametrize("said", ["Cancel.", "No.", "No, don't post it.", "never mind", "Stop.", "nope",
                                  "forget it", "Don't."])
def test_no(said):
    assert replies.answer(said) == "no"


@pytest.mark.parametrize("said", ["", "Catch me up.", "Who should I follow for photography?",
                                  "Yes and no, I'm not sure what you mean by that at all really",
                                  "ok no", "what's new"])
def test_not_an_answer(said):
    assert replies.answer(said) is None


@pytest.mark.parametrize("said", ["Post this.", "Share this picture with my followers", "post this photo",
                                  "Can you post it with the caption sunset at the pier"])
def test_post_this(said):
    assert replies.wants_photo_post(said)


@pytest.mark.parametrize("said", ["What does this sign say?", "Who is this band?", "Find posts about climbing"])
def test_not_post_this(said):
    assert not replies.wants_photo_post(said)


def test_spoken_caption():
    assert replies.spoken_caption("Post this with the caption sunset at the pier.") == "Sunset at the pier"
    assert replies.spoken_caption("post this saying 'best coffee in town'") == "Best coffee in town"
    assert replies.spoken_caption("post this") == ""
