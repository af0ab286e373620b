"""Feed commands: ``townsquare feed train-pymk`` (the feed's benchmarks are in ``townsquare/bench``)."""

from __future__ import annotations

import typer


def register(app: typer.Typer, bench: typer.Typer) -> None:
    feed_app = typer.Typer(help="Feed and people-you-may-know tools.", no_args_is_help=True)
    app.add_typer(feed_app, name="feed")

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

