"""CLI: ``townsquare distill rec`` and ``townsquare distill llm``. Heavy imports happen inside the
commands so that ``townsquare --help`` stays fast."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def parse_settings(items: list[str], flag: str = "--student") -> dict:
    """``KEY=VALUE`` pairs (values parsed as JSON when they are JSON: numbers, booleans)."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"{flag} expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


def register(app: typer.Typer, bench: typer.Typer) -> None:
    distill = typer.Typer(help="Distillation: a big model teaches a small one (ranker, language model).",
                          no_args_is_help=True)
    app.add_typer(distill, name="distill")

    @distill.command("rec")
    def distill_rec(
        teacher: str | None = typer.Option(None, help="event log: a registry version (default: the active "
                                           "model); --data: a checkpoint file (e.g. bench distill's teacher.pt)"),
        data: Path | None = typer.Option(None, "--data", help="a public 'user item' file instead of the event log"),
        out: Path = typer.Option(Path("distilled"), help="--data: folder for the student (OUT/NAME/)"),
        name: str | None = typer.Option(None, help="--data: the student's folder name"),
        student: list[str] = typer.Option([], "--student", help="student architecture KEY=VALUE: d_model, "
                                          "n_layers, n_heads, max_len (default d_model=32 n_layers=1 n_heads=1)"),
        teacher_set: list[str] = typer.Option([], "--teacher-set", help="--data without --teacher: the teacher "
                                              "trained first, KEY=VALUE (default d_model=128 n_layers=3 n_heads=2)"),
        teacher_minutes: float | None = typer.Option(None, help="--data without --teacher: train the teacher "
                                                     "for this many minutes first"),
        epochs: int = typer.Option(40, help="maximum epochs (early stopping on validation)"),
        max_minutes: float = typer.Option(10.0, help="training budget of the student, minutes"),
        temperature: float = typer.Option(1.0, help="softening temperature of the retrieval KL"),
        retrieval_weight: float = typer.Option(1.0, help="weight of the retrieval KL"),
        head_weight: float = typer.Option(1.0, help="weight of the head probability matching (event log)"),
        compare: bool = typer.Option(False, help="event log: also train the student without the teacher"),
        activate: bool = typer.Option(False, help="event log: make the student the active model"),
        threads: int = typer.Option(1, help="torch CPU threads"),
        seed: int = typer.Option(0, help="random seed"),
    ) -> None:
        """Distill the ranker: a wide, deep, long-history teacher teaches a small student (resumable)."""
        import torch
        from rich.console import Console

        from townsquare.distill.rec import KDConfig
        from townsquare.errors import TownsquareError

        console = Console(stderr=True)
        torch.set_num_threads(max(1, threads))
        kd = KDConfig(temperature=temperature, retrieval_weight=retrieval_weight, head_weight=head_weight)
        if temperature <= 0:
            _fail("--temperature must be > 0")
        try:
            arch = parse_settings(student)
            if data is not None:
                from townsquare.bench.distill import STUDENT, TEACHER
                from townsquare.distill.rec_runs import distill_file

                res = distill_file(data, out, teacher_path=Path(teacher) if teacher else None,
                                   teacher_overrides={**TEACHER, **parse_settings(teacher_set, "--teacher-set")},
                                   student_overrides={**STUDENT, **arch},
                                   budgets={"teacher": teacher_minutes, "student": max_minutes}, epochs=epochs,
                                   kd=kd, seed=seed, name=name, log=lambda s: console.log(s))
            else:
                from townsquare.config import load_settings
                from townsquare.db.engine import Database
                from townsquare.distill.rec_runs import distill_app

                settings = load_settings()
                res = distill_app(settings, Database(settings.sqlalchemy_url), teacher=teacher,
                                  student={"d_model": 32, "n_layers": 1, "n_heads": 1, **arch},
                                  schedule={"epochs": epochs, "max_minutes": max_minutes, "seed": seed,
                                            "threads": threads},
                                  kd=kd, activate=activate, compare=compare, log_fn=lambda s: console.log(s))
        except TownsquareError as exc:
            _fail(exc.message)
        except (ValueError, TypeError) as exc:
            _fail(str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__)
        except KeyboardInterrupt:
            _fail("interrupted: nothing was written; run the same command again to resume from the last epoch", 130)
        from townsquare.distill.card import metrics_table

        console.print(metrics_table(res["metrics"]))
        console.print(f"student written to {res['path']}" + (f" (registry version {res['version']}, teacher "
                                                            f"{res['teacher']})" if "version" in res else ""))
        if res.get("activated"):
            console.print("and made active")
        elif activate:
            _fail(f"written but NOT activated: {res.get('reason')}")

    @distill.command("llm")
    def distill_llm(
        steps: int = typer.Option(300, help="LoRA optimiser steps"),
        examples: int = typer.Option(600, help="training examples to build"),
        teacher_url: str | None = typer.Option(None, help="OpenAI-compatible base URL of a teacher model "
                                               "(default: settings' llm_base_url when llm_backend is remote; "
                                               "none: answers checked by construction)"),
        teacher_model: str | None = typer.Option(None, help="the teacher's model name"),
        name: str | None = typer.Option(None, help="the registered model's name (default: a timestamp)"),
        lora_rank: int = typer.Option(16, help="LoRA rank"),
        lr: float = typer.Option(1e-3, help="learning rate"),
        batch_size: int = typer.Option(8, help="examples per step"),
        max_minutes: float | None = typer.Option(None, help="training budget, minutes"),
        threads: int = typer.Option(2, help="torch CPU threads"),
        seed: int = typer.Option(0, help="random seed"),
        data_only: bool = typer.Option(False, help="only build and write the training set (JSONL)"),
        device: str = typer.Option("auto", help="auto (CUDA when torch sees a GPU, else CPU), cpu or cuda"),
    ) -> None:
        """Teach the bundled SmolLM2-135M-Instruct the app's tasks (LoRA, merge, GGUF export, register)."""
        from rich.console import Console

        from townsquare.config import load_settings
        from townsquare.distill.llm import LLMDistillConfig, run_llm_distill
        from townsquare.errors import TownsquareError

        console = Console(stderr=True)
        settings = load_settings()
        cfg = LLMDistillConfig(steps=steps, examples=examples, teacher_url=teacher_url, teacher_model=teacher_model,
                               name=name, lora_rank=lora_rank, lr=lr, batch_size=batch_size,
                               max_minutes=max_minutes, threads=threads, seed=seed, data_only=data_only,
                               device=device)
        try:
            res = run_llm_distill(settings, cfg, log=lambda s: console.log(s))
        except TownsquareError as exc:
            _fail(exc.message)
        except KeyboardInterrupt:
            _fail("interrupted: nothing was registered; run the same command again to resume", 130)
        console.print(json.dumps({k: v for k, v in res.items() if k != "card"}, indent=2, default=str))

    @distill.command("llm-models")
    def distill_llm_models() -> None:
        """List the registered distilled language models and the setting that selects each."""
        from townsquare.config import load_settings
        from townsquare.distill.llm import list_llm_models

        rows = list_llm_models(load_settings())
        if not rows:
            typer.echo("no distilled language models yet: run `townsquare distill llm`")
            return
        for r in rows:
            score = r["metrics"].get("distilled", {}).get("right_all")
            typer.echo(f"{r['name']}  {(r['created_at'] or '')[:19]}  held-out right: "
                       f"{'-' if score is None else f'{score:.2f}'}  TOWNSQUARE_ASSISTANT_MODEL={r['path']}")
