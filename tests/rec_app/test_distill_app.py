"""``distill rec`` on the event log: a registry teacher teaches a smaller student, saved as a new
registry version with the teacher's id, both models' metrics and a model card; bad input writes
nothing."""

from __future__ import annotations

import pytest

from townsquare.distill.rec import KDConfig
from townsquare.distill.rec_runs import distill_app
from townsquare.errors import InvalidInput, NotFound
from townsquare.rec import registry

from .community import DIM, build_community, fake_embed, train_tiny

SCHEDULE = {"epochs": 3, "max_minutes": 0.5, "threads": 1}


def _versions(settings) -> list[str]:
    root = registry.rec_models_dir(settings)
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_student_is_registered_with_its_teacher_and_metrics(db, settings):
    build_community(db, people=24, days=10, posts_per_person=5, impressions_per_day=6, seed=3)
    teacher = train_tiny(settings, db, epochs=4, d_model=32, n_layers=2)
    assert teacher.activated
    out = distill_app(settings, db, teacher=None, student={"d_model": 16, "n_layers": 1}, schedule=SCHEDULE,
                      kd=KDConfig(), compare=True, embed=fake_embed, dim=DIM, progress=False)
    assert out["teacher"] == teacher.version and out["version"] != teacher.version
    assert not out["activated"]  # a student becomes active only when asked
    assert registry.active_version(registry.rec_models_dir(settings)) == teacher.version
    loaded = registry.load_version(registry.rec_models_dir(settings), out["version"], DIM)
    assert loaded.model.cfg.d_model == 16 and loaded.model.cfg.n_layers == 1
    d = loaded.manifest["distillation"]
    assert d["teacher"] == teacher.version and d["student_params"] < d["teacher_params"]
    assert set(d["metrics"]) == {"teacher", "student (no teacher)", "student (distilled)"}
    assert d["metrics"]["student (distilled)"]["auc_mean"] > 0.5
    card = (loaded.path / "MODEL_CARD.md").read_text()
    assert teacher.version in card and "auc_mean" in card
    # The student serves like any checkpoint: it can be activated.
    registry.activate(registry.rec_models_dir(settings), out["version"], DIM)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_bad_teachers_and_students_write_nothing(db, settings):
    with pytest.raises(NotFound, match="no teacher"):
        distill_app(settings, db, teacher=None, student={}, schedule=SCHEDULE, kd=KDConfig(), embed=fake_embed,
                    dim=DIM, progress=False)
    with pytest.raises(NotFound):
        distill_app(settings, db, teacher="20990101-000000", student={}, schedule=SCHEDULE, kd=KDConfig(),
                    embed=fake_embed, dim=DIM, progress=False)
    build_community(db, people=12, days=6, posts_per_person=3, impressions_per_day=4, seed=4)
    teacher = train_tiny(settings, db, epochs=1, d_model=32, n_layers=1)
    before = _versions(settings)
    with pytest.raises(InvalidInput, match="larger than its teacher"):
        distill_app(settings, db, teacher=teacher.version, student={"d_model": 64}, schedule=SCHEDULE,
                    kd=KDConfig(), embed=fake_embed, dim=DIM, progress=False)
    with pytest.raises(InvalidInput, match="unknown student setting"):
        distill_app(settings, db, teacher=teacher.version, student={"width": 8}, schedule=SCHEDULE,
                    kd=KDConfig(), embed=fake_embed, dim=DIM, progress=False)
    # An emptied event log: one clear error.
    from sqlalchemy import delete

    from townsquare.social.models import Event

    with db.session() as s:
        s.execute(delete(Event))
        s.commit()
    with pytest.raises(InvalidInput, match="event log is empty"):
        distill_app(settings, db, teacher=teacher.version, student={"d_model": 16}, schedule=SCHEDULE,
                    kd=KDConfig(), embed=fake_embed, dim=DIM, progress=False)
    assert _versions(settings) == before


def test_cli_on_an_empty_log_is_one_clear_line(db, settings, monkeypatch):
    from typer.testing import CliRunner

    from townsquare.cli import app

    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(app, ["distill", "rec", "--epochs", "1"])
    assert result.exit_code == 1 and "no teacher" in result.output
    assert _versions(settings) == []
