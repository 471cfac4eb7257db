"""The built-in agents plugin: ``llm``, ``expert``, ``random`` and ``rule``.

Registered through :data:`prism_gym.plugins.DEFAULT_PLUGINS` exactly like a
third-party plugin; imports nothing heavy (the factories are dotted paths).
"""
from __future__ import annotations

from prism_gym import hookimpl
from prism_gym.specs import AgentSpec


@hookimpl
def prism_gym_agents():
    return [
        AgentSpec(name="llm", factory="prism_gym.agents.llm:LLMAgent",
                  summary="a Hugging Face causal LM (default: the embedded model), batched generation"),
        AgentSpec(name="expert", factory="prism_gym.agents.baselines:ExpertAgent",
                  summary="the env's expert (info['expert_action']); wins every task"),
        AgentSpec(name="random", factory="prism_gym.agents.baselines:RandomAgent",
                  summary="uniform over the admissible actions, seeded; search queries from the goal"),
        AgentSpec(name="rule", factory="prism_gym.agents.baselines:RuleAgent",
                  summary="WebShop's rule baseline: search the instruction, click the first result, buy"),
    ]
