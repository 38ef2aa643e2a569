"""The ACLED event taxonomy, in snake_case."""

from typing import Literal

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
DatePrecision = Literal["day", "week", "month"]
GeoPrecision = Literal["exact", "near", "region"]
Stance = Literal["supports", "denies", "unclear"]
Reliability = Literal["A", "B", "C", "D", "E", "F"]
Credibility = Literal["1", "2", "3", "4", "5", "6"]
