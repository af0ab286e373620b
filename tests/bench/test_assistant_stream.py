"""The streaming bench's timing wrapper: it notes the model's first streamed piece and passes the
stream's own attributes through (the agent closes the stream and reads its usage)."""

from townsquare.bench.assistant_stream import FirstTokenLLM, StreamSample


class _Stream:
    usage = "u"

    def __init__(self, pieces):
        self.pieces, self.closed = iter(pieces), False

    def __iter__(self):
        return self.pieces

    def close(self):
        self.closed = True


class _Model:
    backend = "the backend"

    def chat(self, messages, stream=False, **kwargs):
        return _Stream(["", "Hel", "lo"]) if stream else "whole answer"


def test_first_token_llm_notes_the_first_non_empty_piece_and_passes_attributes():
    timed = FirstTokenLLM(_Model())
    assert timed.backend == "the backend"  # the agent decides on the model behind the wrapper
    assert timed.chat([], stream=False) == "whole answer" and timed.first_piece_at is None
    stream = timed.chat([], stream=True)
    pieces = iter(stream)
    assert next(pieces) == "" and timed.first_piece_at is None  # an empty piece is no token
    assert next(pieces) == "Hel" and timed.first_piece_at is not None
    noted = timed.first_piece_at
    assert next(pieces) == "lo" and timed.first_piece_at == noted
    stream.close()
    assert stream.stream.closed and stream.usage == "u"


def test_gap_is_client_minus_model_and_unknown_without_both():
    assert StreamSample("p", 0.5, 0.75, 1.0).gap_s == 0.25
    assert StreamSample("p", None, 0.75, 1.0).gap_s is None
