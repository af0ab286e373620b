"""The words Whisper is told to expect from a person: the app's verbs, the people closest to them, the
hashtags they follow; never someone hidden by a block or no longer active."""

from __future__ import annotations

from townsquare.social import accounts, graph, messages, search
from townsquare.social.models import Account
from townsquare.voice import vocabulary


def test_the_app_words_and_the_people_closest_to_the_person(db):
    with db.session() as s:
        me = accounts.create_account(s, "ruth", None, display_name="Ruth Okafor")
        friend = accounts.create_account(s, "davidb", None, display_name="David Bakker")
        fan = accounts.create_account(s, "mia_kovac", None, display_name="Mia Kovac")
        pen_pal = accounts.create_account(s, "zeb", None, display_name="Zebulon Quaxworth")
        stranger = accounts.create_account(s, "stranger", None, display_name="Someone Else")
        blocker = accounts.create_account(s, "grumpy", None, display_name="Grumpy Person")
        gone = accounts.create_account(s, "gone", None, display_name="Gone Person")
        graph.follow(s, me, friend.id)
        graph.follow(s, fan, me.id)
        messages.send_message(s, pen_pal, me.id, "hello")
        graph.follow(s, me, blocker.id)
        graph.block(s, blocker, me.id)
        graph.follow(s, me, gone.id)
        gone.status = "suspended"
        search.follow_hashtag(s, me, "sourdough")
        s.flush()
        me_id = me.id
        assert stranger.id  # exists, and is no one to this person

    with db.session() as s:
        words = vocabulary.for_account(s, s.get(Account, me_id))
    assert words.startswith(vocabulary.APP_WORDS)
    assert "David Bakker (davidb)" in words  # a handle that is not the name run together is said too
    assert "Mia Kovac," in words and "(mia kovac)" not in words  # ... one that is, is not
    assert "Zebulon Quaxworth" in words and "sourdough" in words
    for absent in ("Someone Else", "Grumpy", "Gone Person", "Ruth Okafor"):
        assert absent not in words


def test_only_the_closest_few_people_are_named(db):
    with db.session() as s:
        me = accounts.create_account(s, "ruth", None, display_name="Ruth Okafor")
        for i in range(vocabulary.NEARBY_PEOPLE + 5):
            graph.follow(s, me, accounts.create_account(s, f"person{i}", None, display_name=f"Person Number{i}").id)
        s.flush()
        words = vocabulary.for_account(s, me)
    assert words.count("Person Number") == vocabulary.NEARBY_PEOPLE


def test_the_routes_give_whisper_the_persons_words(client, signup, monkeypatch):
    """/api/voice/turns and /v1/audio/transcriptions (the client's prompt first) pass the vocabulary."""
    from townsquare.voice import engines
    from townsquare.voice.asr import Transcript

    from .speech import speech

    class Recorder:
        hotwords: list[str] = []

        def transcribe(self, samples, *, vad=True, hotwords=""):
            self.hotwords.append(hotwords)
            return Transcript("what's new", len(samples) / 16000)

    recorder = Recorder()
    monkeypatch.setattr(engines, "transcriber", lambda: recorder)
    me, friend = signup("voice_words"), signup("davidb_voice", display_name="David Bakker")
    assert client.post(f"/api/accounts/{friend.id}/follow", headers=me.headers).status_code == 200
    said = speech("What's new?")
    client.post("/v1/audio/transcriptions", files={"file": ("q.wav", said, "audio/wav")},
                data={"prompt": "Piranesi"}, headers=me.headers)
    client.post("/api/voice/turns", files={"audio": ("q.wav", said, "audio/wav")}, data={"speak": "false"},
                headers=me.headers)
    assert len(recorder.hotwords) == 2
    assert recorder.hotwords[0].startswith("Piranesi, " + vocabulary.APP_WORDS)
    assert all("David Bakker (davidb voice)" in words for words in recorder.hotwords)
