"""The assistant benchmark's task files: loading, validation, the frozen test half, slot filling."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest

from townsquare.assistant.tools import TOOLS
from townsquare.bench import assistant_tasks as at
from townsquare.bench.assistant_world import World, WorldError


def test_both_halves_load_and_cover_every_tool_language_and_kind():
    dev, test = at.load_split("dev"), at.load_split("test")
    assert len(dev) + len(test) >= 300 and abs(len(dev) - len(test)) <= 10
    assert not {t.id for t in dev} & {t.id for t in test}
    assert not {t.text for t in dev} & {t.text for t in test}
    for half in (dev, test):
        assert {t.lang for t in half} == set(at.LANGS)
        assert {t.kind for t in half} == set(at.KINDS)
        assert len({t.style for t in half}) == len(at.STYLES)
    tools = Counter(e.tool for t in dev + test for e in t.expect)
    assert set(tools) == set(TOOLS), set(TOOLS) - set(tools)
    english = [t for t in dev + test if t.lang == "en"]
    assert len(english) >= 250


def test_the_split_is_stratified_by_kind_and_language():
    dev, test = at.load_split("dev"), at.load_split("test")
    counts = Counter((t.kind, t.lang, "dev") for t in dev) + Counter((t.kind, t.lang, "test") for t in test)
    for kind in at.KINDS:
        for lang in at.LANGS:
            assert abs(counts[(kind, lang, "dev")] - counts[(kind, lang, "test")]) <= 1, (kind, lang)


def test_split_tasks_pairs_within_strata():
    tasks = [at.Task(id=f"t{i}", lang="en", kind="read", style=at.STYLES[i % 3], text=f"x{i}",
                     expect=[at.Expected("catch_me_up")]) for i in range(10)]
    tasks += [at.Task(id="n1", lang="es", kind="none", style="plain", text="hola", no_tools=True)]
    dev, test = at.split_tasks(tasks)
    assert len(dev) + len(test) == 11 and {t.id for t in dev} | {t.id for t in test} == {t.id for t in tasks}
    assert len([t for t in dev if t.kind == "read"]) == 5
    assert at.split_tasks(tasks) == (dev, test)  # the same seed gives the same halves


def test_the_test_half_is_checked_against_its_recorded_hash(tmp_path):
    for split in at.SPLITS:
        shutil.copy(at.split_path(split), tmp_path / at.split_path(split).name)
    assert at.sha256_of(at.split_path("test")) == at.TEST_SHA256
    assert len(at.load_split("test", tmp_path)) == len(at.load_split("test"))
    changed = tmp_path / "assistant_test.jsonl"
    changed.write_text(changed.read_text().replace("follow", "f0llow", 1))
    with pytest.raises(at.TaskFileError, match="changed"):
        at.load_split("test", tmp_path)
    at.load_split("dev", tmp_path)  # the dev half may change
    changed.unlink()
    with pytest.raises(at.TaskFileError, match="changed"):
        at.load_split("test", tmp_path)


def test_a_malformed_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "assistant_dev.jsonl"
    path.write_text(json.dumps({"id": "a", "lang": "en", "kind": "none", "style": "plain", "text": "hi",
                                "no_tools": True}) + "\n{not json\n")
    with pytest.raises(at.TaskFileError, match="assistant_dev.jsonl:2"):
        at.load_split("dev", tmp_path)


def _task(**kw) -> at.Task:
    row = {"id": "x", "lang": "en", "kind": "action", "style": "plain", "text": "follow @{person_not_followed.handle}",
           "expect": [{"tool": "follow", "confirm": True, "args": {"handle": {"equals": "{person_not_followed.handle}"}}}]}
    row.update(kw)
    return at.task_from_json(row)


@pytest.mark.parametrize("change, message", [
    ({"expect": [{"tool": "follow_person", "confirm": True}]}, "no tool"),
    ({"expect": [{"tool": "follow", "args": {"handle": {"equals": "x"}}}]}, "is a side effect"),
    ({"expect": [{"tool": "search_posts", "confirm": True}]}, "is not a side effect"),
    ({"expect": [{"tool": "follow", "confirm": True, "args": {"who": {"equals": "x"}}}]}, "no argument"),
    ({"expect": [{"tool": "follow", "confirm": True, "args": {"handle": {"like": "x"}}}]}, "must be one of"),
    ({"text": "follow {person_nobody.handle}"}, "unknown slot"),
    ({"text": "follow {person_not_followed.shoe_size}"}, "unknown slot"),
    ({"kind": "read"}, "do not fit kind"),
    ({"kind": "none"}, "do not fit kind"),
    ({"style": "shouting"}, "lang/kind/style"),
    ({"lang": "fr"}, "lang/kind/style"),
])
def test_validation_rejects_tasks_that_cannot_be_graded(change, message):
    at.validate(_task())
    with pytest.raises(at.TaskFileError, match=message):
        at.validate(_task(**change))


def test_unknown_fields_are_refused():
    with pytest.raises(at.TaskFileError, match="unknown fields"):
        _task(expected=[])


def _world() -> World:
    people = [{"handle": f"p{i}", "name": f"Person {i}", "first": "Person", "last": str(i)} for i in range(5)]
    return World(1, {"person_not_followed": people, "post_public": [{"id": "42", "id_bn": "৪২"}],
                     "topic": [{"": "jazz", "stem": "jazz", "es": "jazz", "bn": "জ্যাজ"}]})


def test_slots_are_filled_in_text_and_checks_consistently():
    world = _world()
    task = at.task_from_json({
        "id": "m1", "lang": "en", "kind": "multi", "style": "by_name",
        "text": "follow {person_not_followed.name} and {person_not_followed_2.name}, then {topic} post {post_public.id}",
        "expect": [{"tool": "follow", "confirm": True, "args": {"handle": {"equals": "{person_not_followed.handle}"}}},
                   {"tool": "follow", "confirm": True,
                    "args": {"handle": {"one_of": ["{person_not_followed_2.handle}", "x"]}}}]})
    filled = world.fill(task)
    first, second = world.pick("m1", "person_not_followed"), world.pick("m1", "person_not_followed_2")
    assert first != second
    assert filled.text == f"follow {first['name']} and {second['name']}, then jazz post 42"
    assert filled.expect[0].args["handle"] == {"equals": first["handle"]}
    assert filled.expect[1].args["handle"] == {"one_of": [second["handle"], "x"]}
    assert world.fill(task) == filled and task.text.startswith("follow {")  # deterministic, original untouched
    assert world.fill_text("b", "পোস্ট {post_public.id_bn}") == "পোস্ট ৪২"


def test_tasks_spread_over_the_pool_and_a_short_pool_is_a_clear_error():
    world = _world()
    picked = {world.pick(f"t{i}", "person_not_followed")["handle"] for i in range(40)}
    assert len(picked) >= 4
    with pytest.raises(WorldError, match="--people"):
        world.pick("t", "post_public_2")
