"""The schema's Alembic revision: migrate to head, or refuse a database behind the code."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.core.db import sqlalchemy_url, with_database
from app.core.embedded import EmbeddedServer, ensure_database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a % in a password.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade_to_head(url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(url), "head")


@dataclass(frozen=True)
class SchemaState:
    current: tuple[str, ...]
    head: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        return set(self.current) == set(self.head)


@cache
def code_heads() -> tuple[str, ...]:
    """The Alembic head revision(s) this code expects."""
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config("postgresql://")).get_heads())


def schema_state(url: str) -> SchemaState:
    """Which Alembic revision the database is at, and which the code expects."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    head = code_heads()
    engine = create_engine(sqlalchemy_url(url), poolclass=None)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()
    return SchemaState(current=tuple(current), head=tuple(head))


class SchemaBehind(RuntimeError):
    pass


def prepare_database(settings: Settings) -> tuple[str, EmbeddedServer | None]:
    """Resolve the database URL: start and migrate the embedded server, or check a given one.

    With INCIDENTS_DATABASE_URL set the schema is never changed here: a server that is
    behind the code is refused (run `incidents db upgrade`).
    """
    if settings.database_url is None:
        embedded = EmbeddedServer(settings.data_dir)
        admin_url = embedded.start()
        ensure_database(admin_url, settings.database_name)
        url = with_database(admin_url, settings.database_name)
        upgrade_to_head(url)
        return url, embedded
    state = schema_state(settings.database_url)
    if not state.at_head:
        raise SchemaBehind(
            f"database schema is at {list(state.current) or 'nothing'}, the code needs "
            f"{list(state.head)}: run `incidents db upgrade`"
        )
    return settings.database_url, None
