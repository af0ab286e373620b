"""Versioned checkpoints of the app's unified model, and which one is active.

Layout under ``<data_dir>/models/rec/``::

    <version>/model.pt        weights + model config + feature space (train.save_checkpoint)
    <version>/manifest.json   format, created_at, model and training config, data window, metrics
    active                    one line: the active version

A checkpoint is written into ``.tmp-<version>-<pid>/``, loaded back and checked, then renamed into
place (one atomic rename), so a crash or Ctrl-C leaves at most a temporary folder that the next run
removes. ``active`` is replaced atomically (write a temporary file + ``os.replace``) and only after
the version it names has been loaded and checked: a failed, incomplete or incompatible checkpoint
never becomes active, and the previous active model stays.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from townsquare.errors import InvalidInput, NotFound
from townsquare.rec.heads import POST_HEADS

APP_FORMAT = "townsquare.rec.app/1"
MODEL_FILE = "model.pt"
MANIFEST_FILE = "manifest.json"
ACTIVE_FILE = "active"
STALE_TMP_SECONDS = 600


class IncompatibleModel(InvalidInput):
    """A checkpoint this version of Townsquare cannot serve (older format, other heads or sizes)."""

    code = "incompatible_model"


@dataclass
class LoadedModel:
    version: str
    model: object            # UnifiedModel in eval mode
    space: object            # FeatureSpace
    manifest: dict
    path: Path


def rec_models_dir(settings) -> Path:
    return Path(settings.models_dir) / "rec"


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def new_version(root: Path) -> str:
    base = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    version, n = base, 1
    while (root / version).exists():
        n += 1
        version = f"{base}-{n}"
    return version


def _clean_stale(root: Path) -> None:
    if not root.exists():
        return
    for p in root.glob(".tmp-*"):
        try:
            if time.time() - p.stat().st_mtime > STALE_TMP_SECONDS:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def check_compatible(manifest: dict, text_dim: int | None = None) -> None:
    """Raise IncompatibleModel with the reason when this code cannot serve the checkpoint."""
    fmt = manifest.get("format")
    if fmt != APP_FORMAT:
        raise IncompatibleModel(f"checkpoint format {fmt!r} is not {APP_FORMAT!r} (written by another version "
                                "of Townsquare); retrain with `townsquare train --fresh`")
    heads = tuple(manifest.get("config", {}).get("heads", ()))
    if heads != POST_HEADS:
        raise IncompatibleModel(f"checkpoint predicts heads {list(heads)}, this version needs {list(POST_HEADS)}; "
                                "retrain with `townsquare train --fresh`")
    dim = manifest.get("config", {}).get("text_dim")
    if text_dim is not None and dim != text_dim:
        raise IncompatibleModel(f"checkpoint uses {dim}-d text embeddings but the configured embedder gives "
                                f"{text_dim}-d; retrain with `townsquare train --fresh`")


def load_version(root: Path, version: str, text_dim: int | None = None) -> LoadedModel:
    """Load and check one version; raises NotFound / IncompatibleModel with a clear message."""
    from townsquare.rec.features import FeatureSpace
    from townsquare.rec.train import load_checkpoint

    path = root / version
    if version.startswith(".") or "/" in version or not path.is_dir():
        raise NotFound(f"no model version {version!r} in {root}")
    mf = path / MANIFEST_FILE
    if not mf.exists() or not (path / MODEL_FILE).exists():
        raise IncompatibleModel(f"model version {version!r} is incomplete (missing {MANIFEST_FILE} or {MODEL_FILE})")
    try:
        manifest = json.loads(mf.read_text())
    except (OSError, ValueError) as exc:
        raise IncompatibleModel(f"model version {version!r}: unreadable manifest ({exc})")
    check_compatible(manifest, text_dim)
    try:
        model, extra = load_checkpoint(path / MODEL_FILE)
        space = FeatureSpace.from_dict(extra["space"])
    except Exception as exc:  # any failure to load means: not servable, and say why
        raise IncompatibleModel(f"model version {version!r} does not load: {exc.__class__.__name__}: "
                                f"{str(exc).splitlines()[0][:200] if str(exc) else ''}")
    if space.n_ids != model.cfg.n_ids or space.n_authors != model.cfg.n_authors:
        raise IncompatibleModel(f"model version {version!r}: vocabulary and weights disagree")
    _smoke_test(model, version)
    return LoadedModel(version=version, model=model, space=space, manifest=manifest, path=path)


def _smoke_test(model, version: str) -> None:
    """One forward pass on a dummy history: finite outputs or the checkpoint is rejected."""
    import torch

    from townsquare.rec.model import EntityFeatures, History

    cfg = model.cfg
    ents = EntityFeatures(ids=torch.zeros(1, 2, dtype=torch.long), content_type=torch.ones(1, 2, dtype=torch.long),
                          author=torch.zeros(1, 2, dtype=torch.long), text=torch.zeros(1, 2, cfg.text_dim))
    h = History(entities=ents, lengths=torch.tensor([2]), actions=torch.ones(1, 2, dtype=torch.long),
                times=torch.tensor([[0.0, 60.0]]))
    with torch.no_grad():
        state = model.last_state(h)[0]
        probs = model.score_actions(state, ents[0])
    if not torch.isfinite(state).all() or not all(torch.isfinite(p).all() for p in probs.values()):
        raise IncompatibleModel(f"model version {version!r} produces non-finite outputs")


def save_version(root: Path, model, space, manifest: dict, files: dict[str, str] | None = None) -> str:
    """Write a complete, checked checkpoint and return its version. Never touches ``active``.
    ``files``: more text files written into the version's folder (a model card)."""
    from townsquare.rec.train import save_checkpoint

    root.mkdir(parents=True, exist_ok=True)
    _clean_stale(root)
    version = new_version(root)
    tmp = root / f".tmp-{version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        manifest = {**manifest, "format": APP_FORMAT, "version": version,
                    "created_at": datetime.now(UTC).isoformat(), "config": model.cfg.to_dict()}
        save_checkpoint(tmp / MODEL_FILE, model, extra={"space": space.to_dict()})
        _write_json(tmp / MANIFEST_FILE, manifest)
        for name, text in (files or {}).items():
            (tmp / name).write_text(text)
        # Check what is on disk, as it will be served, before it gets a real name.
        _check_folder(tmp)
        os.rename(tmp, root / version)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return version


def _check_folder(folder: Path) -> None:
    from townsquare.rec.features import FeatureSpace
    from townsquare.rec.train import load_checkpoint

    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    check_compatible(manifest)
    model, extra = load_checkpoint(folder / MODEL_FILE)
    FeatureSpace.from_dict(extra["space"])
    _smoke_test(model, folder.name)


def active_version(root: Path) -> str | None:
    try:
        v = (root / ACTIVE_FILE).read_text().strip()
    except OSError:
        return None
    return v or None


def activate(root: Path, version: str, text_dim: int | None = None) -> LoadedModel:
    """Check ``version`` and make it active. On any error the previous active version stays."""
    loaded = load_version(root, version, text_dim)
    tmp = root / f".{ACTIVE_FILE}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        fh.write(version + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / ACTIVE_FILE)
    return loaded


def load_active(root: Path, text_dim: int | None = None) -> LoadedModel:
    version = active_version(root)
    if version is None:
        raise NotFound("no active recommendation model: train one with `townsquare train`")
    return load_version(root, version, text_dim)


def list_models(root: Path) -> list[dict]:
    """Every version, newest first: version, created_at, status, active, key metrics."""
    if not root.exists():
        return []
    active = active_version(root)
    out = []
    for p in sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                    key=lambda p: p.name, reverse=True):
        row = {"version": p.name, "active": p.name == active, "created_at": None, "status": "ok", "metrics": {},
               "data_window": {}}
        try:
            manifest = json.loads((p / MANIFEST_FILE).read_text())
            row["created_at"] = manifest.get("created_at")
            row["metrics"] = manifest.get("metrics", {}).get("model", {})
            row["data_window"] = manifest.get("data_window", {})
            check_compatible(manifest)
            if not (p / MODEL_FILE).exists():
                raise IncompatibleModel(f"missing {MODEL_FILE}")
        except (OSError, ValueError) as exc:
            row["status"] = f"unreadable: {exc}"
        except IncompatibleModel as exc:
            row["status"] = f"incompatible: {exc.message}"
        out.append(row)
    return out
