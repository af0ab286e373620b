"""Settings for Townsquare, read from the environment (``TOWNSQUARE_*``) and an optional TOML file.

Precedence: explicit keyword arguments > environment > config file > embedded defaults.
The embedded defaults need nothing installed beyond the package: SQLite and a media folder
under ``TOWNSQUARE_DATA_DIR`` (``./townsquare-data``) and the bundled models.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

ENV_PREFIX = "TOWNSQUARE_"


class ConfigError(ValueError):
    """A setting has a value we cannot use."""


@dataclass
class Settings:
    data_dir: Path = Path("./townsquare-data")
    # Empty means SQLite at <data_dir>/townsquare.db.
    database_url: str = ""
    # Signs session cookies; generated and kept in <data_dir>/secret_key when not given.
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Media uploads.
    max_upload_bytes: int = 20 * 1024 * 1024
    # Rate limits (requests per minute per client address) for sign-in and sign-up.
    auth_rate_limit_per_minute: int = 10
    # Failed sign-ins per account (handle or email) in 15 minutes, from any address, before a pause.
    auth_failures_per_account: int = 10
    # Proxies whose X-Forwarded-For / -Proto are believed (comma-separated addresses or CIDRs, or
    # "*"); empty = none: the TCP peer is the client.
    trusted_proxies: str = ""
    # Redis for what several workers or machines share (feed cursors, rate limits); empty = in-process.
    redis_url: str = ""
    redis_prefix: str = "townsquare"
    # How often a serving process looks for a newly activated model (seconds).
    model_reload_check_s: float = 2.0
    # LLM runtime: "embedded" (llama.cpp, bundled model) or "remote" (OpenAI-compatible server).
    llm_backend: str = "embedded"
    llm_model_path: str = ""  # a GGUF file; empty = the bundled SmolLM2-135M-Instruct
    llm_base_url: str = ""  # e.g. http://127.0.0.1:8080/v1 for vLLM / llama-server / Ollama
    llm_api_key: str = ""
    llm_model: str = ""  # model name on the remote server
    llm_context: int = 4096
    llm_threads: int = 0  # 0 = half the cores, at most 4 (see llm/embedded.py)
    llm_queue_size: int = 8
    llm_timeout_s: float = 120.0
    llm_max_tokens: int = 512  # default reply length when a caller does not say
    llm_max_retries: int = 2  # remote: retries of connection errors, HTTP 429 and 5xx, with backoff
    # Remote tool calls: "native" (the server's `tools`), "prompt" (our grammar-constrained layer,
    # llama.cpp servers), "auto" (native, and our layer when the server rejects `tools`).
    llm_tool_mode: str = "auto"
    llm_tool_threshold: float = 0.33  # MiniLM relevance below which tool_choice=auto answers in text
    llm_tool_grounders: str = "all"  # grounders of the tool layer: "all" or comma-separated names (llm/grounders.py)
    # Models per role: empty = the default model above; a path ending in .gguf = that file, embedded;
    # anything else = that model name on the remote server at llm_base_url.
    assistant_model: str = ""
    creator_model: str = ""
    guard_model: str = ""  # e.g. a Llama Guard 3 model on the remote server; empty = built-in shield
    embeddings_backend: str = "bundled"  # "bundled" (all-MiniLM-L6-v2) or "remote"
    embeddings_model: str = ""
    # Operations (docs/operations.md, docs/deploy.md).
    access_log: bool = True  # `townsquare serve` logs one line per request (townsquare.access)
    log_format: str = "text"  # "text" or "json" (one object a line)
    log_level: str = "info"
    ready_checks: str = "database,redis,rec_model,llm,media"  # what /readyz requires (all are reported)
    metrics_token: str = ""  # when set, /metrics wants "Authorization: Bearer <token>"
    preload_models: bool = True  # a server loads the active recommendation model at start, not at the first feed
    # Media files: "local" (<data_dir>/media) or "s3" (any S3-compatible store; social/media_store.py).
    media_backend: str = "local"
    media_s3_bucket: str = ""
    media_s3_prefix: str = ""
    media_s3_endpoint_url: str = ""  # MinIO, Ceph, R2...; empty = AWS
    media_s3_region: str = ""
    media_s3_access_key: str = ""  # empty = boto3's own chain (AWS_ACCESS_KEY_ID, instance roles, ...)
    media_s3_secret_key: str = ""
    media_s3_create_bucket: bool = False  # create the bucket at start when missing
    # Accounts (docs/accounts.md): the address people reach this server at, for links in e-mails
    # (empty: http://host:port); e-mail through SMTP (empty host: password reset is not offered).
    public_url: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: str = "starttls"  # "starttls", "tls" (implicit, port 465) or "none"
    mail_from: str = ""  # e.g. "Townsquare <noreply@example.org>"; empty: townsquare@<host>
    password_reset_minutes: int = 60  # how long a reset link works
    account_deletion_grace_days: float = 14.0  # signing in before then cancels a deletion
    # Hands-free mode (townsquare/voice, docs/voice.md): limits on what one turn may send.
    voice_max_audio_bytes: int = 8 * 1024 * 1024
    voice_max_audio_s: float = 60.0  # longer recordings are refused (413) before transcription
    voice_max_image_bytes: int = 10 * 1024 * 1024
    voice_max_image_pixels: int = 40_000_000
    voice_tts: str = "piper"  # "piper" (the packaged voice) or "espeak" (Debian's espeak-ng)
    # A remote OpenAI-compatible vision-language model that describes photos; empty = OCR only.
    vision_base_url: str = ""
    vision_api_key: str = ""
    vision_model: str = ""
    vision_timeout_s: float = 30.0
    config_file: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'townsquare.db').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def media_store(self):
        """Where media files are kept (local folder or S3-compatible store), as configured."""
        from townsquare.social.media_store import from_settings

        return from_settings(self)

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.media_dir.mkdir(parents=True, exist_ok=True)
        self.models_dir.mkdir(parents=True, exist_ok=True)

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data folder."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        path.write_text(key)
        return key


def _coerce(name: str, raw, target_type):
    try:
        if target_type in (int, "int"):
            return int(raw)
        if target_type in (float, "float"):
            return float(raw)
        if target_type in (bool, "bool"):
            return str(raw).lower() in ("1", "true", "yes", "on")
        if target_type in (Path, "Path") or "Path" in str(target_type):
            return Path(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r} has an invalid value {raw!r}: {exc}") from None


def load_settings(env: dict[str, str] | None = None, **overrides) -> Settings:
    """Build settings from defaults, then the config file, then the environment, then overrides."""
    env = dict(os.environ if env is None else env)
    values: dict = {}
    config_file = overrides.get("config_file") or env.get(ENV_PREFIX + "CONFIG")
    known = {f.name: f for f in fields(Settings) if f.name not in ("extra", "config_file")}
    extra: dict = {}
    if config_file:
        path = Path(config_file)
        if not path.exists():
            raise ConfigError(f"config file {path} does not exist")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        for key, value in data.items():
            if key in known:
                values[key] = _coerce(key, value, known[key].type)
            else:
                extra[key] = value
        values["config_file"] = path
    for name, f in known.items():
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            values[name] = _coerce(name, raw, f.type)
    for key, value in overrides.items():
        if value is not None and key != "config_file":
            values[key] = value
    return Settings(**values, extra=extra)
