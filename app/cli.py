"""The `incidents` command: thin wrappers around the services."""

import asyncio
import datetime as dt
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as keys
from app.auth.schemas import RoleName
from app.core.config import Settings, get_settings, log_format_for
from app.core.db import Database, PoolPlan, connection_limits, plan_pools
from app.core.embedded import DataDirInUse, ServeLock
from app.core.errors import AppError
from app.core.logs import log_config
from app.core.schema import SchemaBehind, prepare_database, schema_state

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
        try:
            return _run_in_session(url, settings, work)
        except AppError as error:  # a rule of the service (404, 409, …): one line, exit 1
            typer.echo(f"error: {error.detail}", err=True)
            raise typer.Exit(1) from error


def _plan_pools(url: str, settings: Settings, workers: int) -> PoolPlan:
    """Pool sizes for N workers from the tighter of the primary's and the replica's limits."""
    limits = [connection_limits(url)]
    if settings.read_database_url:
        limits.append(connection_limits(settings.read_database_url))
    return min(
        (plan_pools(max_connections, reserved, workers) for max_connections, reserved in limits),
        key=lambda plan: plan.per_worker,
    )


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
    production = settings.env == "production"
    # Checked before anything starts: the embedded database must not even be initialised.
    if production and (reasons := settings.unsafe_for_production()):
        err.print("refusing to start in production: " + "; ".join(reasons))
        raise typer.Exit(2)
    # Held until serve returns (the kernel drops it if the process dies).
    serve_lock = ServeLock(settings.data_dir)
    if settings.database_url is None:
        try:
            serve_lock.acquire()
        except DataDirInUse as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    try:
        with _database_url(settings) as url:
            if production:
                # Production output goes to log collectors: no secret is ever printed there.
                if not _run_in_session(url, settings, keys.has_usable_key):
                    typer.echo(
                        "No API keys exist yet: create the first one with "
                        "`incidents keys create --name NAME --role admin`."
                    )
            elif secret := _run_in_session(url, settings, keys.ensure_admin_key):
                typer.echo(
                    "\nNo API keys existed, so an admin key was created. "
                    "It is shown only this once:\n"
                    f"\n    {secret}\n\nUse it as `Authorization: Bearer <key>`.\n",
                )
            sys.stdout.flush()
            # Workers (and the app factory) read the resolved database from the environment.
            os.environ["INCIDENTS_DATABASE_URL"] = url
            if not {"INCIDENTS_POOL_SIZE", "INCIDENTS_MAX_OVERFLOW"} & set(os.environ):
                plan = _plan_pools(url, settings, workers)
                os.environ["INCIDENTS_POOL_SIZE"] = str(plan.pool_size)
                os.environ["INCIDENTS_MAX_OVERFLOW"] = str(plan.max_overflow)
                typer.echo(f"database pools: {plan.describe()}")
            get_settings.cache_clear()
            shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host  # noqa: S104
            typer.echo(f"dashboard: http://{shown}:{port}/   API docs: http://{shown}:{port}/docs")
            sys.stdout.flush()
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
                log_config=log_config(log_level, log_format_for(settings, sys.stderr.isatty())),
                proxy_headers=True,
                timeout_graceful_shutdown=settings.shutdown_grace_s,
            )
    finally:
        serve_lock.release()


@app.command()
def worker() -> None:
    """Deliver webhooks (and fold the stats rollup) without serving the API: for deployments
    that run delivery apart (then set INCIDENTS_WEBHOOKS_IN_SERVE=false on the servers).
    One process at a time delivers; a second waits to take over. Stops on SIGTERM/SIGINT."""
    from app.ops.background import background_work

    settings = get_settings()
    if settings.database_url is None:
        err.print(
            "[red]error:[/red] the worker shares a server's database: set INCIDENTS_DATABASE_URL."
        )
        raise typer.Exit(2)

    async def run(url: str) -> None:
        database = Database(url, settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        typer.echo("delivering webhooks (SIGTERM to stop)")
        try:
            async with background_work(database, settings, deliver=True):
                await stop.wait()
        finally:
            await database.dispose()

    with _database_url(settings) as url:
        asyncio.run(run(url))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the code's head revision."""
    from app.core.schema import upgrade_to_head

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
    table.columns[0].no_wrap = True  # ids are shown whole, however narrow the terminal
    table.columns[0].min_width = 36
    for row in _with_session(work):
        table.add_row(*row)
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id, or by the start of it that names one key."""
    import uuid

    async def work(session: AsyncSession) -> uuid.UUID:
        whole = await keys.key_by_prefix(session, key_id)
        await keys.revoke_key(session, whole)
        return whole

    typer.echo(f"revoked {_with_session(work)}")


@gazetteer_app.command("load")
def gazetteer_load(
    countries: Annotated[
        str | None, typer.Option(help="Comma-separated ISO codes, e.g. RU,UA,BY; all if unset.")
    ] = None,
) -> None:
    """Load GeoNames populated places (≥ 500 inhabitants); safe to re-run."""
    from rich.progress import Progress

    from app.core.db import libpq_url
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


@app.command()
def demo(
    events: Annotated[int, typer.Option(min=100, max=20_000, help="How many events.")] = 3000,
) -> None:
    """Load a realistic sample: the RU, UA and BY gazetteer, a few thousand events along the
    border with both sides' reports, units, and verifications and disputes by a second key.
    Safe to re-run (events made before are skipped)."""
    from app.core.db import libpq_url
    from app.demo import NoPlaces, load_demo
    from app.gazetteer.geonames import geonames_cities, load_places

    settings = get_settings()
    with _database_url(settings) as url:
        err.print("loading the RU, UA and BY gazetteer …")
        load_places(libpq_url(url), geonames_cities(["RU", "UA", "BY"]), lambda _: None)
        err.print(f"making {events:,} events …")

        async def run() -> dict[str, Any]:
            database = Database(url, settings)
            try:
                return await load_demo(database.sessionmaker, events)
            finally:
                await database.dispose()

        try:
            done = asyncio.run(run())
        except NoPlaces as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(
        f"demo: {done['created']:,} events made ({done['skipped']:,} there already), "
        f"{done['judged']:,} verified, disputed or refuted by a second key.\n"
        "Open the dashboard at http://localhost:8000/ (incidents serve) with a key "
        "(incidents keys create --name me --role analyst), and try region Belgorod Oblast, "
        "unit Akhmat Special Forces, or an event's history."
    )


def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    # Only on a terminal: in pipes and scripts the command stays quiet.
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
        transient=True,
    )


def _filters(values: list[str]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for value in values:
        name, sep, argument = value.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{value!r} is not name=value", param_hint="--filter")
        params.setdefault(name.strip(), []).append(argument)
    return params


Remote = Annotated[
    str | None, typer.Option(help="Base URL of a running server, e.g. http://host:8000.")
]
Key = Annotated[
    str | None, typer.Option(envvar="INCIDENTS_KEY", help="API key for --url (or INCIDENTS_KEY).")
]


@app.command("export")
def export_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="ndjson, csv, geojson or json.")
    ] = "ndjson",
    filter: Annotated[
        list[str] | None,
        typer.Option("--filter", help="A list filter, e.g. region=Belgorod (repeatable)."),
    ] = None,
    profile: Annotated[str | None, typer.Option(help="acled: ACLED's CSV columns.")] = None,
    url: Remote = None,
    key: Key = None,
) -> None:
    """Export every event matching the filters, streamed to a file."""
    params = _filters(filter or [])
    if profile:
        params["profile"] = [profile]
    if format not in ("ndjson", "csv", "geojson", "json"):
        raise typer.BadParameter("ndjson, csv, geojson or json", param_hint="--format")
    if url:
        written = _export_remote(url, key, format, params, output)
    else:
        written = _export_local(format, params, output)
    err.print(f"wrote {written:,} bytes to {output}")


def _export_remote(
    url: str, key: str | None, fmt: str, params: dict[str, list[str]], output: Path
) -> int:
    import httpx

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    written = 0
    with (
        httpx.stream(
            "GET",
            f"{url.rstrip('/')}/v1/exports/events.{fmt}",
            params=params,
            headers=headers,
            timeout=httpx.Timeout(30, read=None),
        ) as response,
        _progress() as progress,
    ):
        if response.status_code != 200:
            response.read()
            err.print(f"[red]error {response.status_code}:[/red] {response.text}")
            raise typer.Exit(1)
        task = progress.add_task("Exporting", total=None)
        with output.open("wb") as file:
            for chunk in response.iter_bytes():
                file.write(chunk)
                written += len(chunk)
                progress.advance(task, len(chunk))
    return written


def _export_local(fmt: str, params: dict[str, list[str]], output: Path) -> int:
    import typing

    from pydantic import ValidationError

    from app.core.db import libpq_url, session_options
    from app.exports.router import ExportParams
    from app.exports.service import plan_export

    def is_list(name: str) -> bool:
        field = ExportParams.model_fields.get(name)
        return field is not None and typing.get_origin(field.annotation) is list

    values = {name: given if is_list(name) else given[-1] for name, given in params.items()}
    try:
        query = ExportParams.model_validate(values)
    except ValidationError as exc:
        raise typer.BadParameter(str(exc), param_hint="--filter") from exc
    settings = get_settings()

    async def run(url: str) -> int:
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

        from app.auth.models import ApiKey
        from app.core.db import sqlalchemy_url
        from app.core.errors import AppError
        from app.events import check_filters

        local = ApiKey(name="incidents-cli", role="admin")  # the local database: no key needed
        engine = create_async_engine(sqlalchemy_url(url))
        try:
            # Names to codes and ids, as the API does before an export (and its 422s).
            async with AsyncSession(engine) as session:
                await check_filters(session, query, local)
        except AppError as exc:
            raise typer.BadParameter(str(exc), param_hint="--filter") from exc
        finally:
            await engine.dispose()
        export = plan_export(
            query,
            query.sort,
            fmt,  # type: ignore[arg-type]
            query.profile,
            local,
            libpq_url(url),
            session_options(settings, statement_timeout_ms=0),
            fields=query.fields,
        )
        written = 0
        with _progress() as progress, output.open("wb") as file:
            task = progress.add_task("Exporting", total=None)
            async for chunk in export.body:
                file.write(chunk)
                written += len(chunk)
                progress.advance(task, len(chunk))
        return written

    with _database_url(settings) as url:
        return asyncio.run(run(url))


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="NDJSON or CSV.")],
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="ndjson or csv (default: by extension).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only.")] = False,
    on_conflict: Annotated[str, typer.Option(help="error, skip or update.")] = "error",
    url: Remote = None,
    key: Key = None,
) -> None:
    """Import events from a file: all rows or none."""
    fmt = format or ("csv" if file.suffix.lower() == ".csv" else "ndjson")
    content_type = {"csv": "text/csv", "ndjson": "application/x-ndjson"}.get(fmt)
    if content_type is None or on_conflict not in ("error", "skip", "update"):
        raise typer.BadParameter("--format ndjson|csv, --on-conflict error|skip|update")
    if url:
        status, result = _import_remote(url, key, file, content_type, dry_run, on_conflict)
    else:
        status, result = _import_local(file, content_type, dry_run, on_conflict)
    if status < 400:
        typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    # For scripts, the whole answer on one line; for people, a summary that fits a screen.
    typer.echo(orjson.dumps(result).decode())
    for line in import_summary(result):
        typer.echo(line, err=True)
    raise typer.Exit(1)


def import_summary(result: dict[str, Any], shown: int = 10) -> list[str]:
    """A failed import in a few lines: why, the first lines' errors, and the flag that
    settles rows naming events that exist already."""
    lines = [f"error: {result.get('detail', result.get('title', 'the import failed'))}"]
    errors = result.get("errors") or []
    for item in errors[:shown]:
        if not isinstance(item, dict) or "line" not in item:
            continue
        reasons = "; ".join(
            f"{'.'.join(map(str, e.get('loc', []))) or 'line'}: {e.get('msg', '')}"
            for e in item.get("errors", [])
        )
        lines.append(f"  line {item['line']}: {reasons}")
    count = int(result.get("error_count") or len(errors))
    if count > shown:
        lines.append(f"  … and {count - shown:,} more lines")
    if any("external_id exists" in str(item) for item in errors):
        lines.append(
            "hint: rows whose external_id names an event already imported: pass "
            "--on-conflict skip to leave those events as they are, or --on-conflict update "
            "to refresh them"
        )
    return lines


def _chunks(file: Path, progress: Any) -> Iterator[bytes]:
    task = progress.add_task(f"Importing {file.name}", total=file.stat().st_size)
    with file.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            progress.advance(task, len(chunk))
            yield chunk


def _import_remote(
    url: str, key: str | None, file: Path, content_type: str, dry_run: bool, on_conflict: str
) -> tuple[int, Any]:
    import httpx

    headers = {"Content-Type": content_type}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    with _progress() as progress:
        response = httpx.post(
            f"{url.rstrip('/')}/v1/imports",
            params={"dry_run": str(dry_run).lower(), "on_conflict": on_conflict},
            content=_chunks(file, progress),
            headers=headers,
            timeout=httpx.Timeout(30, read=None, write=None),
        )
    return response.status_code, response.json()


def _import_local(
    file: Path, content_type: str, dry_run: bool, on_conflict: str
) -> tuple[int, Any]:
    from app.core.errors import AppError
    from app.imports.service import import_events

    settings = get_settings()

    async def run(url: str) -> tuple[int, Any]:
        database = Database(url, settings)
        try:
            async with database.sessionmaker() as session:
                actor = await keys.ensure_service_key(session, "incidents-cli")
                with _progress() as progress:

                    async def body() -> AsyncIterator[bytes]:
                        for chunk in _chunks(file, progress):
                            yield chunk

                    try:
                        result = await import_events(
                            session,
                            body(),
                            content_type,
                            actor,
                            dry_run,
                            on_conflict,  # type: ignore[arg-type]
                        )
                    except AppError as exc:
                        await session.rollback()
                        return exc.status, {"title": exc.title, "detail": exc.detail, **exc.extra}
                await session.commit()
                return 200, result.model_dump()
        finally:
            await database.dispose()

    with _database_url(settings) as url:
        return asyncio.run(run(url))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
