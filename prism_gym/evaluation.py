"""Evaluation: play the first ``episodes`` tasks of a split once each and
summarise success, score and their breakdown per task type.

``success_rate`` is the fraction of won episodes (0-1); ``score`` the mean of
the env's episode score (0-100: WebShop's final reward x 100, ALFWorld's 100 on
a win). Where the env reports ``goal_condition_success`` (ALFWorld), its mean
is reported too. A split with fewer tasks than ``episodes`` is evaluated on
all of its tasks, and ``episodes`` says how many were played.

``outcomes`` keeps every episode, in the order of the split's task list:
``{"task_ids": [...], "won": [0, 1, ...], "score": [...]}``. Two agents
evaluated with the same ``seed`` play the same tasks, so their outcomes pair up
task by task (prism_gym.stats compares them so).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterator, Sequence

from prism_gym.records import Trajectory


def evaluate(env_name: str, agent, *, split: str, episodes: int = 128, seed: int = 0,
             env_kwargs: dict | None = None, progress: bool = True, max_steps: int | None = None,
             max_batch: int | None = None, return_trajectories: bool = False) -> dict:
    """Evaluate ``agent`` on ``split`` of ``env_name``; returns the metrics dict
    (plus ``"trajectories"``, a list of Trajectory, when asked for)."""
    from prism_gym.plugins import get_registry
    from prism_gym.rollout import rollout

    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    spec = get_registry().env(env_name)
    if spec.splits and split not in spec.splits:
        raise ValueError(f"env {spec.name!r} has no split {split!r}; splits: {', '.join(spec.splits)}")
    tasks = spec.list_tasks(split, limit=episodes, seed=seed, **(env_kwargs or {}))
    if not tasks:
        raise ValueError(f"split {split!r} of env {spec.name!r} has no tasks")
    played = rollout(spec.name, tasks, agent, group_size=1, seed=seed, env_kwargs=env_kwargs,
                     max_steps=max_steps, progress=progress, max_batch=max_batch)
    trajectories = [ep.trajectory for ep in played]
    result = {"env": spec.name, "split": split, "agent": getattr(agent, "name", type(agent).__name__),
              "seed": seed, **summarize(trajectories)}
    result["outcomes"] = episode_outcomes(trajectories)
    result["generated_tokens"] = sum(ep.generated_tokens for ep in played)
    if hasattr(agent, "settings"):
        result["agent_settings"] = agent.settings()
    if return_trajectories:
        result["trajectories"] = trajectories
    return result


def evaluate_protocol(env_name: str, agent, protocol, *, evaluate_split: Callable | None = None,
                      **options) -> Iterator[tuple[str, dict]]:
    """Play every split of ``protocol`` (a :class:`prism_gym.protocol.EvaluationProtocol`)
    with ``agent``, in order; yield ``(split, metrics)`` as each finishes.
    ``options`` go to :func:`evaluate` (``progress``, ``return_trajectories``);
    ``evaluate_split`` stands in for it (tests). The agent must already answer
    as the protocol says (its ``llm_options``); this plays the episodes it names."""
    play = evaluate_split or evaluate
    for plan in protocol.splits:
        yield plan.split, play(env_name, agent, split=plan.split, episodes=plan.episodes, seed=plan.seed,
                               max_steps=protocol.max_steps, **options)


def summarize(trajectories: Sequence[Trajectory]) -> dict:
    """Success, score, step and action-quality statistics, overall and per task type."""
    result = _stats(trajectories)
    by_type: dict[str, list[Trajectory]] = defaultdict(list)
    for t in trajectories:
        by_type[t.task.task_type or "unknown"].append(t)
    result["per_task_type"] = {name: _stats(group) for name, group in sorted(by_type.items())}
    return result


def episode_outcomes(trajectories: Sequence[Trajectory]) -> dict:
    """The compact per-episode record: task ids, won (0/1) and score, in order."""
    return {"task_ids": [t.task.id for t in trajectories], "won": [int(bool(t.won)) for t in trajectories],
            "score": [float(t.score) for t in trajectories]}


def _stats(trajectories: Sequence[Trajectory]) -> dict:
    n = len(trajectories)
    if n == 0:
        return {"episodes": 0, "success_rate": 0.0, "score": 0.0}
    stats = {
        "episodes": n,
        "success_rate": sum(t.won for t in trajectories) / n,
        "score": sum(t.score for t in trajectories) / n,
        "mean_steps": sum(t.num_steps for t in trajectories) / n,
    }
    steps = sum(t.num_steps for t in trajectories)
    if steps:
        stats["malformed_action_rate"] = sum(int(t.metadata.get("malformed_actions", 0)) for t in trajectories) / steps
        stats["invalid_action_rate"] = sum(int(t.metadata.get("invalid_actions", 0)) for t in trajectories) / steps
    gcs = [float(t.metadata["goal_condition_success"]) for t in trajectories if "goal_condition_success" in t.metadata]
    if gcs:
        stats["goal_condition_success"] = sum(gcs) / len(gcs)
    return stats
