"""Registry: versions are written atomically, only checked versions become active, the previous
active model survives any failure, and incompatible checkpoints give a clear error."""

from __future__ import annotations

import json

import pytest

from townsquare.errors import NotFound
from townsquare.rec import registry
from townsquare.rec.features import FeatureSpace
from townsquare.rec.pipeline import model_config

from .community import tiny_train_config


def _model():
    from townsquare.rec.model import UnifiedModel

    space = FeatureSpace(post_ids=[1, 2, 3], account_ids=[7], author_ids=[7], origin=0.0, text_dim=16)
    return UnifiedModel(model_config(space, tiny_train_config())), space


def _save(root, metrics=None):
    model, space = _model()
    return registry.save_version(root, model, space, {"metrics": {"model": metrics or {"auc_mean": 0.7}}})


def test_save_activate_load_and_list(tmp_path):
    root = tmp_path / "models" / "rec"
    v1 = _save(root)
    assert registry.active_version(root) is None  # saving never activates
    registry.activate(root, v1)
    loaded = registry.load_active(root)
    assert loaded.version == v1 and loaded.space.n_ids == 4
    v2 = _save(root)
    assert v2 != v1
    rows = registry.list_models(root)
    assert [r["version"] for r in rows] == [v2, v1]
    assert [r["active"] for r in rows] == [False, True]
    assert all(r["status"] == "ok" for r in rows)
    assert not list(root.glob(".tmp-*"))


def test_failed_save_leaves_nothing_and_the_active_model_stays(tmp_path, monkeypatch):
    root = tmp_path / "rec"
    v1 = _save(root)
    registry.activate(root, v1)
    import townsquare.rec.train as train

    def broken(path, model, extra=None):
        path.write_bytes(b"half a checkpoint")
        raise KeyboardInterrupt  # Ctrl-C in the middle of writing

    monkeypatch.setattr(train, "save_checkpoint", broken)
    with pytest.raises(KeyboardInterrupt):
        _save(root)
    assert [r["version"] for r in registry.list_models(root)] == [v1]
    assert not any(p.name.startswith(".tmp-") for p in root.iterdir())
    assert registry.load_active(root).version == v1


def test_incomplete_or_incompatible_checkpoints_never_become_active(tmp_path):
    root = tmp_path / "rec"
    v1 = _save(root)
    registry.activate(root, v1)
    # An older format.
    v_old = _save(root)
    mf = root / v_old / registry.MANIFEST_FILE
    manifest = json.loads(mf.read_text())
    manifest["format"] = "townsquare.rec.app/0"
    mf.write_text(json.dumps(manifest))
    with pytest.raises(registry.IncompatibleModel, match="format .* retrain"):
        registry.activate(root, v_old)
    # Other heads (an older model config).
    v_heads = _save(root)
    mf = root / v_heads / registry.MANIFEST_FILE
    manifest = json.loads(mf.read_text())
    manifest["config"]["heads"] = ["open", "like", "hide_report"]
    mf.write_text(json.dumps(manifest))
    with pytest.raises(registry.IncompatibleModel, match="heads"):
        registry.activate(root, v_heads)
    # Broken weights.
    v_broken = _save(root)
    (root / v_broken / registry.MODEL_FILE).write_bytes(b"garbage")
    with pytest.raises(registry.IncompatibleModel, match="does not load"):
        registry.activate(root, v_broken)
    # Missing weights (incomplete).
    v_missing = _save(root)
    (root / v_missing / registry.MODEL_FILE).unlink()
    with pytest.raises(registry.IncompatibleModel, match="incomplete"):
        registry.activate(root, v_missing)
    with pytest.raises(NotFound):
        registry.activate(root, "no-such-version")
    with pytest.raises(NotFound):
        registry.activate(root, "../../etc")
    assert registry.active_version(root) == v1
    assert registry.load_active(root).version == v1
    statuses = {r["version"]: r["status"] for r in registry.list_models(root)}
    assert statuses[v1] == "ok" and statuses[v_old].startswith("incompatible")
    assert statuses[v_heads].startswith("incompatible") and statuses[v_missing].startswith("incompatible")


def test_no_active_model_is_not_found(tmp_path):
    with pytest.raises(NotFound, match="townsquare train"):
        registry.load_active(tmp_path / "rec")


def test_warm_start_copies_rows_by_entity():
    import torch

    from townsquare.rec.model import UnifiedModel
    from townsquare.rec.pipeline import warm_start

    old_model, old_space = _model()
    new_space = FeatureSpace(post_ids=[2, 3, 4], account_ids=[7, 8], author_ids=[7, 8], origin=0.0, text_dim=16)
    new_model = UnifiedModel(model_config(new_space, tiny_train_config()))
    assert warm_start(new_model, old_model, old_space, new_space) > 0
    old_w, new_w = old_model.entity.id_emb.weight, new_model.entity.id_emb.weight
    assert torch.equal(new_w[new_space.id_index("post", 3)], old_w[old_space.id_index("post", 3)])
    assert torch.equal(new_w[new_space.id_index("account", 7)], old_w[old_space.id_index("account", 7)])
    assert not torch.equal(new_w[new_space.id_index("post", 4)], old_w[old_space.id_index("post", 3)])
    assert torch.equal(new_model.blocks[0].qkv.weight, old_model.blocks[0].qkv.weight)
