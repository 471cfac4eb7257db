"""WebShop's rule baseline (``--agent rule``) against episodes played by hand:
search the instruction as it is written, click the first product the page
lists, buy it."""
from __future__ import annotations

import re

import pytest

from prism_gym.agents.baselines import RuleAgent
from prism_gym.envs import make
from prism_gym.plugins import get_registry
from prism_gym.rollout import rollout


def _hand_played(task):
    """The rule played by hand: the first product is the first id the results
    page shows, read off the page text (``[SEP] B0... [SEP] title``)."""
    env = make("webshop")
    env.reset(seed=0, options={"task": task})
    actions = [f"search[{task.goal}]"]
    page, _, _, _, _ = env.step(actions[0])
    first_id = re.search(r"\[SEP\] Next > \[SEP\] ([A-Z0-9]{10}) \[SEP\]", page).group(1)
    actions.append(f"click[{first_id.lower()}]")
    env.step(actions[1])
    actions.append("click[buy now]")
    _, reward, terminated, _, info = env.step(actions[2])
    assert terminated
    return actions, info["score"]


def test_the_rule_agent_plays_as_by_hand():
    tasks = get_registry().env("webshop").list_tasks("test", limit=6)
    episodes = rollout("webshop", tasks, RuleAgent("webshop"), seed=0, progress=False)
    for task, episode in zip(tasks, episodes):
        actions, score = _hand_played(task)
        assert [turn.action for turn in episode.trajectory.turns] == actions
        assert episode.trajectory.score == pytest.approx(score)


def test_the_rule_agent_is_registered_and_refuses_other_envs():
    spec = get_registry().agent("rule")
    assert spec.name == "rule"
    with pytest.raises(ValueError, match="WebShop"):
        RuleAgent("alfworld")
    with pytest.raises(TypeError, match="no options"):
        RuleAgent("webshop", temperature=1.0)


def test_the_rule_agent_goes_back_where_it_has_no_move():
    from prism_gym.agent import ActRequest
    from prism_gym.records import Task

    task = Task("webshop", "test", "0", goal="a red chair")
    sub_page = ActRequest(task=task, history=(), observation="", admissible_actions=("click[< prev]",))
    no_results = ActRequest(task=task, history=(), observation="",
                            admissible_actions=("click[back to search]", "click[attributes]"))
    assert RuleAgent("webshop").act_batch([sub_page, no_results]) == ["click[< prev]", "click[back to search]"]
