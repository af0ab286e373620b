"""The feed benchmark harness on a tiny seeded community (real seeding, real simulator)."""

import pytest

from townsquare.config import load_settings
from townsquare.db.engine import Database
from townsquare.db.migrate import upgrade


@pytest.fixture(scope="module")
def tiny_community(tmp_path_factory):
    from townsquare.sim.seed import SeedOptions, seed_community

    data_dir = tmp_path_factory.mktemp("feedbench")
    settings = load_settings(env={}, data_dir=data_dir, database_url="", secret_key="x")
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    db = Database(settings.sqlalchemy_url)
    seed_community(settings, db, SeedOptions(people=40, posts=300, days=3, seed=3))
    yield settings, db
    db.dispose()


def test_latency_harness(tiny_community):
    from townsquare.bench import feed as feedbench

    settings, db = tiny_community
    viewers = feedbench.sample_viewers(db, 5, 0)
    rows = feedbench.latency(settings, db, viewers)
    first = rows[0]["metrics"]
    assert rows[0]["name"] == "feed_first_page" and first["requests"] == 5 and first["p99_ms"] >= first["p50_ms"] > 0
    assert first["cpu_p99_ms"] >= first["cpu_p50_ms"] > 0
    heur = feedbench.latency(settings, db, viewers, heuristic=True)[0]
    assert heur["config"]["ranked_by"] == {"heuristic": 5}


def test_simulate_harness_runs_two_systems(tiny_community, tmp_path):
    from townsquare.bench import feed as feedbench

    settings, db = tiny_community
    out, days = {}, []
    for system in ("chronological", "heuristic", "model"):
        copy = feedbench._copy_community(settings, tmp_path / system)
        on_day = (lambda d, m: days.append((d, m))) if system == "heuristic" else None
        out[system] = feedbench.simulate_system(system, copy, days=2, seed=3, on_day=on_day)
    # per-day totals: one per day, the last equal to the final metrics
    assert [d for d, _ in days] == [1, 2] and days[0][1]["sessions"] <= days[1][1]["sessions"]
    assert days[-1][1] == out["heuristic"]["metrics"]
    m = out["heuristic"]["metrics"]
    assert 0 <= m["discovery_share"] <= 1 and 0 <= m["hide_rate_discovery"] <= 1
    assert out["chronological"]["metrics"]["sessions"] > 0
    assert out["heuristic"]["metrics"]["sessions"] > 0
    assert 0 <= out["heuristic"]["metrics"]["still_active"] <= 1
    # without a trained unified model the model system is skipped, and says why
    assert not out["model"]["metrics"] and "no trained unified model" in out["model"]["config"]["skipped"]


def test_simulate_retrains_the_model_on_schedule(tiny_community, tmp_path):
    """--retrain-every: the model system fine-tunes the active model between simulated days and
    serves the new version from the next day on."""
    pytest.importorskip("torch")
    from townsquare.bench import feed as feedbench
    from townsquare.rec import registry
    from townsquare.rec.pipeline import AppTrainConfig, run_training

    settings, _ = tiny_community
    copy = feedbench._copy_community(settings, tmp_path / "model")
    db = Database(copy.sqlalchemy_url)
    tc = AppTrainConfig(d_model=16, n_layers=1, n_heads=1, max_len=32, graph_tokens=4, epochs=1, max_minutes=1.0,
                        negatives=16, batch_size=16, min_steps=1)
    first = run_training(copy, db, tc, progress=False, refit_all=False)
    db.dispose()
    assert first.activated, first.reason
    out = feedbench.simulate_system("model", copy, days=3, seed=3,
                                    retrain=feedbench.Retraining(every_days=1, epochs=1, window_days=2))
    assert out["metrics"]["sessions"] > 0
    runs = out["config"]["retrain"]["runs"]
    assert [r["day"] for r in runs] == [1, 2] and all(r["activated"] for r in runs)  # not after the last day
    versions = registry.list_models(registry.rec_models_dir(copy))
    assert len(versions) == 3 and versions[0]["version"] == runs[-1]["version"] and versions[0]["active"]
    manifest = registry.load_active(registry.rec_models_dir(copy)).manifest
    assert manifest["fit"]["fine_tuned_from"] == runs[0]["version"]
    assert manifest["train_config"]["d_model"] == 16  # the architecture of the model it continued
