"""The static description of one game: entity ids and names, initial facts, goal.

Entities carry PDDL ids in the original's mangled form (``cabinet_bar__minus_01_dot_23_...``)
and the visible names the original's demangler gives them (``cabinet 3``), so a
game generated here exports to a ``game.tw-pddl`` file that names everything the
same way in the original engine.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Mapping

from prism_gym.envs.alfworld.tables import GOAL_TEMPLATES, TASK_TYPES

_MANGLE = (("-", "_minus_"), ("|", "_bar_"), ("+", "_plus_"), (".", "_dot_"), (",", "_comma_"))


def mangle(thor_id: str) -> str:
    """A THOR id made PDDL-legal the way the original does it."""
    for old, new in _MANGLE:
        thor_id = thor_id.replace(old, new)
    return thor_id.lower()


def demangle_names(ids, shuffle_seed: int | None = None) -> dict[str, str]:
    """Visible names for PDDL ids, by the original's demangler rule.

    Ids are sorted; the base name is the part before the first ``_bar_`` (plus
    ``basin`` for sink and bathtub basins); within one base name the first
    sorted id gets the highest number. Ids without ``_bar_`` keep their id.
    With ``shuffle_seed`` (domain randomisation) the sorted ids are shuffled
    first, as the original does with Python's ``random`` seeded to that value;
    the numbering then matches the original's only if ``ids`` is every name the
    problem declares (types and agent included, see :meth:`Game.declared_names`).
    """
    groups: dict[str, list[str]] = defaultdict(list)
    names: dict[str, str] = {}
    ordered = sorted(set(ids))
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(ordered)
    for entity_id in ordered:
        if "_bar_" not in entity_id:
            names[entity_id] = entity_id
            continue
        base = entity_id.split("_bar_", 1)[0]
        if "basin" in entity_id:
            base += "basin"
        groups[base].append(entity_id)
    for base, members in groups.items():
        n = len(members)
        for i, entity_id in enumerate(members):
            names[entity_id] = f"{base} {n - i}"
    return names


@dataclass(frozen=True)
class Goal:
    """A task: its type, the target object type, the goal receptacle type
    (``parent``), the lamp type for look tasks, and the goal sentence."""

    task_type: str
    object_type: str
    parent_type: str = ""
    toggle_type: str = ""
    sentence: str = ""

    def __post_init__(self):
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"unknown task type {self.task_type!r}")

    @staticmethod
    def sentence_for(task_type: str, object_type: str, parent_type: str, toggle_type: str, template: int) -> str:
        return GOAL_TEMPLATES[task_type][template].format(
            obj=object_type.lower(), recep=parent_type.lower(), toggle=toggle_type.lower())


@dataclass(frozen=True)
class Game:
    """Everything the engine needs to play one game from its initial state.

    ``receptacles`` maps receptacle id -> (type, location id); ``objects``
    maps object id -> type. ``in_receptacle`` and ``object_location`` are the
    initial ``inReceptacle`` / ``objectAtLocation`` facts; ``inner`` maps a
    movable receptacle (mug, bowl, ...) to the objects inside it. Property and
    state sets hold object ids (``opened`` receptacle ids).
    """

    receptacles: Mapping[str, tuple[str, str]]
    objects: Mapping[str, str]
    locations: tuple[str, ...]
    start_location: str
    goal: Goal
    in_receptacle: Mapping[str, str]
    object_location: Mapping[str, str]
    inner: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    openable: frozenset = frozenset()
    opened: frozenset = frozenset()
    pickupable: frozenset = frozenset()
    receptacle_objects: frozenset = frozenset()
    heatable: frozenset = frozenset()
    coolable: frozenset = frozenset()
    cleanable: frozenset = frozenset()
    toggleable: frozenset = frozenset()
    sliceable: frozenset = frozenset()
    is_hot: frozenset = frozenset()
    is_cool: frozenset = frozenset()
    is_clean: frozenset = frozenset()
    is_on: frozenset = frozenset()
    is_toggled: frozenset = frozenset()
    is_sliced: frozenset = frozenset()
    # (receptacle type, object type) pairs of the problem's canContain facts
    can_contain: frozenset = frozenset()
    dialect: str = "2.1.2"
    game_id: str = ""
    # every name the PDDL problem declares, lowercased (loaded games keep the
    # file's list; generated games derive it as their export declares it)
    declared: tuple = ()
    metadata: Mapping[str, object] = field(default_factory=dict)

    def declared_names(self) -> list[str]:
        """Every name of the PDDL problem's ``:objects`` (lowercase): the agent,
        the type constants, objects, receptacles and locations."""
        if self.declared:
            return list(self.declared)
        types = [f"{t}type".lower() for t in sorted(set(self.objects.values()))]
        types += [f"{t}type".lower() for t in sorted({t for t, _ in self.receptacles.values()})]
        return ["agent1", *types, *self.objects, *self.receptacles, *self.locations]

    def names(self, shuffle_seed: int | None = None) -> dict[str, str]:
        """Visible name of every receptacle, object and location id; with
        ``shuffle_seed`` the original's domain-randomised numbering."""
        if shuffle_seed is None:
            return demangle_names(list(self.receptacles) + list(self.objects) + list(self.locations))
        return demangle_names(self.declared_names(), shuffle_seed)

    def validate(self) -> None:
        """Raise ValueError when the facts contradict each other."""
        locs = set(self.locations)
        if self.start_location not in locs:
            raise ValueError("start location is not a location")
        for r, (_, loc) in self.receptacles.items():
            if loc not in locs:
                raise ValueError(f"receptacle {r} is at unknown location {loc}")
        for o, r in self.in_receptacle.items():
            if o not in self.objects or r not in self.receptacles:
                raise ValueError(f"inReceptacle {o} {r} names an unknown entity")
        for o, loc in self.object_location.items():
            if o not in self.objects or loc not in locs:
                raise ValueError(f"objectAtLocation {o} {loc} names an unknown entity")
