"""The two ``townsquare distill rec`` runs, end to end.

* ``distill_app``: the app. The teacher is a version of the model registry (default: the active
  one); the student reads the same feature space (ids, authors, text embeddings, context) with a
  smaller encoder. It trains on the event log's train prefix, is evaluated with its teacher on the
  held-out tail, and is saved as a new registry version (not activated unless asked) whose manifest
  names the teacher and holds both models' metrics, with MODEL_CARD.md beside it.
* ``distill_file``: a public id file (``user item`` lines). The teacher is a checkpoint file (e.g. the
  one ``bench distill`` keeps) or is trained first; the student goes to ``<out>/<name>/``.

Both write into a temporary folder and rename it into place: an error leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path

import torch

from townsquare.distill.card import model_card
from townsquare.distill.rec import (
    EpochCheckpoint,
    KDConfig,
    check_student,
    distill_event_loss,
    id_config,
    id_scorer,
    n_params,
    train_ids,
)
from townsquare.errors import InvalidInput, NotFound

# Architecture fields a student may change; the rest (feature space, time buckets...) is the teacher's.
STUDENT_FIELDS = ("d_model", "n_layers", "n_heads", "max_len")


def _key(d: dict) -> str:
    return hashlib.sha1(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# The app's event log -> the model registry.

def distill_app(settings, db, *, teacher: str | None, student: dict, schedule: dict, kd: KDConfig,
                activate: bool = False, compare: bool = False, embed=None, dim: int | None = None,
                progress: bool = True, log_fn: Callable[[str], None] | None = None) -> dict:
    """Distill registry version ``teacher`` (None: the active one) into a student with the
    architecture ``student`` (fields of STUDENT_FIELDS) and training ``schedule`` (epochs,
    max_minutes, seed, threads...). ``compare``: also train the same student without the teacher,
    for the card's "before". Returns a summary dict (version, metrics, fit)."""
    from townsquare.rec import registry
    from townsquare.rec.features import EncodedLog
    from townsquare.rec.pipeline import AppTrainConfig, default_embedder, embedding_cache, evaluate_on_test
    from townsquare.rec.training_data import build_log_data

    root = registry.rec_models_dir(settings)
    version = teacher or registry.active_version(root)
    if version is None:
        raise NotFound("no teacher: there is no active recommendation model; train one with `townsquare train` "
                       "or pass --teacher VERSION")
    if embed is None:
        embed, dim = default_embedder(settings)
    t = registry.load_version(root, version, dim)  # NotFound / IncompatibleModel with the reason
    allowed = {f.name for f in fields(AppTrainConfig)}
    bad = [k for k in student if k not in STUDENT_FIELDS] + [k for k in schedule if k not in allowed]
    if bad:
        raise InvalidInput(f"unknown student setting(s): {', '.join(bad)}")
    base = {k: v for k, v in (t.manifest.get("train_config") or {}).items() if k in allowed}
    stc = AppTrainConfig(**{**base, **schedule, **student})
    if stc.max_len <= t.space.graph_tokens:
        raise InvalidInput(f"the student's max_len ({stc.max_len}) must be larger than the teacher's "
                           f"{t.space.graph_tokens} graph tokens")
    torch.set_num_threads(max(1, stc.threads))
    with db.session() as session:
        data = build_log_data(session, valid_frac=stc.valid_frac, test_frac=stc.test_frac, progress=progress)
    log = EncodedLog.build(data, t.space, embedding_cache(settings, dim), embed, progress=progress)
    if log_fn:
        w = data.window
        log_fn(f"event log: {w.n_events} events, {w.n_people} people; teacher {version} "
               f"({n_params(t.model):,} parameters)")
    runs = {"distilled": _train_app_student(log, stc, t.model, kd, settings, version, log_fn)}
    if compare:
        runs["student"] = _train_app_student(log, stc, None, kd, settings, version, log_fn)
    teacher_rows = evaluate_on_test(t.model, log, t.model.cfg.max_len)
    metrics = {"teacher": teacher_rows[0]["metrics"]}
    if compare:
        metrics["student (no teacher)"] = evaluate_on_test(runs["student"][0], log, stc.max_len)[0]["metrics"]
    student_rows = evaluate_on_test(runs["distilled"][0], log, stc.max_len)
    metrics["student (distilled)"] = student_rows[0]["metrics"]
    model, res = runs["distilled"]
    fit_info = {"epochs": res.epochs, "best_epoch": res.best_epoch, "stopped": res.stopped,
                "seconds": round(res.seconds, 1), "best_valid_score": res.best_score}
    distillation = {"teacher": version, "teacher_params": n_params(t.model), "student_params": n_params(model),
                    "kd": asdict(kd), "metrics": metrics}
    manifest = {"train_config": asdict(stc), "data_window": data.window.to_dict(),
                "metrics": {"model": student_rows[0]["metrics"],
                            "baselines": {r["name"]: r["metrics"] for r in student_rows[1:]}},
                "fit": fit_info, "distillation": distillation,
                "embeddings": {"backend": settings.embeddings_backend, "model": settings.embeddings_model,
                               "dim": t.space.text_dim}}
    card = model_card(
        title="Distilled feed ranker (Townsquare unified model, student)",
        summary="A small unified model distilled from a larger one on this community's event log; it predicts "
                "the same retrieval scores and action heads and serves the feed in the teacher's place.",
        model={"architecture": f"d_model {stc.d_model}, {stc.n_layers} layer(s), {stc.n_heads} head(s), "
                               f"history {stc.max_len}", "parameters": n_params(model),
               "heads": list(model.cfg.heads)},
        data={"source": "this instance's event log", **data.window.to_dict()},
        training={**fit_info, "loss": "true events (sampled softmax + head BCE) + retrieval KL on the teacher's "
                  f"softened scores (T={kd.temperature}, weight {kd.retrieval_weight}) + head probability "
                  f"matching (weight {kd.head_weight})", "device": "cpu",
                  "threads": stc.threads},
        teacher={"version": version, "parameters": n_params(t.model),
                 "architecture": f"d_model {t.model.cfg.d_model}, {t.model.cfg.n_layers} layer(s), "
                                 f"history {t.model.cfg.max_len}"},
        metrics=metrics,
        usage="`townsquare models activate VERSION` serves it in the feed.",
        notes=["Metrics are on the held-out test tail of the log (AUC per head, recall@50 of retrieval).",
               "A teacher saved by `townsquare train` was refit on the whole log, test tail included: its "
               "row is optimistic; the student never saw the tail."])
    new = registry.save_version(root, model, t.space, manifest, files={"MODEL_CARD.md": card})
    activated, reason = False, ""
    if activate:
        try:
            registry.activate(root, new, t.space.text_dim)
            activated = True
        except InvalidInput as exc:
            reason = exc.message
    return {"version": new, "teacher": version, "activated": activated, "reason": reason, "metrics": metrics,
            "fit": fit_info, "path": str(root / new)}


def _train_app_student(log, stc, teacher, kd: KDConfig, settings, teacher_version: str,
                       log_fn: Callable[[str], None] | None):
    """Train one student on the log's train prefix (with ``teacher``'s KD, or plain when None)."""
    from townsquare.rec.app_metrics import SplitCases, evaluate_model, validation_score
    from townsquare.rec.features import make_batch
    from townsquare.rec.model import UnifiedModel
    from townsquare.rec.pipeline import model_config, train_windows
    from townsquare.rec.train import TrainConfig, event_batch_loss, fit

    torch.manual_seed(stc.seed)
    model = UnifiedModel(model_config(log.space, stc))
    if teacher is not None:
        check_student(teacher.cfg, model.cfg, n_params(teacher), n_params(model))
    items = train_windows(log, stc.max_len)
    if not items:
        raise InvalidInput("no person has two or more interactions before the validation cut: nothing to learn")
    label = "distilled student" if teacher is not None else "student (no teacher)"
    key = {"teacher": teacher_version if teacher is not None else None, "config": model.cfg.to_dict(),
           "train": asdict(stc), "kd": asdict(kd), "window": log.data.window.to_dict()}
    ckpt = EpochCheckpoint(Path(settings.data_dir) / "distill" / "rec" / f"{_key(key)}.epoch.pt", key)
    done = ckpt.load(model)
    if done and log_fn:
        log_fn(f"{label}: resuming after epoch {done}")
    batch_size = max(4, min(stc.batch_size, len(items) // stc.min_steps))
    rng = random.Random(stc.seed + done)
    valid = SplitCases(log, "valid", stc.max_len)
    epochs = [done]

    def batches(_epoch: int):
        order = list(items)
        rng.shuffle(order)
        for i in range(0, len(order), batch_size):
            yield make_batch(log, order[i:i + batch_size])

    def loss_fn(batch):
        if teacher is None:
            return event_batch_loss(model, batch, stc.negatives, stc.action_weight)[0]
        return distill_event_loss(model, teacher, batch, stc.negatives, stc.action_weight, kd)[0]

    def validate() -> float:
        epochs[0] += 1
        ckpt.save(model, epochs[0])
        return validation_score(evaluate_model(model, valid))

    steps = math.ceil(len(items) / batch_size)
    tc = TrainConfig(epochs=max(1, stc.epochs - done), max_minutes=stc.max_minutes, patience=stc.patience,
                     batch_size=batch_size, lr=stc.lr, warmup_steps=min(100, steps), seed=stc.seed)
    res = fit(model, batches, loss_fn, validate, tc, label=label, log=log_fn)
    model.eval()
    ckpt.clear()
    return model, res


# ---------------------------------------------------------------------------------------------
# A public id file -> a checkpoint folder.

def distill_file(data_path: Path, out_dir: Path, *, teacher_path: Path | None, teacher_overrides: dict,
                 student_overrides: dict, budgets: dict, epochs: int | None, kd: KDConfig, seed: int = 0,
                 name: str | None = None, valid_users: int = 5000,
                 log: Callable[[str], None] | None = None) -> dict:
    """Distill a teacher (checkpoint file, or trained here when ``teacher_path`` is None and
    ``budgets["teacher"]`` is set) into a student on an id file; write ``out_dir/<name>/``."""
    from townsquare.rec.evaluate import evaluate_histories
    from townsquare.rec.interactions import leave_one_out, read_interactions
    from townsquare.rec.train import load_checkpoint, save_checkpoint

    inter = read_interactions(data_path)
    split = leave_one_out(inter)
    v_hist, v_tgt = split.valid_case()
    t_hist, t_tgt = split.test_case()
    if not v_tgt:
        raise InvalidInput(f"{data_path}: no user has 3 or more interactions: nothing to validate or test on")
    name = name or f"{data_path.stem}-distilled"
    if "/" in name or name.startswith("."):
        raise InvalidInput(f"bad model name {name!r}")
    final = out_dir / name
    if final.exists():
        raise InvalidInput(f"{final} exists already: choose another --name or remove it")
    rng = random.Random(seed)
    sub = sorted(rng.sample(range(len(v_tgt)), min(valid_users, len(v_tgt))))
    validate_on = ([v_hist[i] for i in sub], [v_tgt[i] for i in sub])
    if teacher_path is not None:
        teacher, _ = load_checkpoint(teacher_path)  # ValueError with the reason
        if teacher.cfg.n_ids != split.n_items:
            raise InvalidInput(f"teacher {teacher_path} knows {teacher.cfg.n_ids} items, {data_path} has "
                               f"{split.n_items}: not a teacher for this file")
        teacher_id = str(teacher_path)
    elif budgets.get("teacher"):
        cfg, tc, extra = id_config(split, **teacher_overrides)
        tc.max_minutes, tc.seed = budgets["teacher"], seed
        if epochs:
            tc.epochs = epochs
        teacher = train_ids(split, cfg, tc, extra["negatives"], extra["pop_negatives"], validate_on,
                            label="teacher", log=log).model
        teacher_id = "trained in this run"
    else:
        raise InvalidInput("no teacher: pass --teacher CHECKPOINT or a teacher budget (--teacher-minutes)")
    from townsquare.bench.distill import student_overrides as with_history

    cfg, tc, extra = id_config(split, **with_history(teacher.cfg, student_overrides))
    check_student(teacher.cfg, cfg, n_params(teacher), n_params(type(teacher)(cfg)))
    tc.max_minutes, tc.seed = budgets.get("student"), seed
    if epochs:
        tc.epochs = epochs
    out_dir.mkdir(parents=True, exist_ok=True)
    run = train_ids(split, cfg, tc, extra["negatives"], extra["pop_negatives"], validate_on, teacher=teacher, kd=kd,
                    label="distilled", checkpoint=out_dir / f".{name}.epoch.pt", log=log)
    n = split.n_items
    counts = torch.bincount(torch.tensor([i for s in split.train for i in s]), minlength=n + 1)[1:]
    trained = torch.cat([torch.zeros(1, dtype=torch.bool), counts > 0])
    metrics = {"teacher": evaluate_histories(id_scorer(teacher, trained), t_hist, t_tgt, n),
               "student (distilled)": evaluate_histories(id_scorer(run.model, trained), t_hist, t_tgt, n)}
    fit_info = {"epochs": run.fit.epochs + run.resumed_epochs, "best_epoch": run.fit.best_epoch + run.resumed_epochs,
                "stopped": run.fit.stopped, "seconds": round(run.fit.seconds, 1),
                "cpu_seconds": round(run.cpu_seconds, 1)}
    manifest = {"format": "townsquare.rec.distilled-ids/1", "data": str(data_path), "users": len(inter.users),
                "items": n, "interactions": inter.n_interactions, "fit": fit_info,
                "distillation": {"teacher": teacher_id, "teacher_params": n_params(teacher),
                                 "student_params": n_params(run.model), "kd": asdict(kd), "metrics": metrics}}
    card = model_card(
        title=f"Distilled sequential recommender for {data_path.name}",
        summary="A small unified model distilled from a larger one on a public next-item file "
                "(leave-one-out split: last item test, second-to-last validation).",
        model={"architecture": f"d_model {cfg.d_model}, {cfg.n_layers} layer(s), history {cfg.max_len}",
               "parameters": n_params(run.model)},
        data={"file": str(data_path), "users": len(inter.users), "items": n, "interactions": inter.n_interactions},
        training={**fit_info, "loss": f"true next item + retrieval KL (T={kd.temperature}, weight "
                  f"{kd.retrieval_weight})", "device": "cpu"},
        teacher={"checkpoint": teacher_id, "parameters": n_params(teacher),
                 "architecture": f"d_model {teacher.cfg.d_model}, {teacher.cfg.n_layers} layer(s), "
                                 f"history {teacher.cfg.max_len}"},
        metrics=metrics,
        notes=["Full ranking over the catalogue, history items excluded; metrics on the test targets."])
    tmp = out_dir / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        save_checkpoint(tmp / "model.pt", run.model, extra=manifest)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        (tmp / "MODEL_CARD.md").write_text(card)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    (out_dir / f".{name}.epoch.pt").unlink(missing_ok=True)
    return {"path": str(final), "metrics": metrics, "fit": fit_info}
