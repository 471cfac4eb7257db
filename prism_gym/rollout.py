"""The batched rollout engine: many episodes in lock-step, one agent call per step.

:func:`rollout` makes one environment per concurrently played episode (one per
(task, sample) pair, or ``max_batch`` of them reused as episodes finish), and
at every step asks the agent for the actions of *all* live episodes in one
``act_batch`` call, which for the LLM agent is one batched ``generate`` with the
KV cache. Finished episodes drop out of the batch. ``group_size`` plays every
task G times (GRPO groups; sample ``j`` of a task has the trajectory id
``"<task id>#g<j>"``). With ``record_tokens=True`` and an agent that exposes
``generate_batch`` (the LLM agent), every step keeps the prompt ids, completion
ids and per-token log-probs that an RL update needs.

The GRPO stage of the runner and the difficulty router build on this module;
the signatures of :func:`rollout` and :func:`base_model_pass_rates` are part of
the project's internal API.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Sequence

from prism_gym.agent import ActRequest
from prism_gym.records import Task, Trajectory, Turn

# Used only when neither the caller nor the env spec bounds an episode.
FALLBACK_MAX_STEPS = 100


@dataclass
class StepRecord:
    """The tokens of one agent decision (empty unless ``record_tokens``)."""

    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float] | None = None
    allowed: list[list[int] | None] | None = None  # admissible decoding: the mask of each completion token


@dataclass
class Episode:
    """One played episode: the trajectory record, the per-step token records,
    and token counts for the compute ledger (LLM agents only)."""

    trajectory: Trajectory
    steps: list[StepRecord] = field(default_factory=list)
    prompt_tokens: int = 0
    generated_tokens: int = 0


@dataclass
class _Running:
    """The mutable state of one live episode."""

    index: int  # position in the output
    task: Task
    sample: int
    env: Any
    observation: str = ""
    info: dict = field(default_factory=dict)
    turns: list[Turn] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    reward: float = 0.0
    malformed: int = 0
    invalid: int = 0
    invalid_steps: list[int] = field(default_factory=list)
    truncated_prompts: int = 0
    prompt_tokens: int = 0
    generated_tokens: int = 0


def rollout(env_name: str, tasks: Sequence[Task], agent, *, group_size: int = 1, seed: int = 0,
            env_kwargs: dict | None = None, max_steps: int | None = None, record_tokens: bool = False,
            progress: bool = True, max_batch: int | None = None) -> list[Episode]:
    """Play every task ``group_size`` times with ``agent``; episodes come back
    in the order (task 0 sample 0, task 0 sample 1, ..., task 1 sample 0, ...).

    ``env_kwargs`` go to every env (merged over the agent's own ``env_kwargs``,
    e.g. the expert's ``expert_actions=True``). ``max_steps`` caps the agent's
    steps per episode (default: the env's own limit). ``max_batch`` caps how
    many episodes run at once (default: all of them); episodes that finish
    hand their env to the next one. Episode ``i`` resets its env with seed
    ``seed + i`` and the agent is reseeded with ``seed``, so the same call gives
    the same episodes.
    """
    from prism_gym.envs import make
    from prism_gym.plugins import get_registry

    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")
    if max_batch is not None and max_batch < 1:
        raise ValueError(f"max_batch must be >= 1, got {max_batch}")
    spec = get_registry().env(env_name)
    for task in tasks:
        if task.env not in (spec.name, spec.id):
            raise ValueError(f"task {task.id} belongs to env {task.env!r}, not {spec.name!r}")
    limit = max_steps or spec.max_episode_steps or FALLBACK_MAX_STEPS
    kwargs = {**getattr(agent, "env_kwargs", {}), **(env_kwargs or {})}
    agent_name = getattr(agent, "name", type(agent).__name__)
    if hasattr(agent, "reseed"):
        agent.reseed(seed)
    generate = getattr(agent, "generate_batch", None)

    pending = [(i * group_size + j, task, j) for i, task in enumerate(tasks) for j in range(group_size)]
    pending.reverse()  # pop() from the end takes them in order
    total = len(pending)
    width = total if max_batch is None else min(max_batch, total)
    episodes: list[Episode | None] = [None] * total
    free_envs = [make(spec.name, **kwargs) for _ in range(width)]
    live: list[_Running] = []
    splits = "/".join(sorted({t.split for t in tasks}))
    bar = _ProgressBar(total, f"{spec.name} {splits} {agent_name}".replace("  ", " "), enabled=progress)
    try:
        while pending or live:
            while pending and free_envs:
                index, task, sample = pending.pop()
                live.append(_start(free_envs.pop(), index, task, sample, seed))
            requests = [ActRequest(task=ep.task, history=tuple(ep.turns), observation=ep.observation,
                                   admissible_actions=tuple(ep.info.get("admissible_actions", ())), info=ep.info)
                        for ep in live]
            if generate is not None:
                generations = generate(requests, record_tokens=record_tokens)
                actions = [g.action for g in generations]
            else:
                generations = None
                actions = list(agent.act_batch(requests))
            if len(actions) != len(live):
                raise RuntimeError(f"agent {agent_name!r} returned {len(actions)} actions for {len(live)} requests")
            still_live = []
            for k, ep in enumerate(live):
                if generations is not None:
                    _note_generation(ep, generations[k], record_tokens)
                done = _step(ep, str(actions[k]), limit)
                if done is None:
                    still_live.append(ep)
                    continue
                episodes[ep.index] = _finish(ep, agent_name, seed, truncated=done)
                free_envs.append(ep.env)
                bar.advance(ep_won=episodes[ep.index].trajectory.won)
            live = still_live
    finally:
        bar.close()
        for env in free_envs + [ep.env for ep in live]:
            env.close()
    return episodes  # type: ignore[return-value]


def _start(env, index: int, task: Task, sample: int, seed: int) -> _Running:
    observation, info = env.reset(seed=seed + index, options={"task": task})
    return _Running(index=index, task=info.get("task", task), sample=sample, env=env,
                    observation=observation, info=dict(info))


def _note_generation(ep: _Running, gen, record_tokens: bool) -> None:
    ep.malformed += 0 if gen.well_formed else 1
    ep.truncated_prompts += 1 if gen.prompt_truncated else 0
    ep.prompt_tokens += gen.num_prompt
    ep.generated_tokens += gen.num_generated
    if record_tokens:
        ep.steps.append(StepRecord(prompt_ids=gen.prompt_ids, completion_ids=gen.completion_ids,
                                   logprobs=gen.logprobs, allowed=getattr(gen, "allowed", None)))


def _step(ep: _Running, action: str, limit: int) -> bool | None:
    """Apply ``action``; ``None`` while the episode goes on, else whether it
    ended by truncation (step limit) rather than termination."""
    observation, reward, terminated, truncated, info = ep.env.step(action)
    ep.turns.append(Turn(observation=ep.observation, action=action, reward=float(reward),
                         admissible_actions=tuple(ep.info.get("admissible_actions", ()))))
    ep.reward += float(reward)
    if not info.get("is_action_valid", True):
        ep.invalid += 1
        ep.invalid_steps.append(len(ep.turns) - 1)
    ep.observation, ep.info = observation, dict(info)
    if terminated:
        return False
    if truncated or len(ep.turns) >= limit:
        return True
    return None


def _finish(ep: _Running, agent_name: str, seed: int, truncated: bool) -> Episode:
    won = bool(ep.info.get("won", False))
    # "invalid_steps": the indices of the turns whose action the env rejected.
    metadata: dict[str, Any] = {"malformed_actions": ep.malformed, "invalid_actions": ep.invalid,
                                "invalid_steps": list(ep.invalid_steps),
                                "truncated": truncated, "seed": seed + ep.index, "sample": ep.sample}
    if ep.truncated_prompts:
        metadata["truncated_prompts"] = ep.truncated_prompts
    if "goal_condition_success" in ep.info:
        metadata["goal_condition_success"] = float(ep.info["goal_condition_success"])
    task = ep.info.get("task", ep.task)
    trajectory = Trajectory(id=f"{ep.task.id}#g{ep.sample}", task=task, turns=tuple(ep.turns), won=won,
                            reward=ep.reward, score=float(ep.info.get("score", 100.0 if won else 0.0)),
                            agent=agent_name, final_observation=ep.observation, metadata=metadata)
    return Episode(trajectory=trajectory, steps=ep.steps, prompt_tokens=ep.prompt_tokens,
                   generated_tokens=ep.generated_tokens)


class _ProgressBar:
    """A rich progress bar over finished episodes (no-op when disabled)."""

    def __init__(self, total: int, label: str, enabled: bool):
        self.progress = None
        self.won = self.done = 0
        if not enabled or total == 0:
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("won {task.fields[won]}"), TimeElapsedColumn(), TextColumn("eta"),
                                 TimeRemainingColumn(), transient=False)
        self.task = self.progress.add_task(label, total=total, won=0)
        self.progress.start()

    def advance(self, ep_won: bool) -> None:
        self.done += 1
        self.won += int(ep_won)
        if self.progress is not None:
            self.progress.update(self.task, advance=1, won=self.won)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


_ROLLOUT_OPTIONS = ("env_kwargs", "max_steps", "progress", "max_batch")


def base_model_pass_rates(model, tokenizer, tasks: Sequence[Task], k: int, seed: int = 0, **opts) -> list[float]:
    """For each task, the fraction of ``k`` sampled rollouts of ``model`` that win it.

    ``opts`` are :func:`rollout` options (``env_kwargs``, ``max_steps``,
    ``progress``, ``max_batch``) and :class:`~prism_gym.agents.llm.LLMAgent`
    options (``temperature`` (default 1.0), ``top_p``, ``max_new_tokens``, ...).
    A task listed twice is played once. Tasks of several envs are allowed.
    """
    from prism_gym.agents.llm import LLMAgent

    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    rollout_opts = {name: opts.pop(name) for name in _ROLLOUT_OPTIONS if name in opts}
    rollout_opts.setdefault("progress", False)
    opts.setdefault("temperature", 1.0)
    opts["do_sample"] = True
    unique: dict[str, Task] = {}
    for task in tasks:
        unique.setdefault(task.id, task)
    by_env: dict[str, list[Task]] = defaultdict(list)
    for task in unique.values():
        by_env[task.env].append(task)
    rate: dict[str, float] = {}
    for env_name, env_tasks in by_env.items():
        agent = LLMAgent(env_name, model=model, tokenizer=tokenizer, seed=seed, **opts)
        episodes = rollout(env_name, env_tasks, agent, group_size=k, seed=seed, **rollout_opts)
        for i, task in enumerate(env_tasks):
            group = episodes[i * k:(i + 1) * k]
            rate[task.id] = sum(ep.trajectory.won for ep in group) / k
    return [rate[task.id] for task in tasks]
