"""``townsquare backup`` / ``townsquare restore``: the database, the media files and the model registry
in one tar archive.

    townsquare backup townsquare-2026-01-01.tar      # while the server runs
    townsquare restore townsquare-2026-01-01.tar     # into an empty database (or --force)

The archive holds:

| member | what |
|---|---|
| ``manifest.json`` | format, Townsquare version, time, database dialect and schema revision, counts |
| ``database.sqlite`` | SQLite: a consistent copy taken with SQLite's online backup API (writers may go on) |
| ``database.pgdump`` | PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot) |
| ``media/<ab>/<cd>/<sha>.<ext>`` | every media file, from whichever store is configured (local or S3) |
| ``models/...`` | the model registry (every recommendation model version, ``active``, the PYMK model) |
| ``secret_key`` | the generated cookie-signing key, when the data folder has one |

A restore writes the database (SQLite: the online backup API in reverse; PostgreSQL:
``pg_restore --clean --if-exists``), upgrades its schema to this version (``migrate``), puts every
media file into the configured store (so a local backup can be restored into S3), and copies the
model registry. It refuses a database that already has accounts unless ``force`` is given.
Files are first written beside their destination and renamed, so a failed backup never leaves a
half archive under the final name.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from townsquare.errors import InvalidInput, TownsquareError

FORMAT = "townsquare.backup/1"
Progress = Callable[[str, int, int], None]  # (phase, done, total)


class BackupError(TownsquareError):
    status = 500
    code = "backup_failed"


@dataclass
class BackupSummary:
    path: Path
    dialect: str
    revision: str
    media_files: int
    model_files: int
    bytes: int


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as pg_dump / pg_restore take it."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


def sqlite_path(url: str) -> Path:
    if not url.startswith("sqlite:///"):
        raise InvalidInput(f"not a SQLite URL: {url}")
    return Path(url[len("sqlite:///"):])


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise BackupError(f"{what} failed: {lines[-1] if lines else done.returncode}")


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _dump_database(url: str, dialect: str, workdir: Path) -> tuple[str, Path]:
    if dialect == "sqlite":
        out = workdir / "database.sqlite"
        source = sqlite3.connect(str(sqlite_path(url)))
        try:
            target = sqlite3.connect(str(out))
            with target:
                source.backup(target)  # a consistent copy while others write (SQLite's online backup)
            target.close()
        finally:
            source.close()
        return "database.sqlite", out
    out = workdir / "database.pgdump"
    _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(out),
          "--dbname", libpq_url(url)], "pg_dump")
    return "database.pgdump", out


def create_backup(settings, path: Path, progress: Progress | None = None) -> BackupSummary:
    """Write the archive to ``path`` (a temporary name first, renamed at the end)."""
    from townsquare import __version__
    from townsquare.db import migrate
    from townsquare.db.engine import Database

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    url = settings.sqlalchemy_url
    db = Database(url)
    dialect = db.dialect
    db.dispose()
    try:
        revision = ",".join(sorted(migrate.current_revisions(url)))
    except Exception as exc:
        raise BackupError(f"cannot read the database at {url.split('@')[-1]}: {str(exc).splitlines()[0]}")
    store = settings.media_store
    models_dir = Path(settings.models_dir)
    model_files = sorted(p for p in models_dir.rglob("*") if p.is_file() and ".tmp-" not in str(p)) \
        if models_dir.is_dir() else []
    tmp_path = path.with_name(f".{path.name}.{os.getpid()}.partial")
    media_count = 0
    try:
        with tempfile.TemporaryDirectory(prefix="townsquare-backup-") as work, \
                tarfile.open(tmp_path, "w") as tar:
            member, dump = _dump_database(url, dialect, Path(work))
            tar.add(dump, arcname=member)
            if progress:
                progress("database", 1, 1)
            keys = list(store.keys())
            for i, key in enumerate(keys, 1):
                _add_bytes(tar, f"media/{key}", store.get(key))
                media_count += 1
                if progress:
                    progress("media", i, len(keys))
            for i, file in enumerate(model_files, 1):
                tar.add(file, arcname=f"models/{file.relative_to(models_dir).as_posix()}")
                if progress:
                    progress("models", i, len(model_files))
            secret = Path(settings.data_dir) / "secret_key"
            if secret.is_file():
                tar.add(secret, arcname="secret_key")
            manifest = {"format": FORMAT, "townsquare": __version__, "created_at": datetime.now(UTC).isoformat(),
                        "dialect": dialect, "revision": revision, "database": member,
                        "media_files": media_count, "model_files": len(model_files)}
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return BackupSummary(path, dialect, revision, media_count, len(model_files), path.stat().st_size)


def read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    except (KeyError, AttributeError, json.JSONDecodeError):
        raise InvalidInput("not a Townsquare backup (no manifest.json)")
    if manifest.get("format") != FORMAT:
        raise InvalidInput(f"unknown backup format {manifest.get('format')!r} (this version reads {FORMAT})")
    return manifest


def _database_has_accounts(url: str) -> bool:
    from sqlalchemy import inspect, text

    from townsquare.db.engine import Database

    db = Database(url)
    try:
        if "accounts" not in inspect(db.engine).get_table_names():
            return False
        with db.engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM accounts LIMIT 1")).first() is not None
    finally:
        db.dispose()


def _restore_database(url: str, manifest: dict, tar: tarfile.TarFile, workdir: Path) -> None:
    from townsquare.db.engine import Database

    db = Database(url)
    dialect = db.dialect
    db.dispose()
    if dialect != manifest["dialect"]:
        raise InvalidInput(f"the backup is of a {manifest['dialect']} database; the configured database is "
                           f"{dialect} (restore into {manifest['dialect']}, then move the data with your tools)")
    tar.extract(manifest["database"], workdir, filter="data")
    dump = workdir / manifest["database"]
    if dialect == "sqlite":
        target_path = sqlite_path(url)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(str(dump))
        target = sqlite3.connect(str(target_path))
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return
    _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--exit-on-error",
          "--single-transaction", "--dbname", libpq_url(url), str(dump)], "pg_restore")


def restore_backup(settings, path: Path, *, force: bool = False, progress: Progress | None = None) -> dict:
    """Restore an archive written by ``create_backup`` into the configured database, media store and
    data folder. Returns the manifest."""
    from townsquare.db import migrate

    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no backup at {path}")
    url = settings.sqlalchemy_url
    try:
        tar = tarfile.open(path, "r")
    except tarfile.TarError as exc:
        raise InvalidInput(f"{path} is not a backup archive ({str(exc).splitlines()[0]})")
    with tar, tempfile.TemporaryDirectory(prefix="townsquare-restore-") as work:
        manifest = read_manifest(tar)
        if not force and _database_has_accounts(url):
            raise InvalidInput("the database already has accounts: restore into an empty database, or pass "
                               "--force to replace what it holds")
        _restore_database(url, manifest, tar, Path(work))
        migrate.upgrade(url)  # an older backup comes up to this version's schema
        if progress:
            progress("database", 1, 1)
        store = settings.media_store
        models_dir = Path(settings.models_dir)
        members = [m for m in tar.getmembers() if m.isfile()]
        media = [m for m in members if m.name.startswith("media/")]
        for i, member in enumerate(media, 1):
            key = member.name[len("media/"):]
            if ".." in key.split("/"):
                raise InvalidInput(f"unsafe path in the backup: {member.name}")
            from townsquare.social.media import CONTENT_TYPES

            store.put(key, tar.extractfile(member).read(),
                      CONTENT_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream"))
            if progress:
                progress("media", i, len(media))
        models = [m for m in members if m.name.startswith("models/")]
        for i, member in enumerate(models, 1):
            rel = member.name[len("models/"):]
            target = models_dir / rel
            if ".." in Path(rel).parts:
                raise InvalidInput(f"unsafe path in the backup: {member.name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.restore")
            tmp.write_bytes(tar.extractfile(member).read())
            os.replace(tmp, target)
            if progress:
                progress("models", i, len(models))
        secret = Path(settings.data_dir) / "secret_key"
        if "secret_key" in {m.name for m in members} and (force or not secret.exists()) and not settings.secret_key:
            secret.parent.mkdir(parents=True, exist_ok=True)
            secret.write_bytes(tar.extractfile("secret_key").read())
            secret.chmod(0o600)
    return manifest
