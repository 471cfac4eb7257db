"""The runner's use of the rest of prism-gym: envs and their tasks, agents,
the rollout engine and evaluation. Kept in one module so each stage reads as
data flow, and so tests can swap one service for a double."""
from __future__ import annotations

from typing import Sequence

from prism_gym.records import Task, Trajectory


def env_spec(env: str):
    from prism_gym.plugins import get_registry

    return get_registry().env(env)


def list_tasks(env: str, split: str, limit: int | None, seed: int) -> list[Task]:
    tasks = env_spec(env).list_tasks(split, limit=limit, seed=seed)
    if not tasks:
        raise RuntimeError(f"env {env!r} has no tasks in split {split!r}")
    return list(tasks)


def sample_tasks(env: str, split: str, n: int, seed: int, heldout: int = 0) -> tuple[list[Task], list[Task]]:
    """Training tasks drawn by the run's seed: a seeded permutation of the
    whole split, whose first ``n`` tasks are the run's and whose next ones
    (up to ``heldout``, as many as the split has left) are held out, never
    trained on. Another seed draws other tasks; the same seed, the same ones."""
    import random

    tasks = list_tasks(env, split, None, seed)
    if n > len(tasks):
        raise RuntimeError(f"split {split!r} of env {env!r} has {len(tasks)} tasks; {n} were asked for "
                           f"(expert.trajectories)")
    heldout = min(heldout, len(tasks) - n)
    order = random.Random(f"{env}/{split}/{seed}").sample(range(len(tasks)), n + heldout)
    return [tasks[i] for i in order[:n]], [tasks[i] for i in order[n:]]


def rollout(env: str, tasks: Sequence[Task], agent, **kw) -> list:
    from prism_gym.rollout import rollout as engine

    return engine(env, list(tasks), agent, **kw)


def expert_agent(env: str):
    from prism_gym.plugins import get_registry

    return get_registry().agent("expert").build(env_name=env)


def llm_agent(env: str, model, tokenizer, *, sample: bool, temperature: float, max_new_tokens: int, seed: int,
              decoding: str = "free", slot_text: str = "free"):
    """The LLM agent acting with an in-memory model (greedy for evaluation,
    sampled for RL)."""
    from prism_gym.agents.llm import LLMAgent

    return LLMAgent(env, model=model, tokenizer=tokenizer, do_sample=sample, temperature=temperature,
                    max_new_tokens=max_new_tokens, seed=seed, decoding=decoding, slot_text=slot_text)


def protocol_agent(env: str, model, tokenizer, protocol):
    """The LLM agent on an in-memory model, answering as the evaluation
    ``protocol`` says (budget, temperature, decoding): the same options
    ``leaderboard verify`` builds its agent with."""
    from prism_gym.agents.llm import LLMAgent

    return LLMAgent(env, model=model, tokenizer=tokenizer, **protocol.llm_options())


def collect_expert(env: str, tasks: Sequence[Task], *, seed: int, max_steps: int | None,
                   progress: bool = True) -> list[Trajectory]:
    """One expert episode per task."""
    episodes = rollout(env, tasks, expert_agent(env), group_size=1, seed=seed,
                       env_kwargs={"expert_actions": True}, max_steps=max_steps, progress=progress)
    return [e.trajectory for e in episodes]


def evaluate_protocol(env: str, agent, protocol, *, progress: bool = True):
    """Each split's evaluation metrics under ``protocol``, as ``(split, metrics)``
    pairs, with the played episodes under ``"trajectories"`` (a list of Trajectory)."""
    from prism_gym.evaluation import evaluate_protocol as engine

    return engine(env, agent, protocol, progress=progress, return_trajectories=True)
