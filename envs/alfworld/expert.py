"""The handcoded expert: subgoals per task type, a likely-places-first search,
open-to-look housekeeping, and putting back what it holds by mistake.

It re-derives its progress from the engine state before every action and only
knows what it has seen: a receptacle's contents become known when the agent
stands at it while it is open (or not openable).
"""
from __future__ import annotations

import random

from prism_gym.envs.alfworld.engine import Engine
from prism_gym.envs.alfworld.tables import CAN_CONTAIN, LAMP_RECEPTACLES, LIKELY_RECEPTACLES, OPENABLE

_TREATMENT = {
    "pick_clean_then_place_in_recep": ("SinkBasin", "clean"),
    "pick_heat_then_place_in_recep": ("Microwave", "heat"),
    "pick_cool_then_place_in_recep": ("Fridge", "cool"),
}


class HandcodedExpert:
    """Call :meth:`observe` after reset and after every step, then
    :meth:`next_action` for the expert's command."""

    def __init__(self, engine: Engine, seed: int = 0, first_look: bool = True):
        self.engine = engine
        self.first_look = first_look
        self.rng = random.Random(seed)
        self.seen: dict[str, frozenset] = {}  # receptacle -> contents when last seen
        self.previous: str | None = None
        self.backlog: list[str] = []  # receptacles opened while searching, to close again
        self.origin: dict[str, str] = {}  # object -> receptacle it was taken from
        self._held = engine.held
        self._where = dict(engine.in_rec)
        self.observe()

    def observe(self) -> None:
        """Update what the expert knows after the engine changed (reset or a step)."""
        e = self.engine
        if e.held is not None and e.held != self._held and e.held in self._where:
            self.origin[e.held] = self._where[e.held]
        self._held = e.held
        self._where = dict(e.in_rec)
        for r in e.recs_at[e.loc]:
            if r not in e.game.openable or r in e.opened:
                self.seen[r] = frozenset(e.contents[r])

    # -- helpers -----------------------------------------------------------------
    def _search_order(self, object_type: str, lamp: bool = False, skip=frozenset()) -> list[str]:
        """Unexplored receptacles that may hold ``object_type``, likely ones first
        (``skip``: receptacles where a find does not count, e.g. the goal's)."""
        e = self.engine
        likely = LIKELY_RECEPTACLES.get(object_type, ())
        pool = LAMP_RECEPTACLES if lamp else None
        ranked = []
        for r in e.recs_sorted:
            if r in self.seen or r in skip:
                continue
            rtype = e.rec_type[r]
            if pool is not None:
                if rtype not in pool:
                    continue
            elif object_type not in CAN_CONTAIN.get(rtype, ()):
                continue
            # likely places first, then open surfaces (one step to check), then
            # closed containers (three steps), the goal's receptacle type last
            rank = likely.index(rtype) if rtype in likely else len(likely) + (rtype in OPENABLE)
            if rtype == e.goal.parent_type:
                rank += len(likely) + 2
            ranked.append((rank, e.name[r], r))
        ranked.sort(key=lambda x: (x[0], _name_key(x[1])))
        return [r for _, _, r in ranked]

    def _reach(self, r: str) -> str | None:
        """The command that brings ``r`` into reach and view, or None when it is."""
        e = self.engine
        if e.rec_loc[r] != e.loc:
            return f"go to {e.name[r]}"
        if r in e.game.openable and r not in e.opened:
            return f"open {e.name[r]}"
        return None

    def _fetch(self, candidates, object_type: str, lamp: bool = False, skip=frozenset()) -> str:
        """Take (or for lamps, reach) one of ``candidates``; search if none is known.

        While searching it opens closed receptacles to look inside and closes
        them again before moving on; once the thing is found the backlog of
        receptacles to close is dropped (as upstream does).
        """
        e = self.engine
        for r, contents in sorted(self.seen.items(), key=lambda kv: e.name[kv[0]]):
            found = [o for o in contents if o in candidates]
            if found:
                self.backlog.clear()
                step = self._reach(r)
                if step:
                    return step
                o = min(found)
                if lamp:
                    return f"use {e.name[o]}"
                return f"take {e.name[o]} from {e.name[r]}"
        order = self._search_order(object_type, lamp=lamp, skip=skip)
        if not order:
            return self._random()
        step = self._reach(order[0])
        if step is None:
            return "look"
        if step.startswith("go to"):
            for r in self.backlog:
                if e.rec_loc[r] == e.loc and r in e.opened:
                    self.backlog.remove(r)
                    return f"close {e.name[r]}"
        elif order[0] not in self.backlog:
            self.backlog.append(order[0])
        return step

    def _place(self, parents) -> str:
        e = self.engine
        here = [r for r in parents if e.rec_loc[r] == e.loc]
        target = min(here or parents, key=lambda r: _name_key(e.name[r]))
        step = self._reach(target)
        if step:
            return step
        verb = "put" if e.dialect == "2.1.1" else "move"
        sep = " in/on " if e.dialect == "2.1.1" else " to "
        return f"{verb} {e.name[e.held]}{sep}{e.name[target]}"

    def _put_back(self) -> str:
        """Holding something useless: put it back where it was taken from (or,
        when that is unknown or cannot hold it, in any receptacle that can)."""
        e = self.engine
        held_type = e.obj_type[e.held]
        origin = self.origin.get(e.held)
        if origin is not None and (e.rec_type[origin], held_type) in e.can_contain:
            return self._place([origin])
        accepting = [r for r in e.recs_sorted if (e.rec_type[r], held_type) in e.can_contain]
        if not accepting:
            return self._random()
        return self._place(accepting)

    def _random(self) -> str:
        return self.rng.choice(self.engine.admissible)

    # -- policy --------------------------------------------------------------------
    def next_action(self) -> str:
        e = self.engine
        if e.won or (self.previous is None and self.first_look):
            self.previous = "look"
            return "look"  # upstream's expert starts every game with `look`
        action = self._plan()
        if action == self.previous and action not in ("look",) and not action.startswith(("go to", "take", "open")):
            action = self._random()
        if not e.is_admissible(action):
            action = self._random()
        self.previous = action
        return action

    def _plan(self) -> str:
        e = self.engine
        goal = e.goal
        t = goal.task_type
        targets = e._targets
        parents = sorted(e._parents)
        if t == "look_at_obj_in_light":
            if e.held is not None and e.held not in targets:
                return self._put_back()
            if e.held is None:
                return self._fetch(targets, goal.object_type)
            lamps = [o for o in e._lamps if o in e.game.toggleable]
            return self._fetch(frozenset(lamps), goal.toggle_type, lamp=True)
        if t == "pick_two_obj_and_place":
            best = max(parents, key=lambda r: (len(e.contents[r] & targets), -_name_key(e.name[r])[1]))
            wanted = frozenset(o for o in targets if e.in_rec.get(o) != best)
            if e.held is not None:
                if e.held in wanted:
                    return self._place([best])
                return self._put_back()
            return self._fetch(wanted, goal.object_type, skip=frozenset([best]))
        treatment = _TREATMENT.get(t)
        if e.held is not None:
            if e.held not in targets:
                return self._put_back()
            if treatment:
                rtype, verb = treatment
                done = {"clean": e.clean, "heat": e.hot, "cool": e.cool}[verb]
                if e.held not in done:
                    stations = [r for r in e.recs_sorted if e.rec_type[r] == rtype]
                    if not stations:
                        return self._random()
                    here = [r for r in stations if e.rec_loc[r] == e.loc]
                    station = here[0] if here else stations[0]
                    if e.rec_loc[station] != e.loc:
                        return f"go to {e.name[station]}"
                    return f"{verb} {e.name[e.held]} with {e.name[station]}"
            return self._place(parents)
        wanted = frozenset(o for o in targets if e.in_rec.get(o) not in e._parents)
        return self._fetch(wanted, goal.object_type, skip=e._parents)


def _name_key(name: str) -> tuple[str, int]:
    base, _, num = name.rpartition(" ")
    return (base, int(num)) if num.isdigit() else (name, 0)


def solve(engine: Engine, max_steps: int = 50, seed: int = 0) -> tuple[bool, list[str]]:
    """Play the expert from the engine's current state; return (won, actions)."""
    expert = HandcodedExpert(engine, seed=seed)
    actions: list[str] = []
    while not engine.won and len(actions) < max_steps:
        action = expert.next_action()
        engine.step(action)
        expert.observe()
        actions.append(action)
    return engine.won, actions
