"""From the event log to a served model: build data, train, evaluate, register, activate.

``run_training`` is what ``townsquare train`` runs:

1. ``build_log_data``: tokens, labels and the time split from the event log (training_data.py).
2. Text embeddings of every post and account (cached in the data folder, features.py).
3. The model (rec/model.py) trained with rec's loop (``train.fit``) on the train prefix of every
   person's history; the epoch with the best validation score is kept. ``resume`` starts from the
   newest loadable checkpoint: weights that still fit are copied, learned ids by entity.
4. Evaluation on the held-out test tail against two baselines (app_metrics.py).
5. A versioned checkpoint (registry.py), made active only when it loads back and passes the checks.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from townsquare.errors import InvalidInput, TownsquareError
from townsquare.rec.features import (
    Embedder,
    EncodedLog,
    FeatureSpace,
    TextEmbeddingCache,
    make_batch,
    windows,
)
from townsquare.rec.heads import POST_HEADS
from townsquare.rec.training_data import LogData, build_log_data


@dataclass
class AppTrainConfig:
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 2
    max_len: int = 64
    time_buckets: int = 24
    graph_tokens: int = 16        # "follows X" tokens that open every history (the social graph)
    context: bool = True          # action heads see the post's age and who follows whom (features.CONTEXT_FEATURES)
    dropout: float = 0.1
    id_dropout: float = 0.3
    epochs: int = 40
    max_minutes: float | None = 10.0
    batch_size: int = 64          # smaller on small logs: at least ``min_steps`` steps an epoch
    min_steps: int = 20
    lr: float = 3e-3
    patience: int = 5
    negatives: int = 128
    action_weight: float = 1.0
    valid_frac: float = 0.1
    test_frac: float = 0.1
    seed: int = 0
    # One thread: on a busy shared CPU, two OpenMP threads were 10x slower per step than one.
    threads: int = 1
    window_days: float | None = None  # learn from the log's last N days only (None: all of it)


def model_config(space: FeatureSpace, tc: AppTrainConfig):
    from townsquare.rec.model import RecConfig

    return RecConfig(n_ids=space.n_ids, n_authors=space.n_authors, text_dim=space.text_dim, content_types=True,
                     use_actions=True, time_buckets=tc.time_buckets, max_len=tc.max_len, d_model=tc.d_model,
                     n_layers=tc.n_layers, n_heads=tc.n_heads, dropout=tc.dropout, emb_dropout=tc.dropout,
                     id_dropout=tc.id_dropout, heads=POST_HEADS, context_dim=space.context_dim)


def train_windows(log: EncodedLog, max_len: int) -> list[tuple[int, int, int]]:
    """Windows over each person's train prefix (never a valid/test token)."""
    out = []
    g = log.space.graph_tokens
    for si, seq in enumerate(log.sequences):
        _, end = seq.split_range(0)
        out += [(si, a, b) for a, b in windows(end, max_len - g, predict_first=g > 0)]
    return out


def warm_start(model, old_model, old_space: FeatureSpace, new_space: FeatureSpace) -> int:
    """Copy the weights of ``old_model`` that still fit; learned ids and authors row by entity.
    Returns the number of tensors copied."""
    import torch

    new_sd, old_sd = model.state_dict(), old_model.state_dict()
    copied = 0
    with torch.no_grad():
        for name, t in new_sd.items():
            o = old_sd.get(name)
            if o is None:
                continue
            if name == "entity.id_emb.weight":
                pairs = [(new_space.id_index("post", p), old_space.id_index("post", p)) for p in new_space.post_ids]
                pairs += [(new_space.id_index("account", a), old_space.id_index("account", a))
                          for a in new_space.account_ids]
            elif name == "entity.author_emb.weight":
                pairs = [(new_space.author_index(a), old_space.author_index(a)) for a in new_space.author_ids]
            elif o.shape == t.shape:
                t.copy_(o)
                copied += 1
                continue
            else:
                continue
            pairs = [(n, o_) for n, o_ in pairs if o_ > 0]
            if pairs:
                idx_new = torch.tensor([n for n, _ in pairs])
                idx_old = torch.tensor([o_ for _, o_ in pairs])
                t[idx_new] = o[idx_old]
                copied += 1
    return copied


@dataclass
class TrainedModel:
    model: object
    fit: object                  # train.FitResult
    valid_metrics: dict
    seconds: float
    warm_started: bool = False


def train_model(log: EncodedLog, tc: AppTrainConfig, init=None, log_fn: Callable[[str], None] | None = None,
                progress_label: str = "training", validate_fn: Callable | None = None,
                holdout: bool = True) -> TrainedModel:
    """Train a fresh model (or one warm-started from ``init``: a registry.LoadedModel) on ``log``.

    In a distributed run (``rec/distributed.py``) every rank calls this with the same log: the
    training windows are sharded across ranks, gradients are averaged (DDP), validation runs on rank
    0 and its score is shared."""
    import torch

    from townsquare.rec import distributed
    from townsquare.rec.app_metrics import SplitCases, evaluate_model, validation_score
    from townsquare.rec.model import UnifiedModel
    from townsquare.rec.train import BatchLoss, TrainConfig, fit

    ctx = distributed.current()
    torch.manual_seed(tc.seed)
    model = UnifiedModel(model_config(log.space, tc))
    warm = False
    if init is not None:
        warm = warm_start(model, init.model, init.space, log.space) > 0
    items = train_windows(log, tc.max_len)
    if not items:
        raise InvalidInput("no person has two or more interactions before the validation cut: nothing to learn")
    rng = random.Random(tc.seed)  # the same shuffle on every rank
    batch_size = max(4, min(tc.batch_size, len(items) // tc.min_steps))
    world, rank = (ctx.world, ctx.rank) if ctx else (1, 0)
    rank_batch = max(2, batch_size // world)  # the global batch stays the single-process one
    main = ctx is None or ctx.is_main
    valid_cases = SplitCases(log, "valid", tc.max_len) if validate_fn is None and main else None
    last_valid: dict = {}
    loss_module = BatchLoss(model, negatives=tc.negatives, action_weight=tc.action_weight)
    if ctx is not None:
        from torch.nn.parallel import DistributedDataParallel

        # Broadcasts rank 0's weights (so every rank starts the same) and averages gradients.
        loss_module = DistributedDataParallel(loss_module, find_unused_parameters=True)

    def batches(epoch: int):
        order = list(items)
        rng.shuffle(order)
        if world > 1:  # this rank's shard; every rank gets the same number of windows
            order = order[rank:len(order) // world * world:world]
        for i in range(0, len(order), rank_batch):
            yield make_batch(log, order[i:i + rank_batch])

    def validate() -> float:
        score = 0.0
        if main:
            if validate_fn is not None:
                score = validate_fn(model)
            else:
                m = evaluate_model(model, valid_cases)
                last_valid[len(last_valid)] = m
                score = validation_score(m)
        return ctx.broadcast_float(score) if ctx else score

    steps = math.ceil(len(items) / batch_size)
    train_cfg = TrainConfig(epochs=tc.epochs, max_minutes=tc.max_minutes, patience=tc.patience,
                            batch_size=batch_size, lr=tc.lr, warmup_steps=min(100, steps), seed=tc.seed)
    start = time.monotonic()
    res = fit(model, batches, loss_module, validate, train_cfg, label=progress_label, log=log_fn,
              agree=ctx.any if ctx else None, quiet=not main, holdout=holdout)
    model.eval()
    best = last_valid.get(res.best_epoch - 1, {})
    return TrainedModel(model=model, fit=res, valid_metrics=best, seconds=time.monotonic() - start,
                        warm_started=warm)


def refit(log_all: EncodedLog, tc: AppTrainConfig, model, space: FeatureSpace, epochs: int,
          log_fn: Callable[[str], None] | None = None) -> TrainedModel:
    """Continue the evaluated model on the whole log (no holdout) for ``epochs`` epochs, so the served
    model has learned ids for the newest posts and people too. Nothing is held out, so the last
    epoch is kept (the epoch count comes from the evaluated run's early stopping)."""
    from townsquare.rec.registry import LoadedModel

    init = LoadedModel(version="evaluated", model=model, space=space, manifest={}, path=Path("."))
    counter = iter(range(1, 10**9))
    return train_model(log_all, AppTrainConfig(**{**asdict(tc), "epochs": max(1, epochs), "patience": 10**9}),
                       init=init, log_fn=log_fn, progress_label="refit on the whole log",
                       validate_fn=lambda _m: next(counter) * 1e-9, holdout=False)  # orders epochs only


def evaluate_on_test(model, log: EncodedLog, max_len: int) -> list[dict]:
    """Rows (model first, then the baselines) on the held-out test tail."""
    from townsquare.rec.app_metrics import SplitCases, evaluate_baselines, evaluate_model

    cases = SplitCases(log, "test", max_len)
    return [{"name": "unified model", "metrics": evaluate_model(model, cases)}, *evaluate_baselines(cases)]


def default_embedder(settings) -> tuple[Embedder, int]:
    """The configured text embedder and its width (one probe call)."""
    from townsquare.llm.embeddings import embed_texts

    def embed(texts: list[str]):
        return embed_texts(texts, settings=settings)

    return embed, int(embed(["dimension probe"]).shape[1])


def embedding_cache(settings, dim: int) -> TextEmbeddingCache:
    return TextEmbeddingCache(Path(settings.data_dir) / "rec" / "text-embeddings.npz", dim)


@dataclass
class TrainOutcome:
    version: str | None
    activated: bool
    rows: list[dict]
    window: dict
    fit: dict
    reason: str = ""
    extra: dict = field(default_factory=dict)


def window_start(session, days: float | None):
    """The start of the last ``days`` days of the event log (by the log's own clock: its newest
    event), or None for the whole log."""
    if not days:
        return None
    from datetime import timedelta

    from sqlalchemy import func, select

    from townsquare.social.models import Event

    last = session.scalar(select(func.max(Event.ts)))
    return None if last is None else last - timedelta(days=days)


def prepare(settings, db, tc: AppTrainConfig, embed: Embedder | None = None, dim: int | None = None,
            progress: bool = False, log_fn: Callable[[str], None] | None = None, holdout: bool = True,
            window_days: float | None = None) -> EncodedLog:
    """Event log -> encoded training data (labels, split, features, embeddings); with ``window_days``,
    only the events of the log's last that many days."""
    t0 = time.monotonic()
    with db.session() as session:
        data: LogData = build_log_data(session, since=window_start(session, window_days), valid_frac=tc.valid_frac,
                                       test_frac=tc.test_frac, progress=progress, holdout=holdout)
    if log_fn:
        w = data.window
        log_fn(f"event log: {w.n_events} events, {w.n_people} people, tokens {w.n_tokens}, "
               f"{len(data.posts)} posts; window {w.since:%Y-%m-%d %H:%M} .. {w.until:%Y-%m-%d %H:%M}, "
               f"valid from {w.valid_start:%Y-%m-%d %H:%M}, test from {w.test_start:%Y-%m-%d %H:%M} "
               f"[{time.monotonic() - t0:.1f}s]")
    if embed is None:
        embed, dim = default_embedder(settings)
    elif dim is None:
        dim = int(embed(["dimension probe"]).shape[1])
    cache = embedding_cache(settings, dim)
    if not 0 <= tc.graph_tokens < tc.max_len:
        raise InvalidInput("graph_tokens must be >= 0 and smaller than max_len")
    space = FeatureSpace.from_training(data, dim, graph_tokens=tc.graph_tokens, context=tc.context)
    return EncodedLog.build(data, space, cache, embed, progress=progress)


def run_training(settings, db, tc: AppTrainConfig, *, resume: bool = False, embed: Embedder | None = None,
                 dim: int | None = None, progress: bool = True, activate_model: bool = True,
                 refit_all: bool = True, log_fn: Callable[[str], None] | None = None) -> TrainOutcome:
    """The whole of ``townsquare train``; raises InvalidInput for an empty or too-small log.

    Under torchrun (``townsquare train --nproc N``) every rank runs this: the data is built on each,
    training is data-parallel (``train_model``), and rank 0 alone evaluates, saves and activates;
    the other ranks return an outcome with ``version=None`` and ``extra["rank"]``."""
    import torch

    from townsquare.rec import distributed, registry

    torch.set_num_threads(max(1, tc.threads))
    ctx = distributed.current()
    main = ctx is None or ctx.is_main
    log_fn = log_fn if main else None
    progress = progress and main
    log_embed: list = [embed]
    if embed is None:
        log_embed[0], dim = default_embedder(settings)

    def prepared(**kwargs) -> EncodedLog:
        # Rank 0 first: it computes and caches the text embeddings; the other ranks then read the cache.
        if ctx is not None and not main:
            ctx.barrier()
        out = prepare(settings, db, tc, log_embed[0], dim, **kwargs)
        if ctx is not None and main:
            ctx.barrier()
        return out

    log = prepared(progress=progress, log_fn=log_fn, window_days=tc.window_days)
    root = registry.rec_models_dir(settings)
    init = None
    if resume:
        for row in registry.list_models(root):
            if row["status"] == "ok":
                try:
                    init = registry.load_version(root, row["version"], log.space.text_dim)
                    break
                except InvalidInput:
                    continue
        if log_fn:
            log_fn(f"resuming from {init.version}" if init else "no earlier model to resume from: starting fresh")
    trained = train_model(log, tc, init=init, log_fn=log_fn)
    fit_info = {"best_epoch": trained.fit.best_epoch, "epochs": trained.fit.epochs, "stopped": trained.fit.stopped,
                "seconds": round(trained.seconds, 1), "best_valid_score": trained.fit.best_score,
                "warm_started_from": init.version if init else None,
                "processes": ctx.world if ctx else 1}
    rows = evaluate_on_test(trained.model, log, tc.max_len) if main else []
    manifest = {"train_config": asdict(tc), "data_window": log.data.window.to_dict(),
                "metrics": {"model": rows[0]["metrics"] if rows else {}, "valid": trained.valid_metrics,
                            "baselines": {r["name"]: r["metrics"] for r in rows[1:]}},
                "fit": fit_info,
                "embeddings": {"backend": settings.embeddings_backend, "model": settings.embeddings_model,
                               "dim": log.space.text_dim}}
    served, space = trained.model, log.space
    if refit_all:
        # The metrics above are the evaluated model's; the served one continues it on the whole log.
        log_all = prepared(progress=False, log_fn=None, holdout=False, window_days=tc.window_days)
        again = refit(log_all, tc, trained.model, log.space, trained.fit.best_epoch, log_fn=log_fn)
        served, space = again.model, log_all.space
        fit_info["refit"] = {"epochs": again.fit.epochs, "seconds": round(again.seconds, 1),
                             "until": log_all.data.window.until.isoformat()}
        manifest["refit_on_whole_log"] = fit_info["refit"]
    if not main:  # one checkpoint, written by rank 0
        return TrainOutcome(version=None, activated=False, rows=[], window=log.data.window.to_dict(),
                            fit=fit_info, extra={"rank": ctx.rank, "train_windows": len(train_windows(log, tc.max_len))})
    version, activated, reason = _save_and_activate(root, served, space, manifest, activate_model)
    return TrainOutcome(version=version, activated=activated, rows=rows, window=log.data.window.to_dict(),
                        fit=fit_info, reason=reason,
                        extra={"n_events": log.data.window.n_events, "valid_metrics": trained.valid_metrics})


def _save_and_activate(root: Path, model, space: FeatureSpace, manifest: dict,
                       activate_model: bool) -> tuple[str, bool, str]:
    """Save a new version; make it active when asked and when it passes the registry's checks.
    Returns (version, activated, why not)."""
    from townsquare.rec import registry

    version = registry.save_version(root, model, space, manifest)
    if not activate_model:
        return version, False, ""
    try:
        registry.activate(root, version, space.text_dim)
    except InvalidInput as exc:
        return version, False, exc.message
    return version, True, ""


SCHEDULE_FIELDS = ("epochs", "max_minutes", "patience", "seed", "threads", "window_days")


def run_fine_tune(settings, db, tc: AppTrainConfig, *, window_days: float | None = 14.0,
                  embed: Embedder | None = None, dim: int | None = None, activate_model: bool = True,
                  log_fn: Callable[[str], None] | None = None) -> TrainOutcome:
    """Scheduled retraining (``townsquare train --fine-tune``): continue the active model (or, with
    none active, the newest loadable one) on the last ``window_days`` days of the event log for
    exactly ``tc.epochs`` epochs, nothing held out, then save and activate it as a new version.

    What a deployment runs every few hours or days between full ``townsquare train`` runs: the full
    run chooses the epoch count on a validation split and reports test metrics, but leaves the
    newest fifth of the log out of training; a fine-tune learns from everything up to now, the
    newest posts and the feed's latest misses included, at a fixed cost (the window, not the whole
    history). Raises InvalidInput when there is no model to continue."""
    import torch

    from townsquare.rec import registry

    torch.set_num_threads(max(1, tc.threads))
    if embed is None:
        embed, dim = default_embedder(settings)
    root = registry.rec_models_dir(settings)
    init = None
    try:
        init = registry.load_active(root)
    except TownsquareError:
        for row in registry.list_models(root):
            if row["status"] == "ok":
                try:
                    init = registry.load_version(root, row["version"])
                    break
                except InvalidInput:
                    continue
    if init is None:
        raise InvalidInput("no trained model to fine-tune: run `townsquare train` first")
    # The architecture is the continued model's; only the schedule (epochs, seed, threads) is ``tc``'s.
    arch = {k: v for k, v in (init.manifest.get("train_config") or {}).items()
            if k in AppTrainConfig.__dataclass_fields__ and k not in SCHEDULE_FIELDS}
    tc = AppTrainConfig(**{**asdict(tc), **arch})
    log = prepare(settings, db, tc, embed, dim, False, log_fn, holdout=False, window_days=window_days)
    if log.space.text_dim != init.space.text_dim:
        raise InvalidInput(f"model {init.version} uses {init.space.text_dim}-d text embeddings, the configured "
                           f"embedder gives {log.space.text_dim}-d: retrain with `townsquare train --fresh`")
    again = refit(log, tc, init.model, init.space, tc.epochs, log_fn=log_fn)
    fit_info = {"epochs": again.fit.epochs, "seconds": round(again.seconds, 1), "fine_tuned_from": init.version,
                "window_days": window_days, "until": log.data.window.until.isoformat()}
    manifest = {"train_config": asdict(tc), "data_window": log.data.window.to_dict(),
                "metrics": {}, "fit": fit_info,  # not evaluated: no holdout (the full run's metrics are on its version)
                "embeddings": {"backend": settings.embeddings_backend, "model": settings.embeddings_model,
                               "dim": log.space.text_dim}}
    version, activated, reason = _save_and_activate(root, again.model, log.space, manifest, activate_model)
    return TrainOutcome(version=version, activated=activated, rows=[], window=log.data.window.to_dict(),
                        fit=fit_info, reason=reason)
