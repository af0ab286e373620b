"""What hands-free mode keeps. By default nothing but the words: recordings and camera frames are
used for the turn and dropped; the transcript is stored as a normal assistant turn. A person can
turn ``keep_recordings`` on (to review what was heard), list what was kept, and delete it all."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.voice.models import VoiceCapture, VoiceSettings


def settings_of(session: Session, account_id: int) -> VoiceSettings:
    found = session.get(VoiceSettings, account_id)
    return found if found is not None else VoiceSettings(account_id=account_id, keep_recordings=False)


def set_keep_recordings(session: Session, account_id: int, keep: bool) -> VoiceSettings:
    found = session.get(VoiceSettings, account_id)
    if found is None:
        found = VoiceSettings(account_id=account_id)
        session.add(found)
    found.keep_recordings = bool(keep)
    found.updated_at = utcnow()
    session.flush()
    return found


def captures_dir(data_dir: Path, account_id: int) -> Path:
    return Path(data_dir) / "voice" / str(int(account_id))


def keep(session: Session, data_dir: Path, account_id: int, conversation_id: int | None, kind: str,
         data: bytes, ext: str) -> VoiceCapture | None:
    """Store a recording or frame, only if the person opted in; returns what was kept."""
    if not data or not settings_of(session, account_id).keep_recordings:
        return None
    folder = captures_dir(data_dir, account_id)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{kind}-{secrets.token_hex(8)}.{ext}"
    (folder / name).write_bytes(data)
    capture = VoiceCapture(account_id=account_id, conversation_id=conversation_id, kind=kind, file_name=name,
                           size_bytes=len(data))
    session.add(capture)
    session.flush()
    return capture


def list_captures(session: Session, account_id: int, limit: int = 100) -> list[VoiceCapture]:
    return list(session.scalars(select(VoiceCapture).where(VoiceCapture.account_id == account_id)
                                .order_by(VoiceCapture.id.desc()).limit(limit)))


def delete_captures(session: Session, data_dir: Path, account_id: int) -> int:
    """Forget every kept recording and frame of the person (rows and files)."""
    captures = list_captures(session, account_id, limit=100_000)
    session.execute(delete(VoiceCapture).where(VoiceCapture.account_id == account_id))
    folder = captures_dir(data_dir, account_id)
    for capture in captures:
        (folder / capture.file_name).unlink(missing_ok=True)
    return len(captures)
