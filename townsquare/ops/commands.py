"""Operations commands: ``townsquare backup``, ``townsquare restore``, ``townsquare worker``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @app.command("backup")
    def backup(path: Path = typer.Argument(..., help="the archive to write, e.g. townsquare-backup.tar")) -> None:
        """Back up the database, the media files and the model registry into one archive."""
        from townsquare.commands import _settings, fail
        from townsquare.errors import TownsquareError
        from townsquare.ops.backup import create_backup

        settings = _settings()
        with _progress() as report:
            try:
                out = create_backup(settings, path, progress=report)
            except TownsquareError as exc:
                raise fail(exc.message)
            except OSError as exc:
                raise fail(f"cannot write {path}: {exc.strerror or exc}")
        typer.echo(f"backup written to {out.path} ({out.bytes / 1e6:.1f} MB): {out.dialect} database at revision "
                   f"{out.revision}, {out.media_files} media files, {out.model_files} model files")

    @app.command("restore")
    def restore(
        path: Path = typer.Argument(..., help="an archive written by `townsquare backup`"),
        force: bool = typer.Option(False, "--force", help="replace a database that already has accounts"),
    ) -> None:
        """Restore a backup into the configured database, media store and data folder (stop the server first)."""
        from townsquare.commands import _settings, fail
        from townsquare.errors import TownsquareError
        from townsquare.ops.backup import restore_backup

        settings = _settings()
        with _progress() as report:
            try:
                manifest = restore_backup(settings, path, force=force, progress=report)
            except TownsquareError as exc:
                raise fail(exc.message)
        typer.echo(f"restored the backup of {manifest['created_at'][:19]} ({manifest['media_files']} media files, "
                   f"{manifest['model_files']} model files)")

    @app.command("worker")
    def worker(
        autoreply_every: float = typer.Option(30.0, help="seconds between creator auto-reply passes"),
        fine_tune_every: float = typer.Option(6.0, help="hours between `train --fine-tune` runs (0: never)"),
        train_every: float = typer.Option(168.0, help="hours between full `train --resume` runs (0: never)"),
        train_nproc: int = typer.Option(1, help="processes for the full training (torchrun, DDP)"),
        train_max_minutes: float = typer.Option(60.0, help="time budget of each training phase, minutes"),
        min_events: int = typer.Option(1000, help="no training before the event log has this many events"),
    ) -> None:
        """Background jobs: creator AI auto-replies and scheduled training (one worker per deployment)."""
        import logging
        import logging.config
        import signal

        from townsquare.commands import _settings
        from townsquare.ops.worker import Worker, WorkerConfig
        from townsquare.server.logs import log_config

        settings = _settings()
        logging.config.dictConfig(log_config(settings.log_format, False, settings.log_level))
        w = Worker(settings, WorkerConfig(autoreply_every, fine_tune_every, train_every, train_nproc,
                                          train_max_minutes, min_events))
        signal.signal(signal.SIGTERM, lambda *_: w.stop_event.set())
        try:
            w.run()
        except KeyboardInterrupt:
            w.stop_event.set()


class _progress:
    """A Rich progress bar per phase (database, media, models)."""

    def __enter__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=False)
        self.progress.__enter__()
        self.tasks: dict[str, int] = {}
        return self.report

    def report(self, phase: str, done: int, total: int) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.progress.add_task(phase, total=total)
        self.progress.update(self.tasks[phase], completed=done)

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)
        return False
