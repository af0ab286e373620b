"""The OpenAI-compatible API with the real ``openai`` client: usage, max_tokens / temperature / stop,
finish_reason "length", tools refused clearly, one stored conversation per client conversation,
and (with the bundled model over a real server) token-by-token streaming."""

from __future__ import annotations

import threading
import time

import openai
import pytest
from scripted_llm import ScriptedLLM

from townsquare.assistant.models import AssistantConversation
from townsquare.llm.types import Usage


class CountingLLM(ScriptedLLM):
    """A scripted model that reports usage and records the generation options it was given."""

    def __init__(self, *script, answer="one two three four five six"):
        super().__init__(*script, answer=answer)
        self.options: list[dict] = []

    def chat_with_tools(self, messages, tools, tool_choice="auto", **kwargs):
        reply = super().chat_with_tools(messages, tools, tool_choice, **kwargs)
        reply.usage = Usage(100, 7)
        return reply

    def chat(self, messages, stream=False, max_tokens=None, temperature=0.0, stop=None, **kwargs):
        self.options.append({"max_tokens": max_tokens, "temperature": temperature, "stop": stop})
        words = self.answer.split()
        cut = words[:max_tokens] if max_tokens else words
        text = " ".join(cut)
        for s in stop or []:
            text = text.split(s)[0]

        class Stream:
            def __init__(self):
                self.usage = Usage(50, len(cut))
                self.finish_reason = "length" if max_tokens and len(words) > max_tokens else "stop"
                self._pieces = iter([w + " " for w in text.split()])

            def __iter__(self):
                return self

            def __next__(self):
                return next(self._pieces)

        return Stream()


@pytest.fixture
def me(client, signup):
    return signup("v1_me")


def _oa(client, user) -> openai.OpenAI:
    return openai.OpenAI(base_url=str(client.base_url) + "/v1", api_key=user.token, http_client=client,
                         max_retries=0)


def test_usage_and_generation_options_are_honoured(app, client, me):
    llm = CountingLLM([])  # no tool: the model answers in its own words
    app.state.llms["assistant"] = llm
    reply = _oa(client, me).chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "tell me a story"}],
        max_tokens=3, temperature=0.7, stop=["three"])
    assert llm.options[-1] == {"max_tokens": 3, "temperature": 0.7, "stop": ["three"]}
    assert reply.choices[0].finish_reason == "length"
    assert reply.choices[0].message.content.strip() == "one two"
    assert reply.usage.prompt_tokens == 150 and reply.usage.completion_tokens == 10
    assert reply.usage.total_tokens == 160


def test_streamed_usage_chunk_when_asked(app, client, me):
    app.state.llms["assistant"] = CountingLLM([], answer="One, two, three, four, five, six.")
    chunks = list(_oa(client, me).chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "hello"}], stream=True,
        stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.split() == "One, two, three, four, five, six.".split()
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 6  # clause by clause
    assert chunks[-1].usage.total_tokens == 163 and chunks[-1].choices == []


def test_a_long_clause_streams_word_groups(app, client, me):
    words = " ".join(f"word{i}" for i in range(40))
    app.state.llms["assistant"] = CountingLLM([], answer=words)
    chunks = list(_oa(client, me).chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "hello"}], stream=True))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(pieces).split() == words.split() and len(pieces) >= 4
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_tools_and_n_are_refused_clearly(app, client, me):
    app.state.llms["assistant"] = CountingLLM([])
    oa = _oa(client, me)
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError) as refused:
        oa.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "hi"}], tools=[tool])
    assert "tools" in str(refused.value)
    with pytest.raises(openai.BadRequestError):
        oa.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "hi"}], n=2)
    with pytest.raises(openai.BadRequestError):
        oa.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "hi"}],
                                   stop=["a", "b", "c", "d", "e"])


def test_one_client_conversation_is_one_stored_conversation(app, client, db, me):
    app.state.llms["assistant"] = CountingLLM(answer="Sure thing.")
    oa = _oa(client, me)
    messages = [{"role": "user", "content": "hello there"}]
    first = oa.chat.completions.create(model="assistant", messages=messages)
    messages += [{"role": "assistant", "content": first.choices[0].message.content},
                 {"role": "user", "content": "and again"}]
    second = oa.chat.completions.create(model="assistant", messages=messages)
    assert second.model_extra["townsquare"]["conversation_id"] == first.model_extra["townsquare"]["conversation_id"]
    # A different history (another client conversation) is a conversation of its own.
    other = oa.chat.completions.create(model="assistant", messages=[
        {"role": "user", "content": "something else"}, {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "more"}])
    assert other.model_extra["townsquare"]["conversation_id"] != first.model_extra["townsquare"]["conversation_id"]
    # Named explicitly.
    named = oa.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "third"}],
                                       extra_body={"conversation_id": first.model_extra["townsquare"]["conversation_id"]})
    assert named.model_extra["townsquare"]["conversation_id"] == first.model_extra["townsquare"]["conversation_id"]
    with db.session() as s:
        assert s.query(AssistantConversation).count() == 2


@pytest.mark.slow
def test_real_token_streaming_with_the_bundled_model(tmp_path):
    """A real server with the bundled model: a model-written answer arrives in many chunks, the first
    one shortly after the model wrote it, with usage counted."""
    from townsquare.bench import concurrency as cc
    from townsquare.bench.server import ServerProcess

    with cc.scratch_database("sqlite", "") as (url, data):
        people, _ = cc.seed_people(url, 2, posts_each=1)
        server = ServerProcess({"TOWNSQUARE_DATABASE_URL": url, "TOWNSQUARE_DATA_DIR": str(data),
                                "TOWNSQUARE_SECRET_KEY": "t"})
        server.start()
        try:
            oa = openai.OpenAI(base_url=server.base_url + "/v1", api_key=people[0].token, max_retries=0, timeout=300)
            started = time.perf_counter()
            arrivals, chunks = [], []
            for chunk in oa.chat.completions.create(
                    model="assistant", stream=True, max_tokens=40, stream_options={"include_usage": True},
                    # small talk: the model answers in its own words ("write a poem about ..." is a draft)
                    messages=[{"role": "user", "content": "tell me a story"}]):
                chunks.append(chunk)
                if chunk.choices and chunk.choices[0].delta.content:
                    arrivals.append(time.perf_counter() - started)
        finally:
            server.stop()
    assert len(arrivals) > 5, "the answer arrived in one piece"
    assert arrivals[-1] - arrivals[0] > 0.05  # spread over time, as the model wrote it
    final = [c for c in chunks if c.choices][-1]
    model_first_ms = final.model_extra["townsquare"]["timings"]["model_first_token_ms"]
    assert arrivals[0] * 1e3 - model_first_ms < 1000  # delivered within 1 s of the model's first token
    assert chunks[-1].usage.completion_tokens > 5 and chunks[-1].usage.prompt_tokens > 20
    assert final.choices[0].finish_reason in ("length", "stop")


def test_streams_do_not_hold_other_requests(app, client, me, signup):
    """While a stream is open, other people's requests are answered (the stream holds no lock)."""
    entered, release = threading.Event(), threading.Event()

    class SlowStream(CountingLLM):
        def chat(self, messages, stream=False, **kwargs):
            inner = super().chat(messages, stream=stream, **kwargs)

            def gen():
                entered.set()
                release.wait(10)
                yield from inner
            return gen()

    app.state.llms["assistant"] = SlowStream([])
    other = signup("v1_other")
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("chunks", list(_oa(client, me).chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "hi"}], stream=True))))
    t.start()
    try:
        assert entered.wait(10)
        assert client.post("/api/posts", json={"text": "meanwhile"}, headers=other.headers).status_code == 201
    finally:
        release.set()
        t.join(20)
    assert out["chunks"]
