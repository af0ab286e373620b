"""The remote backend against a real OpenAI-compatible server (llama_cpp.server serving the bundled
model on loopback), plus servers that hang, fail or talk garbage."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from jsonschema import Draft202012Validator

from townsquare.config import load_settings
from townsquare.errors import InvalidInput, Unavailable
from townsquare.llm.embedded import bundled_model_path
from townsquare.llm.remote import RemoteLLM
from townsquare.llm.runtime import LLM

HELLO = [{"role": "user", "content": "Say hello."}]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server_url():
    port = _free_port()
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_model_path()), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "1024", "--n_threads", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not start")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _llm(url: str, **overrides) -> LLM:
    settings = load_settings(env={}, llm_backend="remote", llm_base_url=url, llm_timeout_s=60.0,
                             llm_max_tokens=16, **overrides)
    return LLM(RemoteLLM(url, timeout_s=settings.llm_timeout_s, max_retries=1, backoff_s=0.05), settings)


@pytest.mark.slow
def test_real_server_chat_stream_json_and_tools(server_url):
    llm = _llm(server_url, llm_tool_mode="prompt")
    result = llm.chat(HELLO, max_tokens=8)
    assert result.text and result.usage.completion_tokens <= 8
    pieces = list(llm.chat(HELLO, max_tokens=8, stream=True))
    assert len(pieces) >= 2 and "".join(pieces).strip()
    schema = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
              "required": ["name", "age"]}
    value = llm.complete_json([{"role": "user", "content": "A person as JSON"}], schema, max_tokens=48)
    Draft202012Validator(schema).validate(value)
    assert llm.backend.json_schema_mode == "json_object"  # this server lacks json_schema: fallback learned
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city.",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    result = llm.chat_with_tools([{"role": "user", "content": "What's the weather in Madrid?"}], tools)
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", {"city": "Madrid"})]


@pytest.mark.slow
def test_real_server_that_ignores_tools_is_detected_once(server_url):
    # llama_cpp.server takes `tools` and answers in text: tool mode "auto" must notice and use our layer.
    llm = _llm(server_url)  # llm_tool_mode="auto"
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city.",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    result = llm.chat_with_tools([{"role": "user", "content": "What's the weather in Madrid?"}], tools)
    assert llm.backend.native_tools is False
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", {"city": "Madrid"})]


@pytest.mark.slow
def test_real_server_rejects_prompts_over_its_context(server_url):
    llm = _llm(server_url)
    with pytest.raises(InvalidInput):
        llm.chat([{"role": "user", "content": "word " * 3000}], max_tokens=8)
    assert llm.chat(HELLO, max_tokens=2).text  # the server and the client are still fine


@pytest.fixture()
def hanging_server():
    """A socket that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    sock.close()


@pytest.mark.parametrize("stream", [False, True])
def test_hanging_server_times_out_clearly(hanging_server, stream):
    client = RemoteLLM(hanging_server, timeout_s=1.0, max_retries=2, backoff_s=0.05)
    start = time.monotonic()
    with pytest.raises(Unavailable, match="did not answer within"):
        result = client.chat(HELLO, max_tokens=4, stream=stream)
        if stream:
            list(result)
    assert time.monotonic() - start < 5


class _Scripted(BaseHTTPRequestHandler):
    replies: list[tuple[int, bytes]] = []
    calls = 0

    def do_POST(self):  # noqa: N802
        cls = type(self)
        cls.bodies = [*getattr(cls, "bodies", []), self.rfile.read(int(self.headers.get("Content-Length", 0)))]
        status, body = cls.replies[min(cls.calls, len(cls.replies) - 1)]
        cls.calls += 1
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def scripted():
    servers = []

    def start(replies):
        handler = type("Handler", (_Scripted,), {"replies": replies, "calls": 0})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/v1", handler

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


OK_BODY = json.dumps({"choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}).encode()


def test_garbage_answers_are_unavailable(scripted):
    for body in [b"<html>proxy error</html>", b"[1, 2]", b'{"choices": []}',
                 json.dumps({"choices": [{"message": {"tool_calls": [{"function": {"name": "f", "arguments": "{oops"}}]}}]}).encode()]:
        url, _ = scripted([(200, body)])
        with pytest.raises(Unavailable):
            RemoteLLM(url, timeout_s=2.0, max_retries=0).chat(HELLO)


def test_server_errors_are_retried_with_backoff(scripted):
    url, handler = scripted([(503, b'{"error": {"message": "loading"}}'), (502, b"bad gateway"), (200, OK_BODY)])
    assert RemoteLLM(url, timeout_s=2.0, max_retries=2, backoff_s=0.01).chat(HELLO).text == "hi"
    assert handler.calls == 3
    url, handler = scripted([(500, b'{"error": {"message": "boom"}}')])
    with pytest.raises(Unavailable, match="boom"):
        RemoteLLM(url, timeout_s=2.0, max_retries=1, backoff_s=0.01).chat(HELLO)
    assert handler.calls == 2
    url, handler = scripted([(400, b'{"error": {"message": "too long"}}')])
    with pytest.raises(InvalidInput, match="too long"):
        RemoteLLM(url, timeout_s=2.0, max_retries=3, backoff_s=0.01).chat(HELLO)
    assert handler.calls == 1  # the request's own fault is not retried


def test_native_tool_calls_naming_unknown_tools_are_rejected(scripted):
    reply = {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "rm_rf", "arguments": "{}"}}]}, "finish_reason": "tool_calls"}]}
    url, _ = scripted([(200, json.dumps(reply).encode())])
    llm = _llm(url, llm_tool_mode="native")
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]
    with pytest.raises(InvalidInput, match="does not exist"):
        llm.chat_with_tools(HELLO, tools)


def test_native_tool_calls_written_as_text_are_parsed(scripted):
    reply = {"choices": [{"message": {"role": "assistant",
             "content": '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'}}]}
    url, _ = scripted([(200, json.dumps(reply).encode())])
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    result = _llm(url).chat_with_tools(HELLO, tools)
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", {"city": "Oslo"})]


def test_native_tools_pass_parallel_tool_calls_and_return_every_call(scripted):
    calls = [{"id": f"c{i}", "type": "function", "function": {"name": "follow", "arguments": json.dumps({"handle": h})}}
             for i, h in enumerate(["@ana", "@ben"])]
    reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": calls},
                                     "finish_reason": "tool_calls"}]}).encode()
    url, handler = scripted([(200, reply), (200, reply)])
    llm = _llm(url, llm_tool_mode="native")
    tools = [{"type": "function", "function": {"name": "follow", "parameters": {
        "type": "object", "properties": {"handle": {"type": "string"}}, "required": ["handle"]}}}]
    result = llm.chat_with_tools([{"role": "user", "content": "follow @ana and @ben"}], tools)
    assert [c.arguments["handle"] for c in result.tool_calls] == ["@ana", "@ben"]
    assert json.loads(handler.bodies[0])["parallel_tool_calls"] is True
    result = llm.chat_with_tools([{"role": "user", "content": "follow @ana and @ben"}], tools, parallel_tool_calls=False)
    assert json.loads(handler.bodies[1])["parallel_tool_calls"] is False
    assert len(result.tool_calls) == 1  # a server that sends several anyway: the first only


def _reply(content: str) -> tuple[int, bytes]:
    return 200, json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()


def test_servers_that_ignore_tools_get_our_layer_after_one_probe(scripted):
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    # 1st: the probe, answered in text (tools ignored); then our layer's grammar-constrained requests.
    url, handler = scripted([_reply("Pong!"), _reply('{"city": "Oslo"}'), _reply('{"city": "Rome"}')])
    llm = _llm(url)
    result = llm.chat_with_tools(HELLO, tools, tool_choice="get_weather")
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", {"city": "Oslo"})]
    assert llm.backend.native_tools is False and handler.calls == 2
    llm.chat_with_tools(HELLO, tools, tool_choice="get_weather")
    assert handler.calls == 3  # no second probe for this server


def test_a_required_call_that_does_not_come_switches_to_our_layer(scripted):
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    probe_ok = json.dumps({"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "ping", "arguments": "{}"}}]}}]}).encode()
    url, handler = scripted([(200, probe_ok), _reply("It is sunny."), _reply('{"city": "Oslo"}')])
    llm = _llm(url)
    result = llm.chat_with_tools(HELLO, tools, tool_choice="get_weather")
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", {"city": "Oslo"})]
    assert llm.backend.native_tools is False and handler.calls == 3


def test_unreachable_server_is_unavailable():
    with pytest.raises(Unavailable, match="cannot reach"):
        RemoteLLM(f"http://127.0.0.1:{_free_port()}/v1", timeout_s=1.0, max_retries=1, backoff_s=0.01).chat(HELLO)
    with pytest.raises(InvalidInput):
        RemoteLLM("ftp://example", timeout_s=1.0)
