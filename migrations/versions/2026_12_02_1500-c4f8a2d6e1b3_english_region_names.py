"""Regions along the RU-UA-BY borders are named as analysts write them in English
("Belgorod Oblast", not "Belgorodskaya oblast'"); the ISO name stays an alias

Revision ID: c4f8a2d6e1b3
Revises: b3e7f1a9c2d4
Create Date: 2026-12-02 15:00:00+00:00
"""

from collections.abc import Sequence

import pycountry
import sqlalchemy as sa
from alembic import op

from migrations.regions import english_names

revision: str = "c4f8a2d6e1b3"
down_revision: str | None = "b3e7f1a9c2d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The right-hand sides read the row as it was: the ISO name joins the aliases as it leaves.
RENAME = sa.text(
    "UPDATE region SET name = :english,"
    " aliases = CASE WHEN name = ANY(aliases) THEN aliases ELSE aliases || name END"
    " WHERE code = :code"
)
RESTORE = sa.text(
    "UPDATE region SET name = :iso, aliases = array_remove(aliases, :iso) WHERE code = :code"
)


def upgrade() -> None:
    for code, english in english_names().items():
        op.execute(RENAME.bindparams(code=code, english=english))


def downgrade() -> None:
    for code in english_names():
        subdivision = pycountry.subdivisions.get(code=code)
        op.execute(RESTORE.bindparams(code=code, iso=subdivision.name))
