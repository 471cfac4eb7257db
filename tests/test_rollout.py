"""The batched rollout engine on the toy env: expert, random and LLM agents,
groups, token records and pass rates."""
from __future__ import annotations

import pytest

from test_agents_toyenv import list_tasks, toy_registry  # noqa: F401  (fixture)

from prism_gym.agents.baselines import ExpertAgent, RandomAgent
from prism_gym.agents.llm import Generation, LLMAgent
from prism_gym.rollout import base_model_pass_rates, rollout


def test_expert_wins_every_task_and_ids_are_unique(toy_registry):
    tasks = list_tasks("train", limit=6)
    episodes = rollout("toy", tasks, ExpertAgent("toy"), group_size=2, progress=False)
    assert len(episodes) == 12
    ids = [ep.trajectory.id for ep in episodes]
    assert len(set(ids)) == 12 and ids[:2] == [f"{tasks[0].id}#g0", f"{tasks[0].id}#g1"]
    for i, ep in enumerate(episodes):
        traj = ep.trajectory
        assert traj.won and traj.score == 100.0 and traj.reward == 1.0
        assert traj.task.id == tasks[i // 2].id and traj.task.goal  # the env's Task, goal filled in
        distance = 1 + int(traj.task.instance) % 4
        assert [t.action for t in traj.turns] == ["go forward"] * distance + ["take key"]
        assert traj.turns[0].observation.startswith("You are in room 0")
        assert "go forward" in traj.turns[0].admissible_actions
        assert traj.metadata["malformed_actions"] == 0 and traj.metadata["invalid_actions"] == 0
        assert traj.agent == "expert" and ep.steps == []


def test_max_batch_reuses_envs_and_gives_the_same_episodes(toy_registry):
    tasks = list_tasks("train", limit=5)
    wide = rollout("toy", tasks, RandomAgent("toy", seed=3), group_size=2, seed=3, progress=False)
    narrow = rollout("toy", tasks, ExpertAgent("toy"), group_size=2, seed=3, progress=False, max_batch=3)
    assert [e.trajectory.id for e in wide] == [e.trajectory.id for e in narrow]
    assert all(e.trajectory.won for e in narrow)


def test_random_agent_is_seeded_and_fills_search_queries(toy_registry):
    tasks = list_tasks("train", limit=8)
    a = rollout("toy", tasks, RandomAgent("toy"), seed=7, progress=False)
    b = rollout("toy", tasks, RandomAgent("toy"), seed=7, progress=False)
    c = rollout("toy", tasks, RandomAgent("toy"), seed=8, progress=False)
    actions = lambda eps: [[t.action for t in e.trajectory.turns] for e in eps]  # noqa: E731
    assert actions(a) == actions(b) and actions(a) != actions(c)
    searches = [act for row in actions(a) + actions(c) for act in row if act.startswith("search[")]
    assert searches and all("<" not in s for s in searches)
    goal_words = {w for t in tasks for w in t.goal.split()}
    assert all(set(s[len("search["):-1].split()) <= goal_words for s in searches)
    truncated = [e for e in a if not e.trajectory.won]
    assert all(e.trajectory.num_steps == 8 and e.trajectory.metadata["truncated"] for e in truncated)


def test_max_steps_caps_episodes(toy_registry):
    episodes = rollout("toy", list_tasks("train", limit=3), RandomAgent("toy"), max_steps=2, progress=False)
    assert all(e.trajectory.num_steps <= 2 for e in episodes)


def test_bad_arguments_are_rejected(toy_registry):
    with pytest.raises(ValueError, match="group_size"):
        rollout("toy", list_tasks("train", limit=1), RandomAgent("toy"), group_size=0, progress=False)
    from prism_gym.records import Task

    with pytest.raises(ValueError, match="belongs to env"):
        rollout("toy", [Task(env="webshop", split="test", instance="0")], RandomAgent("toy"), progress=False)


def test_expert_agent_needs_expert_actions(toy_registry):
    with pytest.raises(RuntimeError, match="expert_actions=True"):
        rollout("toy", list_tasks("train", limit=1), ExpertAgent("toy"), progress=False,
                env_kwargs={"expert_actions": False})


class _ScriptedLLM:
    """An agent with the LLM agent's generate_batch interface that answers from a script."""

    name = "scripted"

    def __init__(self, answers):
        self.answers = list(answers)

    def generate_batch(self, requests, record_tokens=False):
        out = []
        for _ in requests:
            action, well_formed = self.answers.pop(0)
            out.append(Generation(text="", action=action, well_formed=well_formed, prompt_ids=[1, 2],
                                  completion_ids=[3], logprobs=[-0.5] if record_tokens else None,
                                  num_prompt=2, num_generated=1))
        return out


def test_malformed_answers_are_counted_per_episode(toy_registry):
    task = list_tasks("train", limit=1)[0]  # distance 1: forward, take key
    agent = _ScriptedLLM([("dance", False), ("go forward", True), ("", False), ("take key", False)])
    (ep,) = rollout("toy", [task], agent, record_tokens=True, progress=False)
    assert ep.trajectory.won and ep.trajectory.num_steps == 4
    assert ep.trajectory.metadata["malformed_actions"] == 3
    assert ep.trajectory.metadata["invalid_actions"] == 2  # "dance" and ""
    assert len(ep.steps) == 4 and ep.steps[0].completion_ids == [3] and ep.steps[0].logprobs == [-0.5]
    assert ep.generated_tokens == 4 and ep.prompt_tokens == 8


def test_llm_rollout_records_tokens_matching_the_model(toy_registry, micro_lm):
    import torch

    model, tok = micro_lm
    agent = LLMAgent("toy", model=model, tokenizer=tok, do_sample=True, temperature=1.3, max_new_tokens=6)
    episodes = rollout("toy", list_tasks("train", limit=3), agent, group_size=2, max_steps=3, seed=1,
                       record_tokens=True, progress=False)
    assert len(episodes) == 6
    stop_ids = set(agent.stop_ids)
    for ep in episodes:
        assert len(ep.steps) == ep.trajectory.num_steps
        assert ep.trajectory.metadata["malformed_actions"] <= ep.trajectory.num_steps
        for step in ep.steps:
            assert step.prompt_ids[0] == tok.bos_token_id and step.prompt_ids[-1] == tok.convert_tokens_to_ids("<|assistant|>")
            assert 1 <= len(step.completion_ids) <= 6
            assert all(t not in stop_ids for t in step.completion_ids[:-1])
            assert len(step.logprobs) == len(step.completion_ids)
    # The recorded log-probs are the model's (at the sampling temperature) on prompt + completion.
    step = episodes[0].steps[0]
    ids = torch.tensor([step.prompt_ids + step.completion_ids])
    with torch.no_grad():
        logits = model(ids).logits[0, len(step.prompt_ids) - 1:-1] / 1.3
    expected = torch.log_softmax(logits, -1).gather(1, torch.tensor(step.completion_ids)[:, None])[:, 0]
    assert torch.allclose(torch.tensor(step.logprobs), expected, atol=1e-4)


def test_llm_sampling_is_reproducible_from_the_seed(toy_registry, micro_lm):
    model, tok = micro_lm
    tasks = list_tasks("train", limit=2)

    def play(seed):
        agent = LLMAgent("toy", model=model, tokenizer=tok, do_sample=True, max_new_tokens=5)
        eps = rollout("toy", tasks, agent, group_size=2, max_steps=2, seed=seed, progress=False)
        return [[t.action for t in e.trajectory.turns] for e in eps]

    assert play(4) == play(4)
    assert play(4) != play(5)


def test_batched_greedy_generation_equals_one_at_a_time(toy_registry, micro_lm):
    from prism_gym.agent import ActRequest
    from prism_gym.records import Turn

    model, tok = micro_lm
    agent = LLMAgent("toy", model=model, tokenizer=tok, max_new_tokens=8)
    tasks = list_tasks("train", limit=3)
    requests = [ActRequest(task=t, history=[Turn("You are in room 0.", "look")] * i,
                           observation=f"You are in room {i}.", admissible_actions=["go forward", "look"] * (i + 1))
                for i, t in enumerate(tasks)]
    batched = agent.generate_batch(requests, record_tokens=True)
    assert len({len(g.prompt_ids) for g in batched}) == 3  # really different lengths, so padding is exercised
    for req, gen in zip(requests, batched):
        (alone,) = agent.generate_batch([req], record_tokens=True)
        assert alone.completion_ids == gen.completion_ids


def test_pass_rates_shape_and_determinism(toy_registry, micro_lm):
    model, tok = micro_lm
    tasks = list_tasks("train", limit=3)
    rates = base_model_pass_rates(model, tok, tasks + tasks[:1], k=2, seed=0, max_steps=2, max_new_tokens=4)
    assert len(rates) == 4 and rates[3] == rates[0]
    assert all(r in (0.0, 0.5, 1.0) for r in rates)
    assert rates == base_model_pass_rates(model, tok, tasks + tasks[:1], k=2, seed=0, max_steps=2, max_new_tokens=4)
