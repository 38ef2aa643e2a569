"""The `incidents` command: thin wrappers around the services."""

import asyncio
import datetime as dt
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as keys
from app.auth.schemas import RoleName
from app.config import Settings, get_settings
from app.db import Database, SchemaBehind, prepare_database, schema_state

app = typer.Typer(help="incident-tracker: located events with provenance and history.")
db_app = typer.Typer(help="The database schema (Alembic).")
keys_app = typer.Typer(help="API keys.")
gazetteer_app = typer.Typer(help="Places and regions.")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(gazetteer_app, name="gazetteer")

err = Console(stderr=True)
T = TypeVar("T")


@contextmanager
def _database_url(settings: Settings) -> Iterator[str]:
    """The database to work on; an embedded one is started for the block and stopped after."""
    try:
        url, embedded = prepare_database(settings)
    except SchemaBehind as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    try:
        yield url
    finally:
        if embedded is not None:
            embedded.stop()


def _run_in_session(
    url: str, settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """Run work in one committed transaction."""

    async def run() -> T:
        database = Database(url, settings)
        try:
            async with database.sessionmaker() as session, session.begin():
                return await work(session)
        finally:
            await database.dispose()

    return asyncio.run(run())


def _with_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    settings = get_settings()
    with _database_url(settings) as url:
        return _run_in_session(url, settings, work)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Start the API (on the embedded database unless INCIDENTS_DATABASE_URL is set)."""
    import uvicorn

    settings = get_settings()
    with _database_url(settings) as url:
        secret = _run_in_session(url, settings, keys.ensure_admin_key)
        if secret:
            typer.echo(
                "\nNo API keys existed, so an admin key was created. It is shown only this once:\n"
                f"\n    {secret}\n\nUse it as `Authorization: Bearer <key>`.\n",
            )
            sys.stdout.flush()
        # Workers (and the app factory) read the resolved database from the environment.
        os.environ["INCIDENTS_DATABASE_URL"] = url
        get_settings.cache_clear()
        # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into an exit that
        # unwinds this block, so the embedded PostgreSQL is stopped too.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            proxy_headers=True,
        )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the code's head revision."""
    from app.db import upgrade_to_head

    settings = get_settings()
    if settings.database_url is None:
        with _database_url(settings):
            pass  # the embedded server is migrated as it starts
    else:
        upgrade_to_head(settings.database_url)
    typer.echo("database is at head")


def _state(settings: Settings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if settings.database_url is not None:
        state = schema_state(settings.database_url)
        return state.current, state.head
    with _database_url(settings) as url:
        state = schema_state(url)
    return state.current, state.head


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the code's head."""
    current, head = _state(get_settings())
    typer.echo(f"current: {', '.join(current) or '(none)'}\nhead:    {', '.join(head)}")


@db_app.command("check")
def db_check() -> None:
    """Exit 1 unless the database is at the code's head revision."""
    current, head = _state(get_settings())
    if set(current) != set(head):
        err.print(f"database at {list(current)}, code at {list(head)}")
        raise typer.Exit(1)
    typer.echo("database is at head")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    role: Annotated[RoleName, typer.Option(help="reader, analyst, verifier or admin.")],
    expires_in_days: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Create a key and print only its secret on stdout."""
    expires_at = (
        dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_in_days) if expires_in_days else None
    )

    async def work(session: AsyncSession) -> str:
        _, secret = await keys.create_key(session, name, role, expires_at)
        return secret

    typer.echo(_with_session(work))


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""

    async def work(session: AsyncSession) -> list[list[str]]:
        rows, cursor = [], None
        while True:
            page = await keys.list_keys(session, 1000, cursor)
            rows += [
                [
                    str(k.id),
                    k.name,
                    k.role,
                    k.prefix,
                    str(k.expires_at or ""),
                    str(k.revoked_at or ""),
                    str(k.last_used_at or ""),
                ]
                for k in page.items
            ]
            if not (cursor := page.next_cursor):
                return rows

    table = Table("id", "name", "role", "prefix", "expires", "revoked", "last used")
    for row in _with_session(work):
        table.add_row(*row)
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by id."""
    import uuid

    async def work(session: AsyncSession) -> None:
        await keys.revoke_key(session, uuid.UUID(key_id))

    _with_session(work)
    typer.echo(f"revoked {key_id}")


@gazetteer_app.command("load")
def gazetteer_load(
    countries: Annotated[
        str | None, typer.Option(help="Comma-separated ISO codes, e.g. RU,UA,BY; all if unset.")
    ] = None,
) -> None:
    """Load GeoNames populated places (≥ 500 inhabitants); safe to re-run."""
    from rich.progress import Progress

    from app.db import libpq_url
    from app.gazetteer.geonames import geonames_cities, load_places

    wanted = [code.strip().upper() for code in countries.split(",")] if countries else None
    cities = geonames_cities(wanted)
    with (
        _database_url(get_settings()) as url,
        Progress(console=err, disable=not err.is_terminal, transient=True) as progress,
    ):
        task = progress.add_task("Loading places", total=len(cities))
        counts = load_places(
            libpq_url(url), cities, lambda advance: progress.advance(task, advance)
        )
    typer.echo(
        f"{len(cities)} places: {counts['inserted']} new, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged"
    )


def main() -> None:
    app()
