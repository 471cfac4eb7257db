"""Procedural games and the named splits, for when no ALFWorld data is present.

Game ``i`` of a split is a pure function of ``(seed, split, i)``. It is built
in two stages so that listing a split is cheap:

1. :func:`game_spec` draws the task (type, room, floor plan, target, goal
   receptacle, template) from a tiny RNG stream;
2. :func:`generate_game` lays out the room (receptacles and counts from the
   floor plan, shared locations, non-openable instances, objects by the
   compatibility table, the fridge-starts-cool quirk) and keeps the first
   layout that the handcoded expert solves within the step limit.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from prism_gym.envs.alfworld.game import Game, Goal, mangle
from prism_gym.envs.alfworld.tables import (CAN_CONTAIN, CLEANABLE, COOLABLE, HEATABLE, LAMP_RECEPTACLES,
                                            LIKELY_RECEPTACLES, MOVABLE_RECEPTACLES, OPENABLE, PICKUPABLE,
                                            SLICEABLE, SPLIT_SIZES, STATIC_RECEPTACLES, TASK_ROOMS,
                                            TASK_TYPE_WEIGHTS, TASK_TYPES, TOGGLEABLE, UNSEEN_SCENES,
                                            normalize_dialect)

GENERATED_SPLITS = ("train", "valid_seen", "valid_unseen", "pretrain")
_SCENES_FILE = Path(__file__).with_name("data") / "scenes.json"
_MAX_LAYOUT_ATTEMPTS = 40

# Goal receptacles a task never uses: the treatment station itself, and
# receptacles that hold one type only.
_EXCLUDED_PARENTS = {
    "pick_heat_then_place_in_recep": {"Microwave"},
    "pick_cool_then_place_in_recep": {"Fridge"},
    "pick_clean_then_place_in_recep": {"SinkBasin", "BathtubBasin"},
}
_NARROW_PARENTS = {"CoffeeMachine", "StoveBurner", "Toaster", "TowelHolder", "HandTowelHolder",
                   "ToiletPaperHanger", "LaundryHamper", "TVStand"}
_BASIN_KEYS = {"SinkBasin": "Sink", "BathtubBasin": "Bathtub"}


@lru_cache(maxsize=1)
def scenes() -> dict[str, dict]:
    """The floor-plan summaries (room type, object types, receptacle counts)."""
    with open(_SCENES_FILE, encoding="utf-8") as fh:
        return json.load(fh)


def scene_number(floor_plan: str) -> int:
    return int(floor_plan.removeprefix("FloorPlan"))


@lru_cache(maxsize=None)
def _split_scenes(split: str) -> tuple[str, ...]:
    if split not in GENERATED_SPLITS:
        raise ValueError(f"unknown ALFWorld split {split!r}; generated splits are {', '.join(GENERATED_SPLITS)}")
    unseen = split == "valid_unseen"
    return tuple(fp for fp in sorted(scenes(), key=scene_number)
                 if (scene_number(fp) in UNSEEN_SCENES) == unseen)


@lru_cache(maxsize=None)
def scene_receptacle_counts(floor_plan: str) -> dict[str, int]:
    """Static receptacle type -> instance count (1 where the file has no count)."""
    info = scenes()[floor_plan]
    counts = info["interaction_point_receptacle_counts"]
    present = set(info["static_receptacle_types"])
    result = {}
    for rtype in sorted(present):
        if rtype not in STATIC_RECEPTACLES:
            continue
        n = counts.get(rtype) or counts.get(_BASIN_KEYS.get(rtype, ""), 0) or 1
        result[rtype] = int(n)
    return result


@lru_cache(maxsize=None)
def _scene_objects(floor_plan: str) -> tuple[str, ...]:
    return tuple(t for t in scenes()[floor_plan]["object_types"] if t in PICKUPABLE and t not in STATIC_RECEPTACLES)


@dataclass(frozen=True)
class GameSpec:
    """The task of one generated game (stage 1)."""

    split: str
    index: int
    seed: int
    task_type: str
    floor_plan: str
    room: str
    object_type: str
    parent_type: str
    toggle_type: str
    template: int

    @property
    def goal(self) -> Goal:
        sentence = Goal.sentence_for(self.task_type, self.object_type, self.parent_type, self.toggle_type,
                                     self.template)
        return Goal(self.task_type, self.object_type, self.parent_type, self.toggle_type, sentence)

    @property
    def game_id(self) -> str:
        return f"{self.split}/{self.index}"


@lru_cache(maxsize=None)
def _candidate_targets(task_type: str, floor_plan: str) -> list[tuple[str, str, str]]:
    """(object type, parent type, toggle type) choices valid in the floor plan."""
    objects = _scene_objects(floor_plan)
    recs = scene_receptacle_counts(floor_plan)
    holdable = {o for o in objects if any(o in CAN_CONTAIN[r] for r in recs)}
    choices = []
    if task_type == "look_at_obj_in_light":
        lamps = [t for t in ("DeskLamp", "FloorLamp") if t in scenes()[floor_plan]["object_types"]]
        if not lamps or not any(r in recs for r in LAMP_RECEPTACLES):
            return []
        return [(o, "", lamp) for o in sorted(holdable) for lamp in lamps]
    need = {"pick_clean_then_place_in_recep": CLEANABLE, "pick_heat_then_place_in_recep": HEATABLE,
            "pick_cool_then_place_in_recep": COOLABLE}.get(task_type)
    if task_type in ("pick_clean_then_place_in_recep",) and "SinkBasin" not in recs:
        return []
    if task_type == "pick_heat_then_place_in_recep" and "Microwave" not in recs:
        return []
    if task_type == "pick_cool_then_place_in_recep" and "Fridge" not in recs:
        return []
    excluded = _EXCLUDED_PARENTS.get(task_type, set()) | _NARROW_PARENTS
    for o in sorted(holdable):
        if need is not None and o not in need:
            continue
        for r in sorted(recs):
            if r in excluded or o not in CAN_CONTAIN[r]:
                continue
            # the target must fit somewhere other than the goal receptacle type
            if not any(o in CAN_CONTAIN[x] for x in recs if x != r):
                continue
            choices.append((o, r, ""))
    return choices


@lru_cache(maxsize=None)
def _room_scene_options(split: str, task_type: str) -> dict[str, tuple[str, ...]]:
    rooms: dict[str, list[str]] = {}
    for fp in _split_scenes(split):
        room = scenes()[fp]["room"]
        if room in TASK_ROOMS[task_type] and _candidate_targets(task_type, fp):
            rooms.setdefault(room, []).append(fp)
    return {room: tuple(fps) for room, fps in rooms.items()}


def split_size(split: str, size: int | None = None) -> int:
    if size is not None:
        return int(size)
    _split_scenes(split)
    return SPLIT_SIZES[split]


def game_spec(split: str, index: int, seed: int = 0) -> GameSpec:
    """Stage 1: the task of game ``index`` of ``split``."""
    rng = random.Random(f"alfworld/{seed}/{split}/{index}/task")
    task_type = rng.choices(TASK_TYPES, weights=[TASK_TYPE_WEIGHTS[t] for t in TASK_TYPES])[0]
    options = _room_scene_options(split, task_type)
    room = rng.choice(sorted(options))
    floor_plan = rng.choice(options[room])
    obj, parent, toggle = rng.choice(_candidate_targets(task_type, floor_plan))
    return GameSpec(split, index, seed, task_type, floor_plan, room, obj, parent, toggle, rng.randrange(2))


class _Ids:
    """Unique THOR-style ids, mangled like the original's."""

    def __init__(self, rng: random.Random):
        self.rng, self.used = rng, set()

    def _coord(self) -> str:
        return f"{self.rng.uniform(-4, 4):+06.2f}"

    def entity(self, thor_type: str) -> str:
        while True:
            base = f"{thor_type}|{self._coord()}|{self._coord()}|{self._coord()}"
            if thor_type in _BASIN_KEYS:
                base = f"{_BASIN_KEYS[thor_type]}|{self._coord()}|{self._coord()}|{self._coord()}|{thor_type}"
            entity_id = mangle(base)
            if entity_id not in self.used:
                self.used.add(entity_id)
                return entity_id

    def location(self) -> str:
        while True:
            x, z = self.rng.randint(-12, 12), self.rng.randint(-12, 12)
            rot, hor = self.rng.choice((0, 90, 180, 270)), self.rng.choice((0, 15, 30, 45, 60))
            loc_id = mangle(f"loc|{x}|{z}|{rot}|{hor}")
            if loc_id not in self.used:
                self.used.add(loc_id)
                return loc_id


def layout(spec: GameSpec, attempt: int = 0, nonopenable_rate: float = 0.05, shared_rate: float = 0.15,
           dialect: str = "2.1.2") -> Game:
    """Stage 2: one layout of the room for the task in ``spec``."""
    rng = random.Random(f"alfworld/{spec.seed}/{spec.split}/{spec.index}/layout/{attempt}")
    ids = _Ids(rng)
    start = ids.location()
    locations = [start]
    receptacles: dict[str, tuple[str, str]] = {}
    openable = set()
    by_type: dict[str, list[str]] = {}
    for rtype, count in scene_receptacle_counts(spec.floor_plan).items():
        previous_loc = None
        for _ in range(count):
            r = ids.entity(rtype)
            if previous_loc is not None and rtype in ("Cabinet", "Drawer") and rng.random() < shared_rate:
                loc = previous_loc  # stacked drawers and cabinets share one spot
            else:
                loc = ids.location()
                locations.append(loc)
            previous_loc = loc
            receptacles[r] = (rtype, loc)
            by_type.setdefault(rtype, []).append(r)
            if rtype in OPENABLE and not (rtype in ("Cabinet", "Drawer") and rng.random() < nonopenable_rate):
                openable.add(r)

    objects: dict[str, str] = {}
    in_rec: dict[str, str] = {}
    excluded_for_target = set(by_type.get(spec.parent_type, ())) if spec.parent_type else set()
    type_counts = {}
    for otype in _scene_objects(spec.floor_plan):
        n = 1 + (rng.random() < 0.4) + (rng.random() < 0.15)
        if otype == spec.object_type and spec.task_type == "pick_two_obj_and_place":
            n = max(n, 2) + (rng.random() < 0.3)
        type_counts[otype] = n
    if spec.object_type not in type_counts:
        type_counts[spec.object_type] = 2 if spec.task_type == "pick_two_obj_and_place" else 1
    for otype, n in type_counts.items():
        likely = LIKELY_RECEPTACLES.get(otype, ())
        places = [r for rtype, rs in by_type.items() if otype in CAN_CONTAIN.get(rtype, ()) for r in rs]
        if otype == spec.object_type:
            places = [r for r in places if r not in excluded_for_target]
        if not places:
            continue
        weights = [3.0 if receptacles[r][0] in likely else 1.0 for r in places]
        for _ in range(n):
            o = ids.entity(otype)
            objects[o] = otype
            in_rec[o] = rng.choices(places, weights=weights)[0]

    # Lamps sit in a surface receptacle so that `use` can reach them.
    lamp_places = [r for rtype in LAMP_RECEPTACLES for r in by_type.get(rtype, ())]
    for lamp_type in ("DeskLamp", "FloorLamp"):
        if lamp_type in scenes()[spec.floor_plan]["object_types"] and lamp_places:
            o = ids.entity(lamp_type)
            objects[o] = lamp_type
            in_rec[o] = rng.choice(lamp_places)

    # Small things sometimes sit inside a mug, bowl or plate.
    inner: dict[str, list[str]] = {}
    holders = [o for o, t in objects.items() if t in MOVABLE_RECEPTACLES and t != "Box"]
    for o, otype in sorted(objects.items()):
        if otype in MOVABLE_RECEPTACLES or otype in TOGGLEABLE or rng.random() >= 0.12:
            continue
        fitting = [h for h in holders if otype in CAN_CONTAIN[objects[h]]
                   and not (otype == spec.object_type and in_rec[h] in excluded_for_target)]
        if fitting:
            h = rng.choice(sorted(fitting))
            inner.setdefault(h, []).append(o)
            in_rec[o] = in_rec[h]

    object_location = {o: receptacles[r][1] for o, r in in_rec.items()}
    obj_types = objects.items()
    is_cool = frozenset(o for o, t in obj_types if t in COOLABLE and receptacles[in_rec[o]][0] == "Fridge")
    lamps = [o for o, t in obj_types if t in TOGGLEABLE]
    is_on = frozenset(o for o in sorted(lamps) if rng.random() < 0.3)
    present_types = set(objects.values())
    can_contain = frozenset((r, o) for r in set(by_type) for o in CAN_CONTAIN.get(r, ()) if o in present_types)
    game = Game(
        receptacles=receptacles, objects=objects, locations=tuple(locations), start_location=start,
        goal=spec.goal, in_receptacle=in_rec, object_location=object_location,
        inner={h: tuple(sorted(v)) for h, v in inner.items()},
        openable=frozenset(openable),
        pickupable=frozenset(o for o, t in obj_types if t in PICKUPABLE),
        receptacle_objects=frozenset(o for o, t in obj_types if t in MOVABLE_RECEPTACLES),
        heatable=frozenset(o for o, t in obj_types if t in HEATABLE),
        coolable=frozenset(o for o, t in obj_types if t in COOLABLE),
        cleanable=frozenset(o for o, t in obj_types if t in CLEANABLE),
        toggleable=frozenset(lamps),
        sliceable=frozenset(o for o, t in obj_types if t in SLICEABLE),
        is_cool=is_cool, is_on=is_on, can_contain=can_contain, dialect=normalize_dialect(dialect),
        game_id=spec.game_id,
        metadata={"split": spec.split, "index": spec.index, "seed": spec.seed, "floor_plan": spec.floor_plan,
                  "room": spec.room, "task_type": spec.task_type, "attempt": attempt},
    )
    return game


@lru_cache(maxsize=512)
def generate_game(split: str, index: int, seed: int = 0, dialect: str = "2.1.2", max_steps: int = 50,
                  nonopenable_rate: float = 0.05) -> Game:
    """Game ``index`` of ``split``: the first layout the expert solves within ``max_steps``."""
    from prism_gym.envs.alfworld.engine import Engine
    from prism_gym.envs.alfworld.expert import solve

    if index < 0:
        raise ValueError(f"game index must be >= 0, not {index}")
    spec = game_spec(split, index, seed)
    for attempt in range(_MAX_LAYOUT_ATTEMPTS):
        game = layout(spec, attempt, nonopenable_rate=nonopenable_rate, dialect=dialect)
        engine = Engine(game)
        if engine.won:
            continue
        won, _ = solve(engine, max_steps=max_steps)
        if won:
            return game
    raise RuntimeError(f"no solvable layout for ALFWorld game {split}/{index} (seed {seed}) "
                       f"in {_MAX_LAYOUT_ATTEMPTS} attempts")
