"""No Docker engine here: read docker-compose.yml and the Dockerfile and check what they run."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_services_and_commands():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "migrate", "api", "worker"}

    db = services["db"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]

    migrate = services["migrate"]
    assert migrate["build"] == "."
    assert migrate["command"] == ["alembic", "upgrade", "head"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"

    api = services["api"]
    assert api["command"][:2] == ["incidents", "serve"]
    assert "--workers" in api["command"]
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert api["environment"]["INCIDENTS_ENV"] == "production"
    # Webhooks are delivered by the worker, not by the API's processes.
    assert api["environment"]["INCIDENTS_WEBHOOKS_IN_SERVE"] == "false"
    worker = services["worker"]
    assert worker["command"] == ["incidents", "worker"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert worker["environment"]["INCIDENTS_ENV"] == "production"
    # Every service that talks to PostgreSQL points at the db service with the same credentials.
    user = db["environment"]["POSTGRES_USER"]
    password = db["environment"]["POSTGRES_PASSWORD"]
    name = db["environment"]["POSTGRES_DB"]
    expected = f"postgresql://{user}:{password}@db:5432/{name}"
    for service in (migrate, api, worker):
        assert service["environment"]["INCIDENTS_DATABASE_URL"] == expected
    port = api["command"][api["command"].index("--port") + 1]
    assert api["ports"] == [f"{port}:{port}"]


def test_dockerfile_installs_what_compose_runs():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for needed in (
        "COPY app ./app",
        "COPY migrations ./migrations",
        "alembic.ini",
        "pip install .",
    ):
        assert needed in dockerfile
    assert "USER " in dockerfile  # not root
    for path in ("app", "migrations", "alembic.ini", "pyproject.toml", "README.md"):
        assert (ROOT / path).exists()
