"""Feed commands: ``bench pymk``, ``bench feed``, ``bench simulate`` and ``feed train-pymk``."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def _table(title: str, rows: list[dict]):
    from rich.table import Table

    keys: list[str] = []
    for row in rows:
        keys += [k for k in row["metrics"] if k not in keys]
    table = Table(title=title)
    table.add_column("system")
    for k in keys:
        table.add_column(k, justify="right")
    for row in rows:
        cells = []
        for k in keys:
            v = row["metrics"].get(k)
            cells.append("" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v))
        table.add_row(row["name"], *cells)
    return table


def _write_json(path: Path | None, rows: list[dict]) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=2, default=str))


def register(app: typer.Typer, bench: typer.Typer) -> None:
    feed_app = typer.Typer(help="Feed and people-you-may-know tools.", no_args_is_help=True)
    app.add_typer(feed_app, name="feed")

    @bench.command("pymk")
    def bench_pymk(
        data: Path = typer.Option(Path("../shared/datasets/facebook_combined.txt"), "--data",
                                  help="An undirected edge list, one 'a b' a line (SNAP ego-Facebook)."),
        json_path: Path = typer.Option(None, "--json", help="Write the rows as JSON here."),
        seed: int = typer.Option(0, "--seed", help="Seed of the 10% test hold-out (and of training)."),
        epochs: int = typer.Option(20, "--epochs", help="Ranker epochs (best on validation is kept)."),
        splits: int = typer.Option(2, "--splits", help="Training hold-outs carved from the training edges."),
        train_holdout: float = typer.Option(0.1, "--train-holdout", help="Share of training edges each split holds out."),
        threads: int = typer.Option(2, "--threads", help="torch threads."),
        save_model: Path = typer.Option(None, "--save-model", help="Save the trained link model (.npz)."),
        embedding: bool = typer.Option(True, "--embedding/--no-embedding",
                                       help="Add the learned node-embedding features (embed.py)."),
    ) -> None:
        """People you may know on ego-Facebook: ours vs common neighbours, Adamic-Adar, resource allocation."""
        from rich.console import Console

        from townsquare.commands import fail

        if not data.exists():
            raise fail(f"no such file: {data}")
        import torch

        torch.set_num_threads(max(1, threads))
        from townsquare.feed import pymk_bench
        from townsquare.feed.linkpred import DEFAULT_EMBEDDING

        console = Console()
        with console.status("PYMK benchmark") as status:
            rows = pymk_bench.run(data, seed=seed, progress=lambda m: status.update(f"PYMK benchmark: {m}"),
                                  model_kwargs={"epochs": epochs, "splits": splits, "holdout": train_holdout,
                                                "embedding": DEFAULT_EMBEDDING if embedding else None},
                                  save_model=save_model)
        console.print(_table(f"PYMK on {data.name} (seed {seed})", rows))
        _write_json(json_path, rows)

    @feed_app.command("train-pymk")
    def train_pymk(epochs: int = typer.Option(20, "--epochs"),
                   embedding: bool = typer.Option(True, "--embedding/--no-embedding",
                                                  help="Add the node-embedding features (graphs up to "
                                                       "10,000 people; bigger ones train without).")) -> None:
        """Fit the people-you-may-know link model on this community's follow graph."""
        import numpy as np
        import torch

        from townsquare.commands import _settings, fail
        from townsquare.db.engine import Database
        from townsquare.feed.linkpred import DEFAULT_EMBEDDING, EMBEDDING_MAX_NODES, LinkModel
        from townsquare.feed.pymk import MODEL_FILE, FollowGraph

        torch.set_num_threads(2)
        settings = _settings()
        db = Database(settings.sqlalchemy_url)
        with db.session() as session:
            graph = FollowGraph.build(session)
        a = graph.index.adj.tocoo()
        edges = np.stack([a.row, a.col], 1)
        edges = edges[edges[:, 0] < edges[:, 1]]
        if len(edges) < 50:
            raise fail("the follow graph is too small to train on (fewer than 50 connections)")
        use_embedding = embedding and graph.index.n <= EMBEDDING_MAX_NODES
        if embedding and not use_embedding:
            typer.echo(f"{graph.index.n} people: above {EMBEDDING_MAX_NODES}, training without the node embedding")
        model = LinkModel(epochs=epochs, embedding=DEFAULT_EMBEDDING if use_embedding else None)
        model.fit(edges, graph.index.n, progress=typer.echo)
        path = settings.models_dir / MODEL_FILE
        model.save(path)
        typer.echo(f"saved {path}")

    from townsquare.feed.bench_commands import register_benches

    register_benches(bench, _table, _write_json)
