"""The agents plugin and the agents' own behaviour outside a rollout."""
from __future__ import annotations

import random

import pytest

from prism_gym.agent import ActRequest, Agent
from prism_gym.agents.baselines import ExpertAgent, RandomAgent, query_from_goal
from prism_gym.agents.llm import LLMAgent
from prism_gym.plugins import PluginRegistry
from prism_gym.records import Task

SHOP = Task(env="webshop", split="test", instance="3", task_type="shoes",
            goal="i need a pair of white running shoes, and price lower than 50.00 dollars")


def test_plugin_registers_four_agents_like_a_third_party_plugin():
    registry = PluginRegistry(load_entry_points=False, builtins=("prism_gym.agents.plugin",))
    assert not registry.failures
    agents = registry.agents()
    assert set(agents) == {"llm", "expert", "random", "rule"}
    assert isinstance(registry.agent("random").build(env_name="webshop", seed=1), Agent)
    assert isinstance(registry.agent("rule").build(env_name="webshop"), Agent)
    assert isinstance(registry.agent("expert").build(env_name="webshop"), Agent)


def test_random_agent_replaces_the_search_placeholder_with_goal_words():
    agent = RandomAgent("webshop", seed=0)
    req = ActRequest(task=SHOP, history=(), observation="WebShop [SEP] Search", admissible_actions=["search[<your query>]"])
    queries = [agent.act(req) for _ in range(20)]
    assert all(q.startswith("search[") and q.endswith("]") and "<" not in q for q in queries)
    words = {w.strip(",.") for w in SHOP.goal.split()}
    for q in queries:
        terms = q[len("search["):-1].split()
        assert 2 <= len(terms) <= 6 and set(terms) <= words and "and" not in terms
    assert len(set(queries)) > 1


def test_random_agent_is_uniform_over_admissible_actions():
    agent = RandomAgent("alfworld", seed=0)
    req = ActRequest(task=SHOP, history=(), observation="", admissible_actions=["a", "b", "c", "d"])
    counts = {a: 0 for a in "abcd"}
    for action in agent.act_batch([req] * 4000):
        counts[action] += 1
    assert all(900 < c < 1100 for c in counts.values())


def test_query_from_goal_without_content_words():
    assert query_from_goal("", random.Random(0)) == "item"


def test_expert_agent_reads_the_info_key():
    req = ActRequest(task=SHOP, history=(), observation="", admissible_actions=[], info={"expert_action": "click[buy now]"})
    assert ExpertAgent("webshop").act_batch([req]) == ["click[buy now]"]
    with pytest.raises(RuntimeError, match="expert_actions=True"):
        ExpertAgent("webshop").act_batch([ActRequest(task=SHOP, history=(), observation="", admissible_actions=[])])
    with pytest.raises(TypeError):
        ExpertAgent("webshop", temperature=1.0)


def test_llm_agent_stops_at_end_token_and_caps_prompts(micro_lm):
    model, tok = micro_lm
    agent = LLMAgent("webshop", model=model, tokenizer=tok, max_new_tokens=5, max_prompt_tokens=20)
    assert tok.convert_tokens_to_ids("<|end|>") in agent.stop_ids
    req = ActRequest(task=SHOP, history=(), observation="Search results " * 30, admissible_actions=["click[b]"] * 10)
    (gen,) = agent.generate_batch([req], record_tokens=True)
    assert gen.prompt_truncated and len(gen.prompt_ids) == 20
    assert gen.num_generated == len(gen.completion_ids) <= 5
    assert agent.act_batch([req]) == [gen.action]  # greedy: the same answer again


def test_llm_agent_rejects_bad_settings(micro_lm):
    model, tok = micro_lm
    with pytest.raises(ValueError, match="tokenizer"):
        LLMAgent("webshop", model=model)
    with pytest.raises(ValueError, match="temperature"):
        LLMAgent("webshop", model=model, tokenizer=tok, do_sample=True, temperature=0.0)


def test_llm_agent_generates_through_its_backend(micro_lm):
    """A backend gets the agent's prompt ids and settings; the agent cuts its
    tokens at the first stop token and reads the action from them."""
    from prism_gym.agents.llm import GenerationBackend, HFGenerate, SamplingSettings, available_backends

    model, tok = micro_lm
    answer = tok.encode("<action>click[b]</action>", add_special_tokens=False)
    end = tok.convert_tokens_to_ids("<|end|>")

    class Scripted:
        name = "scripted"
        calls = []

        def generate(self, prompts, settings, record_logprobs=False):
            self.calls.append((prompts, settings, record_logprobs))
            return [(answer + [end] + answer, [-0.5] * (2 * len(answer) + 1)) for _ in prompts]

    backend = Scripted()
    assert isinstance(backend, GenerationBackend) and isinstance(HFGenerate(model), GenerationBackend)
    agent = LLMAgent("webshop", model=model, tokenizer=tok, max_new_tokens=7, backend=backend)
    req = ActRequest(task=SHOP, history=(), observation="Search results", admissible_actions=["click[b]"])
    (gen,) = agent.generate_batch([req], record_tokens=True)
    prompts, settings, recorded = backend.calls[-1]
    assert prompts == [agent.prompt_ids(req)[0]] and recorded
    assert settings == SamplingSettings(max_new_tokens=7, stop_ids=agent.stop_ids, pad_id=agent.pad_id)
    assert gen.completion_ids == answer + [end] and gen.action == "click[b]" and gen.well_formed
    assert gen.logprobs == [-0.5] * (len(answer) + 1)
    assert agent.settings()["backend"] == "scripted"
    assert "hf" in available_backends()


def test_vllm_backend_needs_vllm():
    import importlib.util

    from prism_gym.agents.llm import VLLMGenerate

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed")
    with pytest.raises(ImportError, match=r"prism-gym\[vllm\]"):
        VLLMGenerate("some/dir")
