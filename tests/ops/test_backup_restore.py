"""``townsquare backup`` / ``restore`` round trip on SQLite and PostgreSQL: database, media files,
model registry; a restore refuses a database that has accounts unless forced."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from townsquare.config import load_settings
from townsquare.db import migrate
from townsquare.db.engine import Database
from townsquare.errors import InvalidInput
from townsquare.ops.backup import create_backup, restore_backup
from townsquare.social.models import Account, Event, Media, Post


def _fill(settings, db):
    """A few accounts, posts, events, one media file and a model registry."""
    from datetime import UTC, datetime

    from townsquare.social.accounts import create_account
    from townsquare.social.events import log_events
    from townsquare.social.media import store_upload

    from .test_media_storage import _png

    with db.session() as s:
        ana = create_account(s, "ana", "correct horse")
        bo = create_account(s, "bob", "correct horse")
        media = store_upload(s, ana, _png(seed=5), media_dir=settings.media_store, max_bytes=10**7)
        s.add_all([Post(author_id=ana.id, kind="text", text=f"post {i}") for i in range(5)])
        s.flush()
        log_events(s, [{"actor_id": bo.id, "action": "like", "entity_id": p.id, "ts": datetime.now(UTC)}
                       for p in s.scalars(select(Post))])
        media_sha = media.sha256
    registry = settings.models_dir / "rec" / "20260101-000000"
    registry.mkdir(parents=True)
    (registry / "manifest.json").write_text('{"version": "20260101-000000"}')
    (registry / "model.pt").write_bytes(os.urandom(2048))
    (settings.models_dir / "rec" / "active").write_text("20260101-000000")
    return media_sha


def _snapshot(db) -> dict:
    with db.session() as s:
        return {
            "accounts": sorted(s.scalars(select(Account.handle))),
            "posts": sorted(s.scalars(select(Post.text))),
            "events": s.scalar(select(func.count()).select_from(Event)),
            "media": sorted(s.scalars(select(Media.sha256))),
        }


@contextmanager
def _target_database(backend, tmp_path):
    """An empty, migrated database of the same kind to restore into."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'restored' / 'townsquare.db'}"
        (tmp_path / "restored").mkdir()
        yield url
        return
    import psycopg
    from conftest import PG_ADMIN_URL

    name = f"townsquare_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_and_restore_round_trip(tmp_path, settings, db):
    sha = _fill(settings, db)
    before = _snapshot(db)
    archive = tmp_path / "backups" / "site.tar"
    summary = create_backup(settings, archive)
    assert summary.media_files == 1 and summary.model_files == 3
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"manifest.json", "models/rec/active", "models/rec/20260101-000000/model.pt"} <= names
    assert ("database.sqlite" if db.dialect == "sqlite" else "database.pgdump") in names
    assert not list(archive.parent.glob(".*partial"))

    with _target_database(db.dialect, tmp_path) as url:
        target = load_settings(env={}, data_dir=tmp_path / "restored-data", database_url=url, secret_key="s")
        target.ensure_dirs()
        manifest = restore_backup(target, archive)
        assert manifest["dialect"] == db.dialect
        restored = Database(url)
        try:
            assert _snapshot(restored) == before
            assert migrate.current_revisions(url) == migrate.current_revisions(db.url)
            key = next(k for k in target.media_store.keys() if sha in k)
            assert target.media_store.get(key) == settings.media_store.get(key)
            assert (target.models_dir / "rec" / "active").read_text() == "20260101-000000"
            assert (target.models_dir / "rec" / "20260101-000000" / "model.pt").read_bytes() == \
                (settings.models_dir / "rec" / "20260101-000000" / "model.pt").read_bytes()
            # A second restore into a database that now has accounts is refused, unless forced.
            with pytest.raises(InvalidInput, match="already has accounts"):
                restore_backup(target, archive)
            with restored.session() as s:
                s.add(Post(author_id=s.scalar(select(Account.id).limit(1)), kind="text", text="made after"))
            restore_backup(target, archive, force=True)
            assert _snapshot(restored) == before
        finally:
            restored.dispose()


def test_cli_backup_and_restore_errors_are_one_line(tmp_path):
    env = {**os.environ, "TOWNSQUARE_DATA_DIR": str(tmp_path / "d"), "TOWNSQUARE_SECRET_KEY": "s"}
    cli = [sys.executable, "-m", "townsquare.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
    made = subprocess.run([*cli, "backup", str(tmp_path / "b.tar")], env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert "backup written to" in made.stdout
    (tmp_path / "junk.tar").write_bytes(b"not a tar file at all")
    bad = subprocess.run([*cli, "restore", str(tmp_path / "junk.tar")], env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.strip().startswith("error:") and len(bad.stderr.strip().splitlines()) == 1
    other = {**env, "TOWNSQUARE_DATA_DIR": str(tmp_path / "other")}
    ok = subprocess.run([*cli, "restore", str(tmp_path / "b.tar")], env=other, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
