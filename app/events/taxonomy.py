"""The event taxonomies: ours (ACLED's, in snake_case), the statuses and precisions, and
ACLED's own labels and codes for them (exports write them, imports read them back)."""

from typing import Literal, get_args

SUB_EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "battles": (
        "armed_clash",
        "government_regains_territory",
        "non_state_actor_overtakes_territory",
    ),
    "explosions_remote_violence": (
        "chemical_weapon",
        "air_drone_strike",
        "suicide_bomb",
        "shelling_artillery_missile_attack",
        "remote_explosive_landmine_ied",
        "grenade",
    ),
    "violence_against_civilians": (
        "sexual_violence",
        "attack",
        "abduction_forced_disappearance",
    ),
    "protests": (
        "peaceful_protest",
        "protest_with_intervention",
        "excessive_force_against_protesters",
    ),
    "riots": ("violent_demonstration", "mob_violence"),
    "strategic_developments": (
        "agreement",
        "arrests",
        "change_to_group_activity",
        "disrupted_weapons_use",
        "headquarters_or_base_established",
        "looting_property_destruction",
        "non_violent_transfer_of_territory",
        "other",
    ),
}

EventType = Literal[
    "battles",
    "explosions_remote_violence",
    "violence_against_civilians",
    "protests",
    "riots",
    "strategic_developments",
]
SubEventType = Literal[
    "armed_clash",
    "government_regains_territory",
    "non_state_actor_overtakes_territory",
    "chemical_weapon",
    "air_drone_strike",
    "suicide_bomb",
    "shelling_artillery_missile_attack",
    "remote_explosive_landmine_ied",
    "grenade",
    "sexual_violence",
    "attack",
    "abduction_forced_disappearance",
    "peaceful_protest",
    "protest_with_intervention",
    "excessive_force_against_protesters",
    "violent_demonstration",
    "mob_violence",
    "agreement",
    "arrests",
    "change_to_group_activity",
    "disrupted_weapons_use",
    "headquarters_or_base_established",
    "looting_property_destruction",
    "non_violent_transfer_of_territory",
    "other",
]

Status = Literal["claimed", "verified", "disputed", "refuted"]
STATUSES: tuple[str, ...] = get_args(Status)
# Analytic confidence in the event's account, as estimative language grades it: apart from the
# status (what a second key attests), an analyst's judgment of how well the sources hold up.
Confidence = Literal["low", "moderate", "high"]
DatePrecision = Literal["day", "week", "month"]
GeoPrecision = Literal["exact", "near", "region"]
Stance = Literal["supports", "denies", "unclear"]
Reliability = Literal["A", "B", "C", "D", "E", "F"]
Credibility = Literal["1", "2", "3", "4", "5", "6"]

# ---------------------------------------------------------------- ACLED's labels

ACLED_EVENT_TYPES = {
    "battles": "Battles",
    "explosions_remote_violence": "Explosions/Remote violence",
    "violence_against_civilians": "Violence against civilians",
    "protests": "Protests",
    "riots": "Riots",
    "strategic_developments": "Strategic developments",
}
ACLED_SUB_EVENT_TYPES = {
    "armed_clash": "Armed clash",
    "government_regains_territory": "Government regains territory",
    "non_state_actor_overtakes_territory": "Non-state actor overtakes territory",
    "chemical_weapon": "Chemical weapon",
    "air_drone_strike": "Air/drone strike",
    "suicide_bomb": "Suicide bomb",
    "shelling_artillery_missile_attack": "Shelling/artillery/missile attack",
    "remote_explosive_landmine_ied": "Remote explosive/landmine/IED",
    "grenade": "Grenade",
    "sexual_violence": "Sexual violence",
    "attack": "Attack",
    "abduction_forced_disappearance": "Abduction/forced disappearance",
    "peaceful_protest": "Peaceful protest",
    "protest_with_intervention": "Protest with intervention",
    "excessive_force_against_protesters": "Excessive force against protesters",
    "violent_demonstration": "Violent demonstration",
    "mob_violence": "Mob violence",
    "agreement": "Agreement",
    "arrests": "Arrests",
    "change_to_group_activity": "Change to group/activity",
    "disrupted_weapons_use": "Disrupted weapons use",
    "headquarters_or_base_established": "Headquarters or base established",
    "looting_property_destruction": "Looting/property destruction",
    "non_violent_transfer_of_territory": "Non-violent transfer of territory",
    "other": "Other",
}
DISORDER_TYPES = {
    "battles": "Political violence",
    "explosions_remote_violence": "Political violence",
    "violence_against_civilians": "Political violence",
    "protests": "Demonstrations",
    "riots": "Political violence",
    "strategic_developments": "Strategic developments",
}
ACLED_TIME_PRECISION = {"day": 1, "week": 2, "month": 3}
ACLED_GEO_PRECISION = {"exact": 1, "near": 2, "region": 3}
# UCDP GED's date_prec (1: the day, 3: the week, 4: the month) and where_prec (1: the exact
# place, 2: within about 25 km, 4: the first-order division; 6, the country, is given when an
# event names no region either).
UCDP_DATE_PRECISION = {"day": 1, "week": 3, "month": 4}
UCDP_WHERE_PRECISION = {"exact": 1, "near": 2, "region": 4}
assert set(ACLED_SUB_EVENT_TYPES) == {s for subs in SUB_EVENT_TYPES.values() for s in subs}

# Sub-event types that change who holds territory: an event of these carries a control claim
# (schemas.ControlClaim); any other event may.
TERRITORIAL_SUB_EVENT_TYPES = (
    "government_regains_territory",
    "non_state_actor_overtakes_territory",
    "non_violent_transfer_of_territory",
)
ControlOutcome = Literal["taken", "held"]

# Typed relations between events (events.relations), as the event that states one reads it
# ("B retakes A") and as the other event reads it ("A retaken_by B"). `contradicts` and
# `same_as` read the same both ways.
RelationKind = Literal["retakes", "responds_to", "part_of", "contradicts", "same_as"]
RELATION_INVERSES = {
    "retakes": "retaken_by",
    "responds_to": "responded_to_by",
    "part_of": "has_part",
}
SYMMETRIC_RELATIONS = ("contradicts", "same_as")
RelationLabel = Literal[
    "retakes",
    "responds_to",
    "part_of",
    "contradicts",
    "same_as",
    "retaken_by",
    "responded_to_by",
    "has_part",
]
assert set(get_args(RelationLabel)) == {*get_args(RelationKind), *RELATION_INVERSES.values()}

# What a source says came of the action it reports (SourceFigures.outcome).
ClaimedOutcome = Literal[
    "repelled", "held", "advanced", "captured", "withdrew", "destroyed", "damaged", "no_change"
]
