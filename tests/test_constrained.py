"""Admissible-action decoding (agents/constrained.py): the trie's allowed sets
against hand-worked cases, the masked log-probabilities against their
definition (scipy), and the agent's answers and sampling frequencies on a
micro model."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from prism_gym.agent import ActRequest
from prism_gym.agents.constrained import AnswerConstraint, goal_spans, masked_logprobs
from prism_gym.records import Task

ALF_TASK = Task(env="alfworld", split="train", instance="0", task_type="pick_and_place_simple",
                goal="put a clean apple in fridge.")
SHOP_TASK = Task(env="webshop", split="train", instance="0", task_type="fashion", goal="i need a red cotton shirt")
ALF_ACTIONS = ["go to countertop 1", "go to drawer 1", "go to drawer 2", "open drawer 2",
               "take apple 1 from countertop 1", "look", "inventory"]
SHOP_RESULTS = ["click[back to search]", "click[next >]", "click[b0abc12345]", "click[b0abd99]"]


def test_trie_allowed_sets_hand_worked():
    c = AnswerConstraint(paths=[[1, 2, 9], [1, 3, 9], [1, 2, 4, 9]], free_prefixes=[[5, 6]])
    assert sorted(c.allowed([])) == [1, 5]
    assert sorted(c.allowed([1])) == [2, 3]
    assert sorted(c.allowed([1, 2])) == [4, 9]  # a complete answer and a longer one share a prefix
    assert c.allowed([1, 2, 9]) is None  # the answer ended: nothing to mask
    assert c.allowed([5]) == [6]
    assert c.allowed([5, 6]) is None and c.allowed([5, 6, 11, 12]) is None  # the free slot
    assert c.allowed([7]) is None  # off every path: left alone, never an empty set
    along = c.allowed_along([1, 3, 9])
    assert sorted(along[0]) == [1, 5] and along[1:] == [[2, 3], [9]]
    with pytest.raises(ValueError):
        AnswerConstraint(paths=[])


def test_masked_logprobs_match_the_definition():
    import torch

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 7)) * 3
    allowed = [[[0, 4], None, [6]], None]
    got = masked_logprobs(torch.tensor(logits), allowed).numpy()
    # row 0, position 0: log p(a) = logit_a - logsumexp over the allowed logits
    for tok in (0, 4):
        assert got[0, 0, tok] == pytest.approx(logits[0, 0, tok] - special.logsumexp(logits[0, 0, [0, 4]]))
    assert np.isneginf(got[0, 0, [1, 2, 3, 5, 6]]).all()
    assert got[0, 2, 6] == pytest.approx(0.0)  # one allowed token: certain
    np.testing.assert_allclose(got[0, 1], special.log_softmax(logits[0, 1]), rtol=1e-6)
    np.testing.assert_allclose(got[1], special.log_softmax(logits[1], axis=-1), rtol=1e-6)


def _agent(micro_lm, decoding: str, **kw):
    from prism_gym.agents.llm import LLMAgent

    model, tok = micro_lm
    return LLMAgent(None, model=model, tokenizer=tok, do_sample=True, temperature=1.0, max_new_tokens=40,
                    decoding=decoding, **kw)


def _requests(n: int):
    alf = ActRequest(task=ALF_TASK, history=[], observation="You are in the middle of a room.",
                     admissible_actions=ALF_ACTIONS)
    search = ActRequest(task=SHOP_TASK, history=[], observation="WebShop [SEP] Search",
                        admissible_actions=["search[<your query>]"])
    results = ActRequest(task=SHOP_TASK, history=[], observation="Results", admissible_actions=SHOP_RESULTS)
    return [alf] * n + [search] * n + [results] * n


def test_admissible_decoding_answers_listed_actions_only(micro_lm):
    agent = _agent(micro_lm, "admissible")
    gens = agent.generate_batch(_requests(16), record_tokens=True)
    alf, search, results = gens[:16], gens[16:32], gens[32:]
    assert all(g.well_formed and g.action in ALF_ACTIONS for g in alf), [g.text for g in alf]
    assert all(g.well_formed and g.action in SHOP_RESULTS for g in results), [g.text for g in results]
    assert all(g.text.startswith("<action>search[") for g in search), [g.text for g in search]
    # The untrained model decoding freely almost never names a listed action: the mask is what does it.
    free = _agent(micro_lm, "free").generate_batch(_requests(16)[:16])
    assert sum(g.action in ALF_ACTIONS for g in free) < 8


def test_recorded_logprobs_are_the_masked_policys(micro_lm):
    """What the sampler records, what GRPO recomputes, and the definition
    (a forward pass, scipy's logsumexp over the allowed tokens) agree."""
    import torch

    from prism_gym.runner.grpo import StepSample, completion_logprobs

    model, tok = micro_lm
    gens = _agent(micro_lm, "admissible").generate_batch(_requests(2), record_tokens=True)
    samples = [StepSample(g.prompt_ids, g.completion_ids, 1.0, allowed=g.allowed) for g in gens]
    with torch.no_grad():
        logps, mask = completion_logprobs(model, samples, tok.pad_token_id, 1.0)
        for row, g in enumerate(gens):
            n = len(g.completion_ids)
            np.testing.assert_allclose(logps[row, :n].numpy(), g.logprobs, atol=1e-4)
            full = torch.tensor([g.prompt_ids + g.completion_ids])
            logits = model(input_ids=full).logits[0, len(g.prompt_ids) - 1:-1].double().numpy()
            for t, token in enumerate(g.completion_ids):
                pool = g.allowed[t] if g.allowed[t] is not None else list(range(logits.shape[1]))
                assert token in pool
                want = logits[t, token] - special.logsumexp(logits[t, pool])
                assert g.logprobs[t] == pytest.approx(want, abs=1e-4)


def test_sampling_frequencies_follow_the_masked_distribution(micro_lm):
    """Over 600 draws, how often each ALFWorld action is chosen matches its
    probability under the masked distribution, computed from one forward pass
    per action (chi-square goodness of fit)."""
    import torch

    from prism_gym.agents.constrained import AnswerTokens

    model, tok = micro_lm
    agent = _agent(micro_lm, "admissible", seed=3)
    req = _requests(1)[0]
    gens = agent.generate_batch([req] * 600)
    counts = np.array([sum(g.action == a for g in gens) for a in ALF_ACTIONS])
    prompt, _ = agent.prompt_ids(req)
    answers = AnswerTokens(tok, agent.stop_ids)
    constraint = answers.constraint(ALF_ACTIONS)
    probs = []
    with torch.no_grad():
        for action in ALF_ACTIONS:
            path = answers._path(action)
            logits = model(input_ids=torch.tensor([prompt + path])).logits[0, len(prompt) - 1:-1].double().numpy()
            logp = sum(logits[t, tok_] - special.logsumexp(logits[t, constraint.allowed(path[:t])])
                       for t, tok_ in enumerate(path))
            probs.append(math.exp(logp))
    assert sum(probs) == pytest.approx(1.0, abs=1e-6)  # the masked policy is a distribution over the actions
    expected = np.array(probs) * counts.sum()
    keep = expected >= 5  # chi-square needs cells of reasonable size; pool the rest
    observed = np.append(counts[keep], counts[~keep].sum())
    expected = np.append(expected[keep], expected[~keep].sum())
    if expected[-1] == 0:
        observed, expected = observed[:-1], expected[:-1]
    assert stats.chisquare(observed, expected).pvalue > 1e-3, (counts, probs)


def test_decoding_is_a_run_setting_checked_before_any_stage(tmp_path):
    from prism_gym.runner.presets import ConfigError, RunConfig, apply_overrides, make_config
    from prism_gym.runner.run import BenchRun

    cfg = apply_overrides(make_config("tiny", "alfworld", "random"), ["agent.decoding=beam"])
    with pytest.raises(ConfigError, match="agent.decoding"):
        BenchRun(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    cfg = apply_overrides(make_config("tiny", "alfworld", "random"), ["agent.decoding=admissible"])
    again = RunConfig.from_dict(cfg.to_dict())
    assert again.agent.decoding == "admissible" and again.fingerprint() == cfg.fingerprint()
    # A config written before the setting existed reads as free decoding.
    old = cfg.to_dict()
    old.pop("agent")
    assert RunConfig.from_dict(old).agent.decoding == "free"


def test_goal_spans_hand_worked():
    assert goal_spans("red  cotton shirt") == ["red", "red cotton", "red cotton shirt", "cotton", "cotton shirt",
                                               "shirt"]
    assert goal_spans("  ") == []
    # A run ending at a clause's end also stands without its punctuation.
    assert goal_spans("tea, and cup.") == ["tea,", "tea", "tea, and", "tea, and cup.", "tea, and cup", "and",
                                           "and cup.", "and cup", "cup.", "cup"]


def test_goal_spans_hold_the_webshop_experts_queries():
    """The env's expert searches with the instruction less its opener, option
    clause and price clause (envs/webshop/expert.py): under goal-span decoding
    the agent can write every such query."""
    from prism_gym.envs.webshop.expert import instruction_query
    from prism_gym.plugins import get_registry

    tasks = get_registry().env("webshop").list_tasks("train", limit=300, seed=0)
    queries = [(t.goal, instruction_query(t.goal)) for t in tasks]
    cut_at_a_comma = [g for g, q in queries if q + "," in g.lower()]
    assert len(cut_at_a_comma) > 30  # the case that needs the trimmed form is common
    missing = [(g, q) for g, q in queries if q not in goal_spans(g)]
    assert not missing, missing[:3]


def test_goal_span_queries_are_runs_of_the_goals_words(micro_lm):
    agent = _agent(micro_lm, "admissible", slot_text="goal-span")
    gens = agent.generate_batch(_requests(16), record_tokens=True)
    spans = set(goal_spans(SHOP_TASK.goal))
    for g in gens[16:32]:
        assert g.well_formed and g.action.startswith("search[") and g.action.endswith("]"), g.text
        assert g.action[len("search["):-1] in spans, g.action
    assert all(g.action in ALF_ACTIONS for g in gens[:16])  # no slot: unchanged
    assert all(g.action in SHOP_RESULTS for g in gens[32:])


def test_batched_answer_paths_match_the_chat_template(micro_lm):
    """The batched tokenisation of many answers (goal spans) gives the tokens
    the chat template renders for each answer, cut at its stop token."""
    from prism_gym.agents.constrained import AnswerTokens
    from prism_gym.agents.prompts import format_action
    from prism_gym.chat_mask import assistant_tokens

    model, tok = micro_lm
    agent = _agent(micro_lm, "admissible")
    fast = AnswerTokens(tok, agent.stop_ids, slot_text="goal-span")
    actions = [f"search[{span}]" for span in goal_spans("Buy me zipper closure hoodies with color: clear, and size")]
    paths = fast._paths_of(actions)
    assert fast._closing_tokens() is not None  # the fast path is the one under test
    for action, path in zip(actions, paths):
        ids, mask = assistant_tokens(tok, [{"role": "user", "content": "x"},
                                           {"role": "assistant", "content": format_action(action)}])
        rendered = [t for t, m in zip(ids, mask) if m]
        stop = next(i for i, t in enumerate(rendered) if t in agent.stop_ids)
        assert path == rendered[:stop + 1], action


def test_slot_text_needs_admissible_decoding(micro_lm):
    with pytest.raises(ValueError, match="slot_text"):
        _agent(micro_lm, "free", slot_text="goal-span")
    with pytest.raises(ValueError, match="slot_text"):
        _agent(micro_lm, "admissible", slot_text="anything")
