"""The task-type router: named task types to RL, every other to SFT.

It reads nothing but each trajectory's ``task.task_type``. Its use is as an
oracle: a base model built to know some task types and not others (the
probe testbed, ``BuildSettings.expert_task_types``) has a known split of
what conflicts with its knowledge, and routing the unknown types to RL is
the split a concentration router such as PRISM aims for. Comparing the two
on the same model tells how far the probe is from the split it claims.
"""
from __future__ import annotations

from typing import Sequence

from prism_gym import hookimpl
from prism_gym.records import RoutingDecision, Trajectory
from prism_gym.routing import RoutingContext
from prism_gym.specs import RouterSpec


class TaskTypeRouter:
    """``rl_types``: the task types sent to RL (ALFWorld's task types,
    WebShop's categories), as a sequence or one string separated by ``,``
    or ``+`` (``--option rl_types=pick_heat_then_place_in_recep+pick_two_obj_and_place``)."""

    name = "task-type"

    def __init__(self, rl_types: Sequence[str] | str = (), **options):
        if options:
            raise TypeError(f"router 'task-type' got unknown options: {', '.join(sorted(options))}")
        if isinstance(rl_types, str):
            rl_types = rl_types.replace("+", ",").split(",")
        self.rl_types = tuple(sorted({t.strip() for t in rl_types if t and t.strip()}))
        if not self.rl_types:
            raise ValueError("router 'task-type' needs rl_types: the task types to send to RL")

    def settings(self) -> dict:
        return {"rl_types": list(self.rl_types)}

    def route(self, trajectories: Sequence[Trajectory], context: RoutingContext) -> list[RoutingDecision]:
        present = {t.task.task_type for t in trajectories}
        missing = sorted(set(self.rl_types) - present)
        if trajectories and len(missing) == len(self.rl_types):
            # Every named type absent: almost surely a misspelt name, and a run would silently be sft-only.
            raise ValueError(f"none of rl_types ({', '.join(missing)}) occurs in the "
                             f"trajectories (their types: {', '.join(sorted(present))})")
        decisions = []
        for t in trajectories:
            to_rl = t.task.task_type in self.rl_types
            decisions.append(RoutingDecision(trajectory_id=t.id, task_id=t.task.id, route="rl" if to_rl else "sft",
                                             score=1.0 if to_rl else 0.0, router=self.name,
                                             task_type=t.task.task_type))
        return decisions


@hookimpl
def prism_gym_routers():
    return [RouterSpec(TaskTypeRouter.name, TaskTypeRouter,
                       "Named task types to RL, the rest to SFT (the probe testbed's oracle).",
                       options={"rl_types": None})]
