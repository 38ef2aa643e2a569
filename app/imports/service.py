"""Bulk import: stream the body, validate each row, COPY the good ones into a staging
table, check the set in SQL, then write everything in a few set-based statements.

All or nothing: one bad row and nothing is written; the response names the lines.
"""

import logging
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, Literal, cast

import anyio
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.errors import RequestTimeout, UnprocessableContent, UnsupportedMediaType
from app.core.metrics import IMPORT_ROWS
from app.imports import parsing, repository

log = logging.getLogger("app.imports")

OnConflict = Literal["error", "skip", "update"]
MAX_REPORTED_ERRORS = 1000
IMPORT_WORK_MEM = "256MB"


# Bodies up to this size stay in memory; larger ones go to a temporary file (TMPDIR).
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
REPLAY_CHUNK_BYTES = 1024 * 1024


@contextmanager
def spooled() -> Iterator[BinaryIO]:
    """A temporary file for one upload, removed when the import ends."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
        yield cast(BinaryIO, spool)


async def receive(body: AsyncIterator[bytes], spool: BinaryIO, idle_timeout_s: float) -> None:
    """Copy the whole body into the spool; 408 if it sends nothing for idle_timeout_s (the
    body size limit is the middleware's)."""
    chunks = aiter(body)
    while True:
        try:
            with anyio.fail_after(idle_timeout_s):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise RequestTimeout(
                f"The upload sent nothing for {idle_timeout_s:g} s; nothing was imported. "
                "Send the file again."
            ) from None
        spool.write(chunk)
    spool.seek(0)


async def replay(spool: BinaryIO) -> AsyncIterator[bytes]:
    """The spooled body again, in chunks."""
    while chunk := spool.read(REPLAY_CHUNK_BYTES):
        yield chunk


class LineError(BaseModel):
    line: int
    errors: list[dict[str, Any]]


class ImportResult(BaseModel):
    dry_run: bool
    on_conflict: OnConflict
    rows: int
    created: int
    updated: int
    skipped: int


class _Errors:
    """Per-line errors, the first MAX_REPORTED_ERRORS kept, all counted."""

    def __init__(self) -> None:
        self.by_line: dict[int, list[dict[str, Any]]] = {}
        self.count = 0
        # Every line counted, a bit each: a line past the first thousand may get an error
        # from several checks and is still one line.
        self._counted = bytearray()

    def add(self, line: int, errors: list[dict[str, Any]]) -> None:
        byte, bit = divmod(line, 8)
        if byte >= len(self._counted):
            self._counted.extend(bytes(byte + 1 - len(self._counted)))
        if not self._counted[byte] & (1 << bit):
            self._counted[byte] |= 1 << bit
            self.count += 1
            if len(self.by_line) < MAX_REPORTED_ERRORS:
                self.by_line[line] = []
        if line in self.by_line:
            self.by_line[line] += errors

    def report(self) -> list[dict[str, Any]]:
        return [{"line": line, "errors": errors} for line, errors in sorted(self.by_line.items())][
            :MAX_REPORTED_ERRORS
        ]


def body_format(content_type: str | None) -> Literal["ndjson", "csv"]:
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
        return "ndjson"
    if media in ("text/csv", "application/csv"):
        return "csv"
    raise UnsupportedMediaType(
        "Send NDJSON (application/x-ndjson) or CSV (text/csv), our columns or ACLED's."
    )


async def _stage(body: AsyncIterator[bytes], fmt: str, copy: Any, errors: _Errors) -> int:
    """Parse the streamed body into the COPY; returns the number of data rows."""
    rows = 0
    if fmt == "ndjson":
        lines = parsing.NdjsonLines()
        number = 0

        async def handle(batch: list[bytes | parsing.LineTooLong]) -> None:
            nonlocal number, rows
            for raw in batch:
                number += 1
                if isinstance(raw, parsing.LineTooLong):
                    rows += 1
                    errors.add(number, [{"loc": [], "msg": raw.message}])
                    continue
                if not raw.strip():
                    continue
                rows += 1
                try:
                    row = parsing.ndjson_row(number, raw)
                except parsing.RowError as exc:
                    errors.add(number, exc.errors)
                    continue
                if not errors.count:  # once anything failed, nothing will be written
                    await copy.write_row(row)

        async for chunk in body:
            await handle(lines.feed(chunk))
        await handle(lines.feed(b"", final=True))
        return rows

    records = parsing.CsvRecords()
    header: list[str] | None = None
    layout = "ours"
    number = 0

    async def handle_records(batch: list[list[str]]) -> None:
        nonlocal header, layout, number, rows
        for record in batch:
            number += 1
            if not record:  # a blank line: counted, as a spreadsheet shows it, and skipped
                continue
            if header is None:
                header = record
                layout = parsing.csv_layout(header)
                continue
            rows += 1
            try:
                row = parsing.csv_row(number, layout, header, record)
            except parsing.RowError as exc:
                errors.add(number, exc.errors)
                continue
            if not errors.count:
                await copy.write_row(row)

    try:
        async for chunk in body:
            await handle_records(records.feed(chunk))
        await handle_records(records.feed(b"", final=True))
    except parsing.RowError as exc:  # the header itself
        raise UnprocessableContent(
            "The CSV header has columns this import does not know.",
            [{"line": 1, "errors": exc.errors}],
        ) from exc
    except parsing.CsvSyntaxError as exc:
        raise UnprocessableContent(
            f"The body is not valid CSV: {exc}.",
            [{"line": number + 1, "errors": [{"loc": [], "msg": str(exc)}]}],
        ) from exc
    if header is None:
        raise UnprocessableContent("The CSV body is empty.", [{"line": 1, "errors": []}])
    return rows


# What an import writes and pages, stats and searches plan from: partitioned tables are
# analyzed with their partitions.
ANALYZED_AFTER_IMPORT = (
    "event", "event_key", "source_report", "event_unit", "event_rollup", "unit",
)  # fmt: skip


async def refresh_statistics(engine: AsyncEngine) -> None:
    """ANALYZE the tables a large import wrote, each in a transaction of its own; a failure
    is logged (the import has committed, and autovacuum would come round in time)."""
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            # A partition of millions of rows may take longer than a request may (and the
            # connection goes back to the pool with the service's limit).
            await conn.execute(text("SET statement_timeout = 0"))
            try:
                for table in ANALYZED_AFTER_IMPORT:
                    await conn.execute(text(f"ANALYZE {table}"))
            finally:
                await conn.execute(text("RESET statement_timeout"))
    except Exception:  # logged: the client has its answer, and nothing to do about it
        log.warning("refreshing statistics after an import failed", exc_info=True)
        return
    log.info("statistics refreshed after an import in %.2f s", time.perf_counter() - started)


async def import_events(
    session: AsyncSession,
    body: AsyncIterator[bytes],
    content_type: str | None,
    actor: uuid.UUID,
    dry_run: bool,
    on_conflict: OnConflict,
) -> ImportResult:
    """Import NDJSON or CSV in one transaction; 422 naming the lines if any row is bad."""
    fmt = body_format(content_type)
    # Uploads of millions of rows outlast the per-statement limit of ordinary requests, and
    # their set-based sorts and aggregations (the rollup trigger's among them) should not
    # spill to disk.
    await session.execute(text("SET LOCAL statement_timeout = 0"))
    await session.execute(text(f"SET LOCAL work_mem = '{IMPORT_WORK_MEM}'"))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    conn = raw.driver_connection
    assert conn is not None
    await repository.create_staging(conn)
    errors = _Errors()
    async with conn.cursor() as cursor, repository.copy_staging(cursor) as copy:
        rows = await _stage(body, fmt, copy, errors)
    if rows == 0 and not errors.count:
        raise UnprocessableContent("The body holds no rows.", [{"line": 1, "errors": []}])
    if not errors.count:
        for line, field, message in await repository.check_staging(
            conn, reject_existing=on_conflict == "error", update=on_conflict == "update"
        ):
            errors.add(line, [{"loc": [field], "msg": message}])
    if errors.count:
        IMPORT_ROWS.labels("rejected").inc(rows)
        raise UnprocessableContent(
            f"{errors.count} of {rows} rows cannot be imported; nothing was written.",
            errors.report(),
            rows=rows,
            error_count=errors.count,
        )
    new, matching = await repository.counts(conn)
    if dry_run:
        await session.rollback()
        return ImportResult(
            dry_run=True,
            on_conflict=on_conflict,
            rows=rows,
            created=new,
            updated=matching if on_conflict == "update" else 0,
            skipped=matching if on_conflict == "skip" else 0,
        )
    changed = await repository.apply(conn, actor, update=on_conflict == "update")
    IMPORT_ROWS.labels("created").inc(new)
    IMPORT_ROWS.labels("updated").inc(changed)
    IMPORT_ROWS.labels("skipped").inc(matching - changed)
    return ImportResult(
        dry_run=False,
        on_conflict=on_conflict,
        rows=rows,
        created=new,
        updated=changed,
        skipped=matching - changed,
    )
