"""ISO 3166-2 subdivisions as region rows, with English short names as aliases.

Kept apart from the migration so that later data migrations (aliases) can reuse it.
"""

from typing import Any

import pycountry


def region_rows() -> list[dict[str, Any]]:
    rows = []
    for subdivision in pycountry.subdivisions:
        rows.append(
            {
                "code": subdivision.code,
                "country": subdivision.country_code,
                "name": subdivision.name,
                "type": subdivision.type,
                "parent_code": subdivision.parent_code,
                "aliases": [],
            }
        )
    return rows
