"""Who held a place when, derived from the control claims of its events (pure logic; the map's
SQL in repository.py applies the same rule to many places at once).

A claim says a side holds the place from the event's date on: it took it, or kept it against
an attack. Its window is the event's period (one day, or the week or month of an imprecise
date). The state on a day D, from the claims dated on or before D: L is the latest claim date
among them; the claims whose windows reach L are the current ones; one side among them holds
the place, several make it contested. A new claim date is the only thing that changes the
state, so the timeline is that state at each claim date, equal neighbours merged.
"""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Claim:
    event_id: uuid.UUID
    start: dt.date
    end: dt.date
    side: str


@dataclass
class Period:
    """A stretch of time one state held: `sides` one side (held) or several (contested)."""

    state: Literal["held", "contested"]
    sides: list[str]
    start: dt.date
    # The change may have happened any day up to this one (imprecise dates); None when known.
    start_uncertain_until: dt.date | None
    # The last day before the next change; None while it lasts.
    end: dt.date | None
    claims: list[Claim] = field(default_factory=list)


def _holders(current: Sequence[Claim]) -> list[str]:
    return sorted({claim.side for claim in current})


def periods(claims: Sequence[Claim]) -> list[Period]:
    """The place's timeline from its claims (any order), oldest first."""
    ordered = sorted(claims, key=lambda claim: (claim.start, str(claim.event_id)))
    timeline: list[Period] = []
    for index, claim in enumerate(ordered):
        if index + 1 < len(ordered) and ordered[index + 1].start == claim.start:
            continue  # the state at a date is known once all its claims are in
        latest = claim.start
        seen = ordered[: index + 1]
        sides = _holders([c for c in seen if c.end >= latest])
        starting = [c for c in seen if c.start == latest]
        known_by = min(c.end for c in starting)
        if timeline and timeline[-1].sides == sides:
            timeline[-1].claims += starting
            continue
        if timeline:
            timeline[-1].end = latest - ONE_DAY
        timeline.append(
            Period(
                state="held" if len(sides) == 1 else "contested",
                sides=sides,
                start=latest,
                start_uncertain_until=known_by if known_by > latest else None,
                end=None,
                claims=list(starting),
            )
        )
    return timeline
