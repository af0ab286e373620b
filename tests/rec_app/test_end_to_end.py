"""From a log with clear preferences to an active model that beats popularity on the held-out tail,
and the CLI around it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from townsquare.cli import app
from townsquare.rec import registry

from .community import build_community, train_tiny


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # training twice adds nothing
def test_trained_model_beats_popularity_on_the_held_out_tail(db, settings):
    build_community(db, people=32, days=12, posts_per_person=8, impressions_per_day=8, seed=1)
    out = train_tiny(settings, db, epochs=60, max_minutes=1.0, patience=10, n_layers=2)
    assert out.activated, out.reason
    rows = {r["name"]: r["metrics"] for r in out.rows}
    model, pop = rows["unified model"], rows["popularity"]
    assert model["n_tokens"] > 50 and model["n_people_retrieval"] > 5
    assert model["auc_like"] > pop["auc_like"] + 0.1, (model, pop)
    assert model["auc_mean"] > pop["auc_mean"], (model, pop)
    assert model["recall@50"] > pop["recall@50"], (model, pop)
    loaded = registry.load_active(registry.rec_models_dir(settings))
    assert loaded.version == out.version
    assert loaded.manifest["data_window"]["test_start"] == out.window["test_start"]
    assert loaded.manifest["metrics"]["model"]["auc_like"] == pytest.approx(model["auc_like"])
    # Resume: a second run starts from the first one's weights and replaces it as active.
    again = train_tiny(settings, db, resume=True, epochs=1, max_minutes=0.2, n_layers=2)
    assert again.activated and again.version != out.version
    assert again.fit["warm_started_from"] == out.version
    # Warm-started from the trained weights, one epoch keeps most of what was learned.
    resumed = {r["name"]: r["metrics"] for r in again.rows}["unified model"]
    assert resumed["auc_like"] > pop["auc_like"] + 0.05, resumed


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_fine_tune_continues_the_active_model_on_the_recent_window(db, settings):
    from townsquare.errors import InvalidInput
    from townsquare.rec.pipeline import run_fine_tune

    from .community import DIM, fake_embed, tiny_train_config

    build_community(db, people=16, days=8, posts_per_person=4, impressions_per_day=6, seed=2)
    with pytest.raises(InvalidInput, match="no trained model"):
        run_fine_tune(settings, db, tiny_train_config(epochs=1), embed=fake_embed, dim=DIM)
    first = train_tiny(settings, db, epochs=2)
    assert first.activated
    out = run_fine_tune(settings, db, tiny_train_config(epochs=1), window_days=3, embed=fake_embed, dim=DIM)
    assert out.activated and out.version != first.version
    assert out.fit["fine_tuned_from"] == first.version and out.fit["epochs"] == 1
    from datetime import datetime, timedelta

    since, until = (datetime.fromisoformat(out.window[k]) for k in ("since", "until"))
    # the last 3 days only (people are active 8-20 h, so the window's first event can be hours in)
    assert timedelta(days=2) < until - since <= timedelta(days=3, seconds=1)
    loaded = registry.load_active(registry.rec_models_dir(settings))
    assert loaded.version == out.version and loaded.manifest["fit"]["fine_tuned_from"] == first.version


def _env(monkeypatch, settings):
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", settings.database_url)


def test_cli_train_on_an_empty_log_is_one_clear_line(db, settings, monkeypatch):
    _env(monkeypatch, settings)
    result = CliRunner().invoke(app, ["train", "--epochs", "1"])
    assert result.exit_code == 1
    assert "event log is empty" in result.output
    assert registry.active_version(registry.rec_models_dir(settings)) is None


def test_cli_models_list_and_activate_errors(db, settings, monkeypatch):
    _env(monkeypatch, settings)
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 0 and "no trained models" in result.output
    result = CliRunner().invoke(app, ["models", "activate", "20990101-000000"])
    assert result.exit_code == 1 and "no model version" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_cli_train_for_real_with_the_bundled_embeddings(db, settings, monkeypatch):
    """`townsquare train` end to end: real MiniLM text embeddings, a checkpoint, `models list`."""
    build_community(db, people=10, days=5, posts_per_person=3, impressions_per_day=5)
    _env(monkeypatch, settings)
    result = CliRunner().invoke(app, ["train", "--epochs", "1", "--max-minutes", "0.3", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "written and active" in result.output
    assert (settings.data_dir / "rec" / "text-embeddings.npz").exists()
    listed = CliRunner().invoke(app, ["models"])
    assert listed.exit_code == 0 and "*" in listed.output
    version = registry.active_version(registry.rec_models_dir(settings))
    result = CliRunner().invoke(app, ["models", "activate", version])
    assert result.exit_code == 0 and f"model {version} is active" in result.output


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_on_a_small_seeded_community_the_feed_interface_works(db, settings):
    """The simulator's log (the same events real people produce) trains, activates and serves."""
    from datetime import UTC, datetime

    import numpy as np

    from townsquare.rec.serve import Scorer
    from townsquare.sim.seed import SeedOptions, seed_community

    from .community import fake_embed

    seed_community(settings, db, SeedOptions(people=40, posts=300, days=5, seed=3, photo_variants=1,
                                             video_variants=1, anchor=datetime(2026, 6, 1, tzinfo=UTC)))
    out = train_tiny(settings, db, epochs=3, max_minutes=0.5, refit=True)
    assert out.activated, out.reason
    # The served model was refit on the whole log: it has learned ids for test-period posts too.
    loaded = registry.load_active(registry.rec_models_dir(settings))
    assert loaded.manifest["refit_on_whole_log"]["epochs"] >= 1
    assert loaded.manifest["metrics"]["model"]["auc_like"] == out.rows[0]["metrics"]["auc_like"]
    test_start = datetime.fromisoformat(out.window["test_start"])
    from townsquare.social.events import iter_sequences

    with db.session() as s:
        late = {e.entity_id for _, evs in iter_sequences(s, since=test_start, actions=["like"]) for e in evs}
    assert late and all(loaded.space.id_index("post", p) > 0 for p in late)
    model = out.rows[0]["metrics"]
    assert model["n_tokens"] > 100 and 0 <= model["recall@50"] <= 1
    assert 0 < model["auc_like"] < 1
    scorer = Scorer.load_active(settings, db=db, embed=fake_embed)
    assert scorer is not None and len(scorer.posts) > 0
    person = max(scorer.accounts.ids)
    state = scorer.encode(int(person))
    got = scorer.retrieve(state, k=30)
    assert len(got) == 30 and all(pid not in state.history_posts for pid, _ in got)
    heads = scorer.score(state, [pid for pid, _ in got])
    assert all(np.isfinite(v).all() and len(v) == 30 for v in heads.values())
