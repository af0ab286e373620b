"""CLI: ``townsquare train`` and ``townsquare models [list|activate VERSION|pull]``. (The model's
benchmarks are in ``townsquare/bench/rec_commands.py``.) Heavy imports happen inside the commands
so that ``townsquare --help`` stays fast.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

HEAD_COLUMNS = ("open", "like", "comment", "share", "dwell", "hide", "report", "follow_author", "two_way")


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _open_db(settings):
    from townsquare.db.engine import Database

    return Database(settings.sqlalchemy_url)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def wide_console():
    """A console for tables: the terminal's width, or, when the output is a file or a pipe (where rich
    would assume 80 columns and cut the columns to "…"), wide enough for the whole table."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=240)


def results_table(rows: list[dict], title: str):
    from rich.table import Table

    table = Table(title=title, caption="AUC per head (- = not enough labels in the split), recall@50 of retrieval")
    table.add_column("system")
    short = {"comment": "cmnt", "follow_author": "follow", "two_way": "2-way"}
    for h in HEAD_COLUMNS:
        table.add_column(short.get(h, h))
    table.add_column("mean")
    table.add_column("R@50")
    for r in rows:
        m = r["metrics"]
        table.add_row(r["name"], *(_fmt(m.get(f"auc_{h}")) for h in HEAD_COLUMNS), _fmt(m.get("auc_mean")),
                      _fmt(m.get("recall@50")))
    return table


def _json_safe(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    return obj


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @app.command("train")
    def train(
        epochs: int = typer.Option(40, help="maximum epochs (early stopping on the validation split)"),
        max_minutes: float = typer.Option(10.0, help="wall-clock budget for training, minutes"),
        resume: bool = typer.Option(False, "--resume/--fresh",
                                    help="start from the newest loadable checkpoint, or from scratch"),
        threads: int = typer.Option(1, help="torch CPU threads (1 is fastest on a busy machine)"),
        seed: int = typer.Option(0, help="random seed"),
        valid_frac: float = typer.Option(0.1, help="share of the log (by time) held out for validation"),
        test_frac: float = typer.Option(0.1, help="share of the log (by time) held out as the test tail"),
        refit: bool = typer.Option(True, "--refit/--no-refit",
                                   help="after the evaluation, continue on the whole log (held-out tail "
                                        "included) for the best epoch count before saving"),
        json_out: Path | None = typer.Option(None, "--json", help="write the evaluation rows here"),
        fine_tune: bool = typer.Option(False, "--fine-tune",
                                       help="scheduled retraining: continue the active model for exactly "
                                            "--epochs epochs on the recent log (--window-days), nothing held "
                                            "out, then activate it"),
        window_days: float | None = typer.Option(None, "--window-days",
                                                 help="learn from the last N days of the log only (default: all; "
                                                      "14 with --fine-tune)"),
        nproc: int = typer.Option(1, "--nproc", min=1,
                                  help="train in N processes (PyTorch DDP through torchrun, gloo on CPU); "
                                       "one checkpoint is written"),
    ) -> None:
        """Train the unified model on the event log, evaluate it on the held-out tail, and activate it."""
        import os
        import subprocess
        import sys

        from rich.console import Console

        from townsquare.rec import distributed

        if nproc > 1 and not os.environ.get("WORLD_SIZE"):
            if fine_tune:
                _fail("--nproc is for full training runs; a --fine-tune runs in one process")
            argv = distributed.without_nproc(sys.argv[1:])
            raise typer.Exit(subprocess.call(distributed.torchrun_command(nproc, argv)))
        ctx = distributed.current()
        if ctx is not None and not ctx.is_main:
            from townsquare.config import load_settings
            from townsquare.errors import TownsquareError
            from townsquare.rec.pipeline import AppTrainConfig, run_training

            tc = AppTrainConfig(epochs=epochs, max_minutes=max_minutes, threads=threads, seed=seed,
                                valid_frac=valid_frac, test_frac=test_frac, window_days=window_days)
            settings = load_settings()
            try:  # rank 0 reports what went wrong; the others only stop
                run_training(settings, _open_db(settings), tc, resume=resume, progress=False, refit_all=refit)
            except TownsquareError:
                raise typer.Exit(1)
            finally:
                distributed.shutdown()
            return

        from townsquare.config import load_settings
        from townsquare.errors import TownsquareError
        from townsquare.rec.pipeline import AppTrainConfig, run_training

        console = Console(stderr=True)
        settings = load_settings()
        tc = AppTrainConfig(epochs=epochs, max_minutes=max_minutes, threads=threads, seed=seed,
                            valid_frac=valid_frac, test_frac=test_frac, window_days=window_days)
        if window_days is not None and window_days <= 0:
            _fail("--window-days must be > 0")
        if fine_tune:
            from townsquare.rec.pipeline import run_fine_tune

            try:
                out = run_fine_tune(settings, _open_db(settings), tc, window_days=window_days or 14.0,
                                    log_fn=lambda s: console.log(s))
            except TownsquareError as exc:
                _fail(exc.message)
            except KeyboardInterrupt:
                _fail("interrupted: no checkpoint was written and the active model is unchanged", 130)
            console.print(f"fine-tuned {out.fit['fine_tuned_from']} for {out.fit['epochs']} epochs in "
                          f"{out.fit['seconds']:.0f}s on the log since {out.window['since']}")
            if not out.activated:
                _fail(f"model {out.version} written but NOT activated: {out.reason}")
            console.print(f"model {out.version} written and active")
            return
        try:
            out = run_training(settings, _open_db(settings), tc, resume=resume, progress=True, refit_all=refit,
                               log_fn=lambda s: console.log(s))
        except TownsquareError as exc:
            _fail(exc.message)
        except KeyboardInterrupt:
            _fail("interrupted: no checkpoint was written and the active model is unchanged", 130)
        except Exception as exc:
            from sqlalchemy.exc import OperationalError, ProgrammingError

            if isinstance(exc, OperationalError | ProgrammingError):
                _fail(f"cannot read the database ({str(exc.orig).splitlines()[0]}); run `townsquare migrate` "
                      "and `townsquare seed` first")
            raise
        distributed.shutdown()
        wide_console().print(results_table(out.rows, "Unified model vs baselines on the held-out tail (test split)"))
        fit = out.fit
        console.print(f"trained {fit['epochs']} epochs in {fit['seconds']:.0f}s (best {fit['best_epoch']}, "
                      f"stopped: {fit['stopped']}); data window {out.window['since']} .. {out.window['until']}")
        if "refit" in fit:
            console.print(f"then refit on the whole log: {fit['refit']['epochs']} epochs in "
                          f"{fit['refit']['seconds']:.0f}s (the table above is the evaluated model's)")
        if out.activated:
            console.print(f"model {out.version} written and active")
        else:
            console.print(f"model {out.version} written but NOT activated: {out.reason}")
        if json_out:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(_json_safe(out.rows), indent=2))
        stats = os.environ.get("TOWNSQUARE_TRAIN_STATS")  # bench train: the run's own figures
        if stats:
            Path(stats).write_text(json.dumps(_json_safe({"fit": out.fit, "window": out.window, **out.extra}),
                                              default=str))
        if not out.activated:
            raise typer.Exit(1)

    models = typer.Typer(help="Models: the recommendation model's trained versions (list, activate) and "
                              "bigger language models (pull).", invoke_without_command=True)
    app.add_typer(models, name="models")
    from townsquare.llm.commands import register_pull

    register_pull(models)

    def _list() -> None:
        from rich.table import Table

        from townsquare.config import load_settings
        from townsquare.rec.registry import list_models, rec_models_dir

        rows = list_models(rec_models_dir(load_settings()))
        if not rows:
            typer.echo("no trained models yet: run `townsquare train`")
            return
        table = Table(title="Recommendation models")
        for col in ("version", "active", "created", "data until", "AUC mean", "recall@50", "status"):
            table.add_column(col, no_wrap=col in ("version", "created", "data until"))
        for r in rows:
            m = r["metrics"]
            table.add_row(r["version"], "*" if r["active"] else "", (r["created_at"] or "")[:19],
                          (r["data_window"].get("until") or "")[:19], _fmt(m.get("auc_mean")),
                          _fmt(m.get("recall@50")), r["status"])
        wide_console().print(table)

    @models.callback()
    def models_default(ctx: typer.Context) -> None:
        """List models when no subcommand is given."""
        if ctx.invoked_subcommand is None:
            _list()

    @models.command("list")
    def models_list() -> None:
        """List every trained version (newest first) and which one is active."""
        _list()

    @models.command("activate")
    def models_activate(version: str = typer.Argument(..., help="a version from `townsquare models list`")) -> None:
        """Make VERSION the active model (checked first; on error the active model is unchanged)."""
        from townsquare.config import load_settings
        from townsquare.errors import TownsquareError
        from townsquare.rec.registry import activate, rec_models_dir

        try:
            activate(rec_models_dir(load_settings()), version)
        except TownsquareError as exc:
            _fail(exc.message)
        typer.echo(f"model {version} is active")
