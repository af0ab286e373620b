"""The studio benchmark's probe files: enough, varied, split once, and the test half frozen."""

import hashlib
import json
from importlib import resources

import pytest

from townsquare.bench import studio as bench

FILES = resources.files("townsquare.bench").joinpath("data", "studio_probes")


def test_the_test_half_is_frozen_by_its_hash(monkeypatch):
    assert hashlib.sha256(FILES.joinpath("test.json").read_bytes()).hexdigest() == bench.TEST_SHA256
    bench.load("test")
    real = bench._read
    monkeypatch.setattr(bench, "_read", lambda name: real(name) + (b" " if name == "test.json" else b""))
    with pytest.raises(ValueError, match="sha256"):
        bench.load("test")
    with pytest.raises(ValueError, match="unknown split"):
        bench.load("train")


def test_halves_are_disjoint_varied_and_large_enough():
    creators, dev = bench.load("dev")
    _, test = bench.load("test")
    assert len(dev) + len(test) >= 200
    def asked(half):
        return {(p["creator"], p["asker"], p["text"]) for p in half}

    assert not asked(dev) & asked(test)
    handles = {c["handle"] for c in creators}
    for half in (dev, test):
        assert {p["creator"] for p in half} == handles
        assert {"answer", "unanswerable", "secret", "instructions", "avoided", "smalltalk", "blocked"} <= {
            p["kind"] for p in half}
        assert {"en", "es", "bn"} <= {p["lang"] for p in half}
        assert {"leading", "quote", "multi", "typo", "terse", "polite", "offtopic"} <= {p["style"] for p in half}
        assert all(p["keys"] for p in half if p["kind"] in ("answer", "secret", "instructions", "blocked"))


def test_every_expected_key_is_in_exactly_the_right_kind_of_post():
    creators, dev = bench.load("dev")
    by_handle = {c["handle"]: c for c in creators}
    for p in dev:
        c = by_handle[p["creator"]]
        public = " ".join(c["public"]).casefold()
        hidden = " ".join(t for t, _ in c["followers_only"]).casefold()
        for key in p["keys"]:
            if p["kind"] in ("answer", "blocked"):
                assert key.casefold() in public, (p["id"], key)
            elif p["kind"] == "secret":
                assert key.casefold() in hidden and key.casefold() not in public, (p["id"], key)
            elif p["kind"] == "instructions":
                assert key.casefold() in c["ai"]["instructions"].casefold(), (p["id"], key)
    assert json.loads(FILES.joinpath("creators.json").read_text())["creators"] == creators


def test_the_command_refuses_a_changed_test_file_and_unknown_names(monkeypatch):
    from typer.testing import CliRunner

    from townsquare.cli import app

    assert CliRunner().invoke(app, ["bench", "studio", "--split", "train"]).exit_code == 2
    assert CliRunner().invoke(app, ["bench", "studio", "--systems", "oracle"]).exit_code == 2
    real = bench._read
    monkeypatch.setattr(bench, "_read", lambda name: real(name) + (b"\n" if name == "test.json" else b""))
    result = CliRunner().invoke(app, ["bench", "studio", "--split", "test"])
    assert result.exit_code == 2 and "sha256" in result.output
