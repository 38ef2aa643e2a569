"""The estimate of fatalities where the stats and filters can reach it, and sources that can
be corrected or removed. Each event stores its estimate of fatalities (low, best, high, from
its sources' claims) and whether its sources' figures are disputed, written with its documents
(itk_event_docs v5, which also adds `figures_disputed` to the JSON and the four to the CSV
line); the rollup sums low, best and high per bucket (itk_rollup_* v2). Existing events are
rendered again with the triggers that follow content off, and their sums are appended to the
rollup as deltas of their own. The revision log takes two more actions: source_changed and
source_removed.

Revision ID: b2f7d4a9c1e6
Revises: a1e6c3f8b4d2
Create Date: 2026-12-03 15:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.sql import (
    remove_revision_actions,
    render_documents,
    run_sql,
    set_revision_actions,
)

revision: str = "b2f7d4a9c1e6"
down_revision: str | None = "a1e6c3f8b4d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIONS = ("create", "update", "status", "source_added", "delete", "restore", "merge",
           "merged_into", "import", "unit_changed", "unmerge", "unmerged", "relation_added",
           "relation_removed", "confidence")  # fmt: skip
# A source's report corrected (regraded, another stance or figures) or taken off its event.
SOURCE_ACTIONS = ("source_changed", "source_removed")
QUIET = ("event_changes_update", "event_rollup_update", "event_key_update",
         "event_children_follow_date", "event_control_claims_update")  # fmt: skip
BOUNDS = ("fatalities_low", "fatalities_best", "fatalities_high")
ROLLUP = ("grain", "bucket", "date_precision", "country", "region_code", "event_type", "status")
ROLLUP_INCLUDE = ["date_precision", "country", "region_code", "event_type", "status", "events",
                  "fatalities"]  # fmt: skip
ROLLUP_FUNCTIONS = ("insert", "update", "delete", "compact")


def _rollup_index(include: list[str]) -> None:
    op.drop_index("ix_event_rollup_grain_bucket", table_name="event_rollup")
    op.create_index(
        "ix_event_rollup_grain_bucket",
        "event_rollup",
        ["grain", "bucket"],
        postgresql_include=include,
    )


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    set_revision_actions((*ACTIONS, *SOURCE_ACTIONS))
    for name in BOUNDS:
        op.add_column("event", sa.Column(name, sa.Integer(), nullable=True))
        op.add_column(
            "event_rollup", sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)
        )
    op.add_column(
        "event",
        sa.Column(
            "figures_disputed", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    _rollup_index([*ROLLUP_INCLUDE, *BOUNDS])
    run_sql("functions/itk_figures_disputed")
    for name in ROLLUP_FUNCTIONS:
        run_sql(f"functions/itk_rollup_{name}.v2")
    render_documents("itk_event_docs.v5", QUIET)
    # The rollup did not see that UPDATE: the events' sums go in as deltas (no events, no
    # recorded fatalities) that the compactor folds into their buckets.
    keys = ", ".join(ROLLUP)
    op.execute(f"""
        INSERT INTO event_rollup ({keys}, events, fatalities, {", ".join(BOUNDS)})
        SELECT g.grain, date_trunc(g.grain, e.event_date)::date,
               CASE g.grain WHEN 'day' THEN e.date_precision ELSE '' END,
               e.country, e.region_code, e.event_type, e.status, 0, 0,
               {", ".join(f"sum(coalesce(e.{name}, 0))" for name in BOUNDS)}
        FROM event e CROSS JOIN (VALUES ('day'), ('week'), ('month')) AS g(grain)
        WHERE e.deleted_at IS NULL
          AND greatest(e.fatalities_low, e.fatalities_best, e.fatalities_high) > 0
        GROUP BY 1, 2, 3, 4, 5, 6, 7""")
    op.create_index(
        "ix_event_disputed_date",
        "event",
        ["event_date"],
        postgresql_where=sa.text("figures_disputed"),
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    remove_revision_actions(SOURCE_ACTIONS, kept=ACTIONS)
    op.drop_index("ix_event_disputed_date", table_name="event")
    for name in ROLLUP_FUNCTIONS:
        run_sql(f"functions/itk_rollup_{name}")
    render_documents("itk_event_docs.v4", QUIET)
    # Fold the deltas first, so no row is left holding only estimate sums.
    op.execute("SELECT itk_rollup_compact()")
    op.execute("DELETE FROM event_rollup WHERE events = 0 AND fatalities = 0")
    _rollup_index(ROLLUP_INCLUDE)
    for name in BOUNDS:
        op.drop_column("event_rollup", name)
        op.drop_column("event", name)
    op.drop_column("event", "figures_disputed")
    op.execute("DROP FUNCTION itk_figures_disputed(jsonb)")
