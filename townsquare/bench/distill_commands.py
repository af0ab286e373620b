"""``townsquare bench distill``: teacher vs plain student vs distilled student on an id file."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @bench.command("distill")
    def bench_distill(
        data: Path = typer.Option(..., "--data", help="whitespace-separated 'user item' file, time order"),
        json_out: Path | None = typer.Option(None, "--json", help="write the result rows here"),
        work_dir: Path | None = typer.Option(None, help="keep finished models and per-epoch checkpoints here "
                                             "(a rerun resumes)"),
        teacher_minutes: float = typer.Option(12.0, help="training budget of the teacher, minutes"),
        student_minutes: float = typer.Option(6.0, help="training budget of each student, minutes"),
        epochs: int | None = typer.Option(None, help="maximum epochs per model (default: until early stop)"),
        student_epochs: int | None = typer.Option(None, help="maximum epochs of each student (default: --epochs); "
                                                  "with --student-minutes 0, both students get equal epochs"),
        teacher_set: list[str] = typer.Option([], "--teacher-set", help="teacher hyper-parameter KEY=VALUE"),
        student_set: list[str] = typer.Option([], "--student-set", help="student hyper-parameter KEY=VALUE"),
        temperature: float = typer.Option(1.0, help="softening temperature of the retrieval KL"),
        retrieval_weight: float = typer.Option(1.0, help="weight of the retrieval KL"),
        valid_users: int = typer.Option(5000, help="validation users that choose each model's epoch"),
        timing_people: int = typer.Option(200, help="people whose feed page is timed (0 = skip)"),
        threads: int = typer.Option(2, help="torch CPU threads for training (timing uses 1)"),
        seed: int = typer.Option(0, help="random seed"),
        only: list[str] = typer.Option([], "--only", help="train/report only this model (teacher, student, "
                                       "distilled; repeatable), e.g. the plain student beside a teacher run "
                                       "into the same --work-dir"),
    ) -> None:
        """Distillation benchmark: NDCG@10 and page-scoring time of teacher, student, distilled student."""
        import torch
        from rich.console import Console
        from rich.table import Table

        from townsquare.bench.distill import STUDENT, TEACHER, run_distill_bench, summary
        from townsquare.distill.commands import parse_settings
        from townsquare.distill.rec import KDConfig
        from townsquare.errors import TownsquareError
        from townsquare.rec.interactions import leave_one_out, read_interactions

        console = Console(stderr=True)
        torch.set_num_threads(threads)
        from townsquare.bench.distill import ROLES

        if any(r not in ROLES for r in only):
            typer.echo(f"error: --only takes {', '.join(ROLES)}", err=True)
            raise typer.Exit(1)
        try:
            inter = read_interactions(data)
            split = leave_one_out(inter)
            console.print(f"{data}: {len(inter.users)} users, {inter.n_items} items, {inter.n_interactions} "
                          f"interactions; {len(split.eval_users())} users evaluated")
            rows = run_distill_bench(
                split, {**TEACHER, **parse_settings(teacher_set, "--teacher-set")},
                {**STUDENT, **parse_settings(student_set, "--student-set")},
                {"teacher": teacher_minutes, "student": student_minutes, "distilled": student_minutes},
                epochs=epochs, student_epochs=student_epochs, seed=seed, kd=KDConfig(temperature=temperature, retrieval_weight=retrieval_weight),
                valid_users=valid_users, work_dir=work_dir, timing_people=timing_people,
                only=tuple(only) or None, log=lambda s: console.log(s))
        except (TownsquareError, ValueError) as exc:
            typer.echo(f"error: {getattr(exc, 'message', str(exc))}", err=True)
            raise typer.Exit(1)
        table = Table(title=f"Distillation, {data.name} (leave-one-out, full ranking)")
        for col in ("model", "params", "HR@10", "NDCG@10", "valid NDCG@10", "page ms p50", "page ms p99",
                    "train s", "epochs (best)"):
            table.add_column(col)
        for r in rows:
            m, s = r["metrics"], r.get("serving", {})
            table.add_row(r["name"], f"{r['params']:,}", f"{m['HR@10']:.4f}", f"{m['NDCG@10']:.4f}",
                          f"{r['valid_metrics']['NDCG@10']:.4f}",
                          f"{s['page_ms_p50']:.2f}" if s else "-", f"{s['page_ms_p99']:.2f}" if s else "-",
                          f"{r['train_seconds']:.0f}", f"{r['epochs']} ({r['best_epoch']})")
        Console().print(table)
        goals = summary(rows)
        Console().print(json.dumps(goals))
        if json_out:
            meta = {"data": str(data), "users": len(inter.users), "items": inter.n_items,
                    "interactions": inter.n_interactions, "seed": seed, "threads": threads}
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps({"dataset": meta, "rows": rows, "summary": goals}, indent=2))
