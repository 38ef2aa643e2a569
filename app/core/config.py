"""Settings, read from INCIDENTS_* environment variables."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INCIDENTS_", extra="ignore")

    env: Literal["development", "production"] = "development"
    # JSON lines (one object per line, with request ids) or plain text, for `incidents serve`.
    # auto: text on a terminal in development, JSON lines otherwise and always in production.
    log_format: Literal["auto", "json", "text"] = "auto"
    debug: bool = False
    # Unset: an embedded PostgreSQL is started under data_dir and migrated.
    database_url: str | None = None
    read_database_url: str | None = None
    data_dir: Path = Path(".incidents")
    database_name: str = "incidents"
    pool_size: int = Field(default=10, ge=1, le=200)
    max_overflow: int = Field(default=10, ge=0, le=200)
    pool_timeout_s: float = Field(default=5.0, gt=0)
    statement_timeout_ms: int = Field(default=30_000, ge=0)
    cors_origins: Annotated[list[str], NoDecode] = []
    max_body_mb: float = Field(default=10, gt=0)
    # Imports stream their body to PostgreSQL, so they may be far larger.
    max_import_mb: float = Field(default=4096, gt=0)
    four_eyes: bool = True
    # How often the stats rollup's deltas are folded together (0: never, in this process).
    rollup_compact_interval_s: float = Field(default=60, ge=0)
    # Touching last_used_at on every request would turn reads into writes.
    key_touch_interval_s: int = Field(default=60, ge=0)
    # On SIGTERM, requests in flight get this long to finish before they are cut off.
    shutdown_grace_s: int = Field(default=30, ge=1)
    # Requests per API key per minute, counted in PostgreSQL across workers (0: no limit).
    rate_limit_per_minute: int = Field(default=0, ge=0)
    # Long work in flight, per worker process: exports (each holds a PostgreSQL connection of
    # its own while it streams) and imports, per key and (exports) in all; past them, a 429.
    exports_per_key: int = Field(default=2, ge=1)
    exports_total: int = Field(default=4, ge=1)
    imports_per_key: int = Field(default=2, ge=1)
    # An import writing at least this many events refreshes the planner's statistics of the
    # tables it wrote (ANALYZE) once it has committed: a server whose autovacuum is off, or
    # has not come round yet, would otherwise plan pages for the tables as they were.
    import_analyze_rows: int = Field(default=10_000, ge=1)
    # An export's COPY may run this long (0: no limit); a client that reads nothing for
    # export_idle_timeout_s has its export cut off and its connection freed.
    export_timeout_s: int = Field(default=900, ge=0)
    export_idle_timeout_s: float = Field(default=60, gt=0)
    # An upload that sends nothing for this long is refused (408); nothing is imported.
    upload_idle_timeout_s: float = Field(default=30, gt=0)
    # Who may read /metrics: anyone ("none", for a scraper on a private network), or keys of
    # at least this role (the scraper then sends `Authorization: Bearer itk_…`).
    metrics_role: Literal["none", "reader", "analyst", "verifier", "admin"] = "none"
    # Read-your-writes: how long a read waits for the replica to reach its LSN.
    replica_wait_ms: int = Field(default=500, ge=0, le=30_000)
    # After a failed connection, how long reads go to the primary before trying again.
    replica_retry_s: float = Field(default=5, ge=0)
    # Webhook delivery (docs/subscriptions.md): run by `incidents serve` unless this is off
    # (then by `incidents worker`); how often the queue is looked at when idle; each POST's
    # time limit; retries from retry_base_s doubling to retry_max_s (with jitter), the
    # subscription paused after max_failures in a row; how many subscriptions at once.
    webhooks_in_serve: bool = True
    webhook_poll_s: float = Field(default=1.0, gt=0, le=60)
    webhook_timeout_s: float = Field(default=10, gt=0, le=120)
    webhook_retry_base_s: float = Field(default=1, gt=0)
    webhook_retry_max_s: float = Field(default=600, gt=0)
    webhook_max_failures: int = Field(default=30, ge=1)
    webhook_concurrency: int = Field(default=16, ge=1, le=256)
    # Delivered messages are kept this many days (the deliveries page, replays).
    webhook_keep_days: int = Field(default=30, ge=1)
    # Loopback, private and link-local addresses are refused as webhook URLs unless this is
    # set (by whoever runs the service: a receiver on the same network).
    webhook_allow_private: bool = False
    # Room per process for stats answers kept under their ETag (app/stats/answers.py); 0 keeps
    # none.
    stats_answers_mb: float = Field(default=64, ge=0, le=4096)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    @property
    def max_import_bytes(self) -> int:
        return int(self.max_import_mb * 1024 * 1024)

    def unsafe_for_production(self) -> list[str]:
        """Reasons this configuration must not run with INCIDENTS_ENV=production."""
        reasons = []
        if self.embedded:
            reasons.append("INCIDENTS_DATABASE_URL is unset (embedded database)")
        if "*" in self.cors_origins:
            reasons.append("INCIDENTS_CORS_ORIGINS contains '*'")
        if self.debug:
            reasons.append("INCIDENTS_DEBUG is on")
        if self.log_format == "text":
            reasons.append("INCIDENTS_LOG_FORMAT is not json")
        return reasons


def log_format_for(settings: Settings, terminal: bool) -> Literal["json", "text"]:
    """The log format to use: text for a person at a terminal, JSON lines for collectors."""
    if settings.log_format != "auto":
        return settings.log_format
    return "text" if terminal and settings.env != "production" else "json"


@lru_cache
def get_settings() -> Settings:
    return Settings()
