"""The `incidents` command on a fresh embedded data directory, as a user would run it."""

import os
import subprocess
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from app.core.db import libpq_url
from tests.live import INCIDENTS, KEY, ServeProcess, free_port, serve_env


@pytest.mark.slow
def test_serve_on_fresh_data_dir_then_reuse(tmp_path: Path):
    data_dir = tmp_path / "data"
    server = ServeProcess(serve_env(data_dir)).wait_ready()
    try:
        event = {
            "event_date": "2025-03-01",
            "event_type": "battles",
            "sub_event_type": "armed_clash",
            "region_code": "RU-BEL",
            "sources": [{"source_name": "ISW"}],
        }
        # The admin key is printed before the server listens, and where to go.
        assert server.admin_key, server.printed
        assert f"dashboard: http://localhost:{server.port}/" in server.printed
        headers = {"Authorization": f"Bearer {server.admin_key}"}
        created = httpx.post(
            f"{server.base_url}/v1/events", json=event, headers=headers, timeout=120
        )
        assert created.status_code == 201, created.text
    finally:
        server.terminate()
    assert (data_dir / "pg" / "PG_VERSION").exists()
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "embedded PostgreSQL left running"

    server = ServeProcess(serve_env(data_dir)).wait_ready()
    try:
        listed = httpx.get(f"{server.base_url}/v1/events", headers=headers, timeout=120)
        assert listed.status_code == 200
        assert [item["id"] for item in listed.json()["items"]] == [created.json()["id"]]
    finally:
        server.terminate()
    assert not KEY.search(server.printed), "a second start must not issue another admin key"


@pytest.mark.slow
def test_keys_create_prints_only_the_secret(tmp_path: Path):
    result = subprocess.run(
        [INCIDENTS, "keys", "create", "--name", "ci", "--role", "analyst"],
        env=serve_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert KEY.fullmatch(result.stdout.strip()), result.stdout
    current = subprocess.run(
        [INCIDENTS, "db", "check"],
        env=serve_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert current.returncode == 0, current.stderr


@pytest.mark.slow
def test_serve_refuses_a_database_behind_the_code(admin_url: str, tmp_path: Path):
    from app.core.db import with_database
    from app.core.embedded import ensure_database
    from tests.conftest import drop_database

    name = "itk_behind"
    drop_database(admin_url, name)
    ensure_database(admin_url, name)
    env = {**serve_env(tmp_path), "INCIDENTS_DATABASE_URL": with_database(admin_url, name)}
    try:
        serve = subprocess.run(
            [INCIDENTS, "serve", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert serve.returncode != 0
        assert "incidents db upgrade" in serve.stderr
        upgrade = subprocess.run(
            [INCIDENTS, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=300
        )
        assert upgrade.returncode == 0, upgrade.stderr
        check = subprocess.run(
            [INCIDENTS, "db", "check"], env=env, capture_output=True, text=True, timeout=120
        )
        assert check.returncode == 0, check.stderr
    finally:
        drop_database(admin_url, name)


def _rows_file(path: Path, count: int, bad_line: int | None = None) -> Path:
    import json

    with path.open("w") as file:
        for n in range(count):
            row = {
                "event_date": "2025-03-01",
                "event_type": "battles",
                "sub_event_type": "armed_clash",
                "region_code": "RU-BEL",
                "sources": [{"source_name": "ISW"}],
                "external_id": f"cli-{n}",
                "external_source": "cli",
                "tags": ["cli"],
            }
            if bad_line is not None and n + 1 == bad_line:
                row["lat"] = 500
            file.write(json.dumps(row) + "\n")
    return path


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([INCIDENTS, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_import_and_export_on_the_local_database(fresh_database_url: str, tmp_path: Path):
    import csv
    import json

    env = {**serve_env(tmp_path), "INCIDENTS_DATABASE_URL": fresh_database_url}
    rows = _rows_file(tmp_path / "events.ndjson", 100)
    first = _cli(["import", str(rows)], env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["created"] == 100
    again = _cli(["import", str(rows), "--on-conflict", "skip"], env)
    assert json.loads(again.stdout)["skipped"] == 100

    bad = _cli(["import", str(_rows_file(tmp_path / "bad.ndjson", 10, bad_line=7))], env)
    assert bad.returncode == 1
    assert [e["line"] for e in json.loads(bad.stdout)["errors"]] == [7]

    out = tmp_path / "out.csv"
    export = _cli(
        [
            "export",
            "-o",
            str(out),
            "-f",
            "csv",
            "--filter",
            "tag=cli",
            "--filter",
            "region=Belgorod",
        ],
        env,
    )
    assert export.returncode == 0, export.stderr
    assert export.stdout == ""  # quiet in pipes: nothing but the file
    with out.open() as file:
        records = list(csv.DictReader(file))
    assert len(records) == 100
    assert {r["external_id"] for r in records} == {f"cli-{n}" for n in range(100)}


@pytest.mark.slow
def test_import_and_export_against_a_remote_server(fresh_database_url: str, tmp_path: Path):
    import asyncio
    import json

    from tests.live import LiveServer, live_app

    async def keys() -> str:
        async with live_app(fresh_database_url) as (_, made, _client):
            return made.secrets["analyst"]

    secret = asyncio.run(keys())
    env = serve_env(tmp_path)
    with LiveServer(fresh_database_url) as server:
        remote = ["--url", server.base_url, "--key", secret]
        done = _cli(["import", str(_rows_file(tmp_path / "e.ndjson", 30)), *remote], env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["created"] == 30
        out = tmp_path / "out.ndjson"
        export = _cli(["export", "-o", str(out), "--filter", "tag=cli", *remote], env)
        assert export.returncode == 0, export.stderr
        assert len(out.read_text().splitlines()) == 30
        refused = _cli(["export", "-o", str(out), "--url", server.base_url, "--key", "itk_x"], env)
        assert refused.returncode == 1


def test_serve_refuses_production_without_a_database_before_starting_one(tmp_path: Path):
    data_dir = tmp_path / "data"
    for unsafe, reason in (
        ({}, "INCIDENTS_DATABASE_URL is unset"),
        ({"cors_origins": "https://a.example,*"}, "INCIDENTS_CORS_ORIGINS contains '*'"),
        ({"debug": "true"}, "INCIDENTS_DEBUG is on"),
        ({"log_format": "text"}, "INCIDENTS_LOG_FORMAT is not json"),
    ):
        if unsafe:  # with a database named: only the other setting is wrong
            unsafe = {"database_url": "postgresql://postgres@127.0.0.1:1/none", **unsafe}
        result = subprocess.run(
            [INCIDENTS, "serve", "--port", str(free_port())],
            env=serve_env(data_dir, env="production", **unsafe),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2, (unsafe, result.stdout, result.stderr)
        assert "refusing to start in production" in result.stderr
        assert reason in result.stderr, result.stderr
        assert not data_dir.exists(), "no embedded PostgreSQL may be initialised"


@pytest.mark.slow
def test_serve_in_production_logs_json_lines_with_request_ids_and_never_a_key(
    fresh_database_url: str, tmp_path: Path
):
    import json

    env = serve_env(tmp_path, database_url=fresh_database_url, env="production")
    server = ServeProcess(env, log_level="info").wait_ready()
    secrets: list[str] = []
    try:
        # Production prints no bootstrap secret (stdout ends up in log collectors) but says
        # how to make the first key.
        assert server.admin_key is None, server.printed
        assert "incidents keys create" in server.printed
        made = subprocess.run(
            [INCIDENTS, "keys", "create", "--name", "ops", "--role", "admin"],
            env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        admin = made.stdout.strip()
        assert KEY.fullmatch(admin), made.stdout
        secrets.append(admin)
        with httpx.Client(base_url=server.base_url, timeout=120) as client:
            response = client.get(
                "/v1/events",
                headers={"Authorization": f"Bearer {admin}", "X-Request-ID": "trace-42"},
            )
            assert response.status_code == 200
            assert response.headers["x-request-id"] == "trace-42"
            bad = "itk_not_a_key_but_it_looks_like_one_42"
            secrets.append(bad)
            refused = client.get("/v1/events", headers={"Authorization": f"Bearer {bad}"})
            assert refused.status_code == 401
            created = client.post(
                "/v1/keys",
                json={"name": "desk", "role": "analyst"},
                headers={"Authorization": f"Bearer {admin}"},
            )
            assert created.status_code == 201, created.text
            analyst = created.json()["secret"]
            secrets.append(analyst)
            used = client.get("/v1/events", headers={"Authorization": f"Bearer {analyst}"})
            assert used.status_code == 200
    finally:
        _, stderr = server.terminate()
    entries = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert entries, stderr
    assert all({"ts", "level", "logger", "msg"} <= set(entry) for entry in entries)
    access = [e for e in entries if e["logger"] == "uvicorn.access" and "/v1/" in e["msg"]]
    assert len(access) == 4, access
    assert access[0]["request_id"] == "trace-42"
    assert all(entry.get("request_id") for entry in access), access
    assert len({entry["request_id"] for entry in access}) == 4
    for secret in secrets:
        assert secret not in stderr
        assert secret not in server.printed


@pytest.mark.parametrize(
    ("max_connections", "reserved", "workers"),
    [(100, 3, 1), (100, 3, 4), (100, 3, 16), (20, 3, 2), (500, 5, 8), (10, 3, 8)],
)
def test_pools_fit_the_server(max_connections: int, reserved: int, workers: int):
    from app.core.db import plan_pools

    plan = plan_pools(max_connections, reserved, workers)
    assert plan.pool_size >= 1
    assert plan.per_worker >= 2
    if max_connections - reserved - 5 >= 2 * workers:  # room for two connections each
        headroom = max(5, max_connections // 10)
        assert workers * plan.per_worker <= max_connections - reserved - headroom


@pytest.mark.slow
def test_serve_with_workers_sizes_pools_and_keeps_idempotency_and_limits_across_them(
    fresh_database_url: str, tmp_path: Path
):
    import concurrent.futures

    import psycopg

    from app.core.db import connection_limits, libpq_url, plan_pools
    from tests.auth.test_rate_limit import wait_for_a_fresh_minute
    from tests.factories import event_body

    env = serve_env(tmp_path, database_url=fresh_database_url, rate_limit_per_minute="30")
    server = ServeProcess(env, "--workers", "2").wait_ready()
    try:
        expected = plan_pools(*connection_limits(fresh_database_url), 2)
        assert f"database pools: {expected.describe()}" in server.printed
        assert server.admin_key
        headers = {"Authorization": f"Bearer {server.admin_key}", "Idempotency-Key": "w-1"}

        def post(_: int) -> int:
            # A connection each: the requests spread over both workers.
            with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
                return client.post("/v1/events", json=event_body()).status_code

        wait_for_a_fresh_minute()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, range(16)))
        assert set(statuses) <= {201, 409}, statuses
        assert 201 in statuses

        # The rate limit is counted in PostgreSQL: 30 a minute for the key, over both workers.
        def get(_: int) -> int:
            with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
                return client.get("/v1/events").status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            gets = list(pool.map(get, range(20)))
        assert sorted(gets) == [200] * 14 + [429] * 6
    finally:
        code, stderr = server.terminate()
    assert code in (0, 143), stderr
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        assert conn.execute("SELECT count(*) FROM event").fetchone() == (1,)


def test_revoking_the_last_admin_key_is_one_line_and_exit_1(
    fresh_database_url: str, tmp_path: Path
):
    env = {**serve_env(tmp_path), "INCIDENTS_DATABASE_URL": fresh_database_url}
    made = _cli(["keys", "create", "--name", "only admin", "--role", "admin"], env)
    assert made.returncode == 0, made.stderr
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        row = conn.execute("SELECT id::text FROM api_key WHERE name = 'only admin'").fetchone()
    assert row is not None
    admin_id = row[0]
    refused = _cli(["keys", "revoke", admin_id], env)
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines()[-1].startswith("error: only admin")
    assert "last active admin key" in refused.stderr
    second = _cli(["keys", "create", "--name", "second admin", "--role", "admin"], env)
    assert second.returncode == 0, second.stderr
    assert _cli(["keys", "revoke", admin_id], env).returncode == 0


@pytest.mark.slow
def test_a_cli_command_beside_a_running_server_leaves_its_database_up(tmp_path: Path):
    data_dir = tmp_path / "data"
    env = serve_env(data_dir)
    server = ServeProcess(env).wait_ready()
    try:
        assert server.admin_key, server.printed
        headers = {"Authorization": f"Bearer {server.admin_key}"}
        # Local commands on the same data dir attach to the server's database and leave it up.
        for command in (["keys", "list"], ["keys", "create", "--name", "ci", "--role", "reader"]):
            result = _cli(command, env)
            assert result.returncode == 0, result.stderr
            assert httpx.get(f"{server.base_url}/readyz", timeout=120).status_code == 200
            listed = httpx.get(f"{server.base_url}/v1/keys", headers=headers, timeout=120)
            assert listed.status_code == 200, listed.text
        assert [key["name"] for key in listed.json()["items"]] == ["bootstrap admin", "ci"]
        # A second server on the same data dir is refused before it touches anything.
        second = subprocess.run(
            [INCIDENTS, "serve", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert second.returncode == 2
        assert "another `incidents serve`" in second.stderr
        assert str(server.process.pid) in second.stderr
        assert httpx.get(f"{server.base_url}/readyz", timeout=120).status_code == 200
    finally:
        code, stderr = server.terminate()
    assert code in (0, 143), stderr
    # The server, the last user of the database, stopped it.
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "embedded PostgreSQL left running"


@pytest.mark.slow
def test_a_server_started_beside_a_cli_command_keeps_the_database_it_shares(tmp_path: Path):
    """Whoever leaves last stops the database: here the CLI started it, serve attached."""
    data_dir = tmp_path / "data"
    env = serve_env(data_dir)
    # An import reading a slow pipe holds the database while the server starts on it.
    reader_fd, writer_fd = os.pipe()
    importing = subprocess.Popen(
        [INCIDENTS, "import", f"/dev/fd/{reader_fd}"],
        env=env,
        pass_fds=(reader_fd,),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(reader_fd)
    try:
        _wait_for_postmaster(data_dir, importing)
        server = ServeProcess(env).wait_ready()
        try:
            with os.fdopen(writer_fd, "w") as pipe:
                pipe.write(_rows_file(tmp_path / "rows.ndjson", 3).read_text())
            writer_fd = -1
            _out, err = importing.communicate(timeout=300)
            assert importing.returncode == 0, err
            assert httpx.get(f"{server.base_url}/readyz", timeout=120).status_code == 200
        finally:
            code, stderr = server.terminate()
        assert code in (0, 143), stderr
    finally:
        if writer_fd >= 0:
            os.close(writer_fd)
        if importing.poll() is None:
            importing.kill()
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "embedded PostgreSQL left running"


def _wait_for_postmaster(data_dir: Path, process: subprocess.Popen[str]) -> None:
    pid_file = data_dir / "pg" / "postmaster.pid"
    for _ in range(3000):  # a guard against hanging, not a speed check
        assert process.poll() is None, process.communicate()
        if pid_file.exists():
            return
        time.sleep(0.1)
    raise AssertionError("the CLI never started the embedded database")


def test_cli_keys_by_prefix_and_a_failed_import_in_a_few_lines(
    fresh_database_url: str, tmp_path: Path
):
    import json

    env = {**serve_env(tmp_path), "INCIDENTS_DATABASE_URL": fresh_database_url}
    for name in ("first", "second"):
        made = _cli(["keys", "create", "--name", name, "--role", "reader"], env)
        assert made.returncode == 0, made.stderr
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        ids = [row[0] for row in conn.execute("SELECT id::text FROM api_key ORDER BY name")]
    # Whole ids in the list, however narrow the terminal.
    listed = _cli(["keys", "list"], {**env, "COLUMNS": "60"})
    assert all(key_id in listed.stdout for key_id in ids), listed.stdout
    # Revoked by an unambiguous start of the id; one line and exit 1 otherwise.
    revoked = _cli(["keys", "revoke", ids[0][:8]], env)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"revoked {ids[0]}"
    for bad, says in (("zz", "is not a key id"), ("f" * 30, "No key id starts with")):
        refused = _cli(["keys", "revoke", bad], env)
        assert refused.returncode == 1
        assert "Traceback" not in refused.stderr
        assert says in refused.stderr
    # A re-import of existing rows: a summary of at most a dozen lines, and the flag to use.
    rows = _rows_file(tmp_path / "events.ndjson", 30)
    assert _cli(["import", str(rows)], env).returncode == 0
    again = _cli(["import", str(rows)], env)
    assert again.returncode == 1
    assert len(json.loads(again.stdout)["errors"]) == 30  # the whole answer, on one line
    summary = again.stderr.strip().splitlines()
    assert len(summary) == 13, again.stderr
    assert summary[0].startswith("error: 30 of 30 rows cannot be imported")
    assert summary[1].startswith("  line 1: external_id: external_id exists as event")
    assert summary[11] == "  … and 20 more lines"
    assert "--on-conflict skip" in summary[12]
    assert "--on-conflict update" in summary[12]


@pytest.mark.parametrize(
    ("configured", "env", "terminal", "used"),
    [
        ("auto", "development", True, "text"),
        ("auto", "development", False, "json"),
        ("auto", "production", True, "json"),
        ("json", "development", True, "json"),
        ("text", "development", False, "text"),
    ],
)
def test_logs_are_text_for_a_person_at_a_terminal_and_json_otherwise(
    configured: str, env: str, terminal: bool, used: str
):
    from app.core.config import Settings, log_format_for

    settings = Settings(database_url="postgresql://x/y", log_format=configured, env=env)
    assert log_format_for(settings, terminal) == used


def test_demo_loads_a_sample_with_both_sides_and_judgements(
    fresh_database_url: str, tmp_path: Path
):
    env = {**serve_env(tmp_path), "INCIDENTS_DATABASE_URL": fresh_database_url}
    made = _cli(["demo", "--events", "200"], env)
    assert made.returncode == 0, made.stderr
    assert (
        "demo: 200 events made (0 there already), 40 verified, disputed or refuted" in made.stdout
    )
    assert "http://localhost:8000/" in made.stdout
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM event GROUP BY 1").fetchall())
        stances = {row[0] for row in conn.execute("SELECT DISTINCT stance FROM source_report")}
        countries = {row[0] for row in conn.execute("SELECT DISTINCT country FROM event")}
        judges = conn.execute(
            "SELECT DISTINCT k.name FROM revision r JOIN api_key k ON k.id = r.actor"
            " WHERE r.action = 'status'"
        ).fetchall()
    assert sum(statuses.values()) == 200
    assert statuses["claimed"] == 160
    assert {"verified", "disputed"} <= set(statuses)
    assert {"supports", "denies"} <= stances
    assert countries == {"RU", "UA"}
    assert judges == [("demo verifier",)]
    again = _cli(["demo", "--events", "200"], env)
    assert "0 events made (200 there already)" in again.stdout, again.stderr
