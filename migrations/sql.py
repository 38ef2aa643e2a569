"""The SQL files under migrations/sql/: every database function and trigger, each in one file,
loaded by the migrations with run_sql("functions/itk_event_partition").

A file is never edited once a migration loads it: a changed function is a new version,
`functions/<name>.v2.sql`, `.v3.sql`, …, loaded by the migration that changes it (whose
downgrade loads the version before). The current definition of a function is its latest
version. See migrations/README.md.

Four functions are rendered from Python (two vocabularies and the event's field list) (GENERATED); after editing one of those:

    python -m migrations.sql render     # writes the next version file of what changed
    python -m migrations.sql check      # fails if a rendered file is behind its vocabulary
"""

import importlib
import re
import sys
from collections.abc import Sequence
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent / "sql"
VERSION = re.compile(r"^(?P<name>.+?)(?:\.v(?P<version>\d+))?$")

# Rendered file -> (module, the CREATE statement's name in it).
GENERATED = {
    "functions/itk_name_key": ("migrations.name_keys", "NAME_KEY"),
    "functions/itk_unit_key": ("migrations.unit_keys", "UNIT_KEY"),
    # The event's stored document: rendered from the field list (adding a field adds a version).
    "functions/itk_event_docs": ("app.events.fields", "EVENT_DOCS"),
    # The same document rendered live, for a row that has none stored.
    "functions/itk_event_json": ("app.events.fields", "EVENT_JSON_FUNCTION"),
}


def read_sql(name: str) -> str:
    """The text of migrations/sql/<name>.sql ("functions/itk_unit_key.v2")."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no {path.relative_to(SQL_DIR.parent.parent)}")
    return path.read_text(encoding="utf-8")


def run_sql(name: str) -> None:
    """Execute migrations/sql/<name>.sql in the migration's transaction."""
    import sqlalchemy as sa
    from alembic import op

    text = read_sql(name)
    impl = op.get_context().impl
    if impl.as_sql:
        # `alembic upgrade --sql` writes it as it is (compiled, every % would be doubled).
        impl.static_output(text.strip().removesuffix(";") + impl.command_terminator)
        return
    # Verbatim: a colon in the text is not a bind parameter.
    op.execute(sa.text(text.replace(":", "\\:")))


def render_documents(version: str, quiet_triggers: Sequence[str]) -> None:
    """Load a version of itk_event_docs ("itk_event_docs.v3") and render every event's stored
    documents with it, with these triggers on event off for that one UPDATE: it changes no
    event's content, so the change feed, rollup and the like must not see it."""
    from alembic import op

    run_sql(f"functions/{version}")
    for trigger in quiet_triggers:
        op.execute(f"ALTER TABLE event DISABLE TRIGGER {trigger}")
    op.execute(
        "SELECT count(*) FROM (SELECT array_agg(id) AS ids, array_agg(event_date) AS dates"
        " FROM event) e, itk_event_docs(e.ids, e.dates)"
    )
    for trigger in quiet_triggers:
        op.execute(f"ALTER TABLE event ENABLE TRIGGER {trigger}")


def set_revision_actions(actions: Sequence[str]) -> None:
    """Make the revision log's action check allow exactly these actions."""
    from alembic import op

    allowed = ", ".join(f"'{action}'" for action in actions)
    op.drop_constraint(op.f("ck_revision_action"), "revision", type_="check")
    op.create_check_constraint(op.f("ck_revision_action"), "revision", f"action IN ({allowed})")


def remove_revision_actions(actions: Sequence[str], kept: Sequence[str]) -> None:
    """A downgrade's narrowing of the action check to `kept`, refused while the revision log
    (append-only) holds any of `actions`: they stay valid where they were recorded."""
    from alembic import op

    removed = ", ".join(f"'{action}'" for action in actions)
    op.execute(f"""DO $$ BEGIN
        IF EXISTS (SELECT FROM revision WHERE action IN ({removed}))
        THEN RAISE EXCEPTION '{" and ".join(actions)} revisions are in the append-only revision '
                             'log: this migration cannot be undone on this database';
        END IF; END $$""")
    set_revision_actions(kept)


def versions(name: str) -> list[str]:
    """Every version of a file, oldest first: ["functions/x", "functions/x.v2", …]."""
    base = VERSION.match(name)
    assert base is not None
    stem = base["name"]
    found: list[tuple[int, str]] = []
    for path in (SQL_DIR / stem).parent.glob(f"{Path(stem).name}*.sql"):
        relative = path.relative_to(SQL_DIR).with_suffix("").as_posix()
        match = VERSION.match(relative)
        if match is not None and match["name"] == stem:
            found.append((int(match["version"] or 1), relative))
    return [relative for _, relative in sorted(found)]


def latest(name: str) -> str:
    """The newest version of a file: the current definition of what it creates."""
    found = versions(name)
    if not found:
        raise FileNotFoundError(f"no migrations/sql/{name}.sql")
    return found[-1]


def next_version(name: str) -> str:
    found = versions(name)
    if not found:
        return name
    match = VERSION.match(found[-1])
    assert match is not None
    return f"{match['name']}.v{int(match['version'] or 1) + 1}"


def rendered(name: str) -> str:
    """The file a GENERATED function renders to, as its Python vocabulary has it now."""
    module, attribute = GENERATED[name]
    statement = getattr(importlib.import_module(module), attribute).strip("\n")
    source = module.replace(".", "/") + ".py"
    return (
        f"-- Rendered from {source} by `python -m migrations.sql render`: edit the vocabulary\n"
        f"-- there, then load the new version file from a new migration (migrations/README.md).\n"
        f"{statement};\n"
    )


def stale() -> list[str]:
    """The GENERATED functions whose latest file differs from what their vocabulary renders."""
    return [
        name for name in GENERATED if not versions(name) or read_sql(latest(name)) != rendered(name)
    ]


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command not in ("render", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    behind = stale()
    if command == "check":
        for name in behind:
            print(
                f"the latest version of migrations/sql/{name}.sql is behind "
                f"{GENERATED[name][0]}: run `python -m migrations.sql render`",
                file=sys.stderr,
            )
        return 1 if behind else 0
    for name in behind:
        existing, target = versions(name), next_version(name)
        (SQL_DIR / f"{target}.sql").write_text(rendered(name), encoding="utf-8")
        if not existing:
            print(f"wrote migrations/sql/{target}.sql", file=sys.stderr)
            continue
        previous = existing[-1]
        print(
            f"wrote migrations/sql/{target}.sql: load it with run_sql({target!r}) in a new "
            f"migration, whose downgrade loads run_sql({previous!r}), and recompute what stores "
            "the function's results (generated columns, their indexes)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
