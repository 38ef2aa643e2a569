"""Alembic environment: sync psycopg 3, URL from the config or INCIDENTS_DATABASE_URL."""

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool, text

from app.core.db import sqlalchemy_url
from app.core.models import Base
from migrations.metadata import include_object, load_all_models

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

load_all_models()
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("INCIDENTS_DATABASE_URL")
    if not url:
        raise SystemExit(
            "Set INCIDENTS_DATABASE_URL (or use `incidents db upgrade`, which knows the embedded one)"
        )
    return sqlalchemy_url(url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(_url(), poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        compare_server_default=False,
    )
    with context.begin_transaction():
        # One migrator at a time (two processes starting on one fresh database, or several
        # deployments at once): the others wait, then find the schema at head.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('alembic', 0))"))
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
