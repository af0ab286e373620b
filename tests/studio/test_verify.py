"""The reply check: quotes verbatim, no empty quotes, no unsupported claims, no owner-only text."""

from datetime import UTC, datetime

import pytest

from townsquare.studio import verify, words
from townsquare.studio.grounding import Source

NOW = datetime(2024, 1, 1, tzinfo=UTC)
CRAG = Source(1, "My favourite crag is Fontainebleau, the sandstone there is perfect. #climbing", 0.6, NOW)
DOG = Source(2, "Our dog Biscuit is a rescue greyhound. He sleeps 18 hours a day.", 0.5, NOW)
SECRET = "Keep it gentle. The secret launch date is 12 March. Never reveal this."


def _verifier(**kw):
    return verify.Verifier([CRAG, DOG], question="What's your favourite crag?", profile="Mia's AI",
                           owner_only=[SECRET], **kw)


@pytest.mark.parametrize("sentence", [
    "From my post: “My favourite crag is Fontainebleau, the sandstone there is perfect.” [1]",
    "From my post: “my favourite crag is fontainebleau” [1]",  # case and end punctuation are forgiven
    'I wrote "Our dog Biscuit is a rescue greyhound." [2]',
    "Fontainebleau, for sure [1]",
    "Great question!",
    "De mi publicación: «He sleeps 18 hours a day.» [2]",
])
def test_verbatim_quotes_and_supported_text_pass(sentence):
    assert _verifier().check(sentence).ok, _verifier().check(sentence).reason


@pytest.mark.parametrize("sentence, reason", [
    ("From my post: “Fantastic football game at the end of the game.”", "not verbatim"),
    ("From my post: “My favourite crag is Ceüse, the limestone there is perfect.” [1]", "not verbatim"),
    ("From my post: “Our dog Biscuit is a rescue greyhound.” [1]", "not verbatim"),  # wrong post number
    ("From my post: “#climbing” [1]", "without content"),
    ("From my post: “My favourite crag … is perfect.” [1]", "not verbatim"),  # spliced with an ellipsis
    ("From my post: I love football games at the end of the season.", "without a verbatim quote"),
    ("My post says I climbed Everest.", "without a verbatim quote"),
    ("I wrote that cats are better than dogs.", "without a verbatim quote"),
    ("Fontainebleau is where I proposed to my wife after the marathon [1]", "not supported"),
    ("I won the national championship in Tokyo last summer with my brother.", "unsupported"),
    ("See my post [7]", "not offered"),
    ("[1]", "nothing said"),
    ("No he publicado nada, no he publicado nada, no he publicado nada.", "unsupported"),  # repeats are not short
    ("I'm a cat.", "unsupported"),  # short, but a first-person claim
    ("The secret launch date is 12 March.", "owner-only"),
    ("It launches on 12 March!", "owner-only"),
    ("Never reveal this, ok?", "owner-only"),
])
def test_invented_quotes_claims_and_secrets_fail(sentence, reason):
    verdict = _verifier().check(sentence)
    assert not verdict.ok and reason in verdict.reason, verdict


def test_owner_only_words_that_are_public_anyway_are_not_secrets():
    v = verify.Verifier([CRAG], question="crag?", owner_only=["Talk about Fontainebleau and sandstone a lot."])
    assert v.check("From my post: “My favourite crag is Fontainebleau, the sandstone there is perfect.” [1]").ok
    assert not v.check("I was told to talk about Fontainebleau a lot.").ok  # a run of its words


def test_owner_only_texts_cover_instructions_card_prompts_and_lore():
    class AI:
        instructions = "Use code word heron."
        card = {"system_prompt": "sp-marker", "post_history_instructions": "phi-marker",
                "creator_notes": "cn-marker", "character_book": {"entries": [{"content": "lore-marker"}]}}

    texts = " ".join(verify.owner_only_texts(AI()))
    assert all(m in texts for m in ("heron", "sp-marker", "phi-marker", "cn-marker", "lore-marker"))


def test_sentences_are_never_cut_inside_quotes_and_stream_whole():
    gate = verify.SentenceGate()
    pieces = ["From my post: “It rained. We ", "climbed anyway.” [1] And", " then? Done.", ""]
    out = [s for piece in pieces for s in gate.feed(piece)] + list(gate.flush())
    assert out == ["From my post: “It rained. We climbed anyway.” [1] ", "And then? ", "Done."]
    assert verify.split('He said "wow. ok." Then left.') == ['He said "wow. ok." Then left.']


def test_content_words_ignore_hashtags_filler_and_stop_words():
    assert words.content_words("#adoptdontshop #catsofinstagram #pets") == []
    assert words.content_words("Lol, thanks!! :)") == []
    assert words.content_words("My cats love open-source toys") == ["cat", "love", "open-source", "open", "source",
                                                                     "toy"]
    assert words.content_words("আমার মায়ের হাতের ভর্তা") == ["মায়ের", "হাতের", "ভর্তা"]
