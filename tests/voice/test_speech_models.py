"""The real speech models: Piper speaks, Whisper tiny.en hears it back."""

from __future__ import annotations

import re

import pytest

from townsquare.bench.voice import edit_distance
from townsquare.voice import audio, engines, tts

from .speech import pcm_array, speech, tone

MB = 1024 * 1024


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


@pytest.mark.parametrize("phrase", ["Catch me up.", "Who should I follow for photography?",
                                    "Find posts about climbing from people I follow."])
def test_round_trip_tts_then_asr(phrase):
    decoded = audio.decode(speech(phrase, "ogg"), max_seconds=60, max_bytes=8 * MB)
    heard = engines.transcriber().transcribe(decoded.samples)
    # Piper adds a little noise of its own on each run: allow one word of difference.
    assert edit_distance(_words(phrase), _words(heard.text)) <= 1, heard.text


@pytest.mark.parametrize("kind", ["silence", "noise"])
def test_silence_and_noise_give_no_words(kind):
    data = tone(3.0) if kind == "silence" else tone(3.0, noise=True, amplitude=0.1)
    decoded = audio.decode(data, max_seconds=60, max_bytes=8 * MB)
    heard = engines.transcriber().transcribe(decoded.samples)
    assert heard.empty, heard.text


def test_speech_is_spoken_sentence_by_sentence():
    voice = engines.voice("piper")
    parts = list(voice.speak_sentences("You have 3 new posts. The most talked-about is from @mia_cl [post 12]!"))
    assert [p.text for p in parts] == ["You have 3 new posts.", "The most talked-about is from mia cl!"]
    assert all(p.wav[:4] == b"RIFF" and p.seconds > 0.5 for p in parts)


def test_speakable_drops_what_only_a_screen_needs():
    text = ("Since Mon 09:00 UTC: 2 new posts. The most talked-about:\n"
            "- @mia: \"Sunset bouldering\" [post 4]\n- @leo: \"New **lens**\" see https://x.example/a [post 9]")
    spoken = tts.speakable(text)
    assert "[post" not in spoken and "http" not in spoken and "*" not in spoken and "@" not in spoken
    assert "mia: \"Sunset bouldering\"." in spoken


def test_nothing_to_say_is_a_clear_error():
    with pytest.raises(Exception) as caught:
        engines.voice("piper").speak("[post 3]")
    assert getattr(caught.value, "status", None) == 422


def test_espeak_fallback_speaks_when_installed():
    import shutil

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    speech_out = engines.voice("espeak").speak("Hello there.")
    assert speech_out.wav[:4] == b"RIFF" and speech_out.seconds > 0.3


def test_pcm_fixture_is_real_speech():
    samples, rate = pcm_array("Catch me up.")
    assert rate == 22050 and len(samples) > rate


def test_a_long_reply_is_spoken_up_to_the_limit_and_the_rest_stays_on_screen():
    voice = engines.voice("piper")
    reply = " ".join(f"Post number {i} is about climbing at the crag." for i in range(40))  # ~1900 chars
    spoken = voice.speak_reply(reply)
    assert spoken.text.endswith(tts.REST_ON_SCREEN)
    assert len(spoken.text) <= tts.MAX_SPOKEN_CHARS + 100
    assert spoken.seconds < 60
    short = voice.speak_reply("You're all caught up.")
    assert short.text == "You're all caught up." and short.wav[:4] == b"RIFF"


@pytest.mark.parametrize("sentence", ["Please confirm: Publish a photo post to everyone: \"Open all week\".",
                                      "One, two, three, four, five, six, seven, eight, nine, ten, eleven.",
                                      "Since Mon 09:00 UTC: 25 new posts from 12 people you follow."])
def test_long_sentences_are_cut_into_clauses_and_nothing_is_lost(sentence):
    parts = tts.sentences(sentence)
    assert " ".join(parts) == tts.speakable(sentence)
    assert all(len(p.split()) >= 2 for p in parts)


def test_numbers_whisper_splits_are_joined():
    from townsquare.voice.asr import join_numbers

    assert join_numbers("Like post 500 9.") == "Like post 509."
    assert join_numbers("Explain post 1200 45 please") == "Explain post 1245 please"
    assert join_numbers("post 509 and 12 more") == "post 509 and 12 more"
    assert join_numbers("in 300 100 ways") == "in 300 100 ways"  # 100 is not under 100: two numbers
    assert join_numbers("Oh, 600-18") == "Oh, 618" and join_numbers("open 9-5") == "open 9-5"
    assert join_numbers("reply to post 1,387") == "reply to post 1387" and join_numbers("1,2,3") == "1,2,3"
    assert join_numbers("Explain post-973") == "Explain post 973"
    assert join_numbers("Explain, post, 320,8 and 344") == "Explain, post, 328 and 344"
    assert join_numbers("What does post 630 8 say?") == "What does post 638 say?"
    assert join_numbers("post 630 18 and 5") == "post 630 18 and 5"  # 18 does not fit in 630
    assert join_numbers("1,2,3") == "1,2,3" and join_numbers("20,5,3") == "20,5,3" and join_numbers("320,18") == "320,18"
    # after "post" (one post) a comma may split it too; after "posts" it is a list
    assert join_numbers("Like, post 300, 8, and tell me") == "Like, post 308, and tell me"
    assert join_numbers("compare posts 300, 8 and 12") == "compare posts 300, 8 and 12"
    assert join_numbers("at 300, 8 people came") == "at 300, 8 people came"
    # the tens too, when the last word of the number is set apart, and a comma after "post"
    assert join_numbers("Show me, post, 740, 6 please") == "Show me, post, 746 please"
    assert join_numbers("open post 90, 12") == "open post 90, 12"  # 12 does not fit in one zero


def test_unfollow_heard_as_and_follow_at_the_start():
    from townsquare.voice.asr import restore_unfollow

    assert restore_unfollow("and follow Theo Brent") == "Unfollow Theo Brent"
    assert restore_unfollow("follow Ana and follow Ben") == "follow Ana and follow Ben"  # only at the start


def test_words_whisper_runs_together_are_split():
    from townsquare.voice.asr import split_glued_words

    assert split_glued_words("Heartpost 41") == "Heart post 41"
    assert split_glued_words("Senda message to Ivy") == "Send a message to Ivy"
    assert split_glued_words("a samba class, a vista") == "a samba class, a vista"  # words that end in a
    assert split_glued_words("ReadMeMyNotifications") == "Read Me My Notifications"
    assert split_glued_words("Compost tips from McDonald") == "Compost tips from McDonald"


def test_a_spoken_post_number_comes_back_whole():
    decoded = audio.decode(speech("Like post 509."), max_seconds=60, max_bytes=8 * MB)
    assert "509" in engines.transcriber().transcribe(decoded.samples).text


def test_the_beams_readings_come_back_likeliest_first_and_distinct():
    import numpy as np

    from townsquare.voice.asr import VAD_SILENCE_MS, tidy

    transcriber = engines.transcriber()
    samples = audio.decode(speech("Comment on post 12, great shot."), max_seconds=60, max_bytes=8 * MB).samples
    heard = transcriber.transcribe(samples)
    assert heard.readings and heard.readings[0] == heard.text
    assert 1 <= len(heard.readings) <= transcriber.beam_size
    as_words = [" ".join(_words(r)) for r in heard.readings]
    assert len(set(as_words)) == len(as_words)  # case and punctuation alone make no new reading
    # The likeliest reading is what faster-whisper's own transcribe gives for the same audio.
    segments, _ = transcriber.model.transcribe(
        samples.astype(np.float32), language="en", beam_size=transcriber.beam_size, vad_filter=True,
        vad_parameters={"min_silence_duration_ms": VAD_SILENCE_MS}, condition_on_previous_text=False,
        without_timestamps=True)
    assert heard.text == tidy(" ".join(s.text.strip() for s in segments))


def test_whisper_rescores_other_readings_of_the_same_speech():
    samples = audio.decode(speech("Follow Grace Kim."), max_seconds=60, max_bytes=8 * MB).samples
    heard = engines.transcriber().transcribe(samples)
    assert len(heard.scores) == len(heard.readings) and heard.rescore is not None
    said, other, unrelated = heard.rescore([heard.text, "Follow Grace Kim.", "The weather is lovely in Lisbon."])
    # a forced reading of the likeliest text scores about as the beam did; what was not said, far lower
    assert abs(said - heard.scores[0]) < 2.0, (said, heard.scores[0])
    assert unrelated < min(said, other) - 10, (said, other, unrelated)
