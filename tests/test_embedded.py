"""The embedded PostgreSQL's own settings (app/core/embedded.py)."""

import time
from pathlib import Path

import psycopg

from app.core.db import libpq_url
from app.core.embedded import SETTINGS, EmbeddedServer


def _shown(url: str, name: str, expected: str) -> str:
    """SHOW name, waiting (a reload reaches the server's processes a moment later) until it
    is the expected value or a generous guard against hanging passes."""
    deadline = time.monotonic() + 60
    while True:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            row = conn.execute(f"SHOW {name}").fetchone()
        assert row is not None
        if row[0] == expected or time.monotonic() > deadline:
            return str(row[0])
        time.sleep(0.1)


def test_the_embedded_server_has_room_for_large_imports_and_keeps_an_operators_values(
    tmp_path: Path,
):
    server = EmbeddedServer(tmp_path)
    url = server.start()
    try:
        for name, value in SETTINGS.items():
            assert _shown(url, name, value) == value
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET max_wal_size = '2GB'")
            conn.execute("ALTER SYSTEM RESET checkpoint_timeout")
    finally:
        server.stop()
    # Started again: the operator's own value stays, a setting reset to the default is set.
    url = server.start()
    try:
        assert _shown(url, "max_wal_size", "2GB") == "2GB"
        assert _shown(url, "checkpoint_timeout", "30min") == "30min"
    finally:
        server.stop()
