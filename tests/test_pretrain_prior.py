"""The default model's prior: expert answers in its pretraining corpus, from
the ``pretrain`` pools only.

Checked against definitions written out here: the pools share no game (and,
for ALFWorld's valid_unseen, no scene) with any train or evaluation split;
the expert answers hand-made states as a person playing the game would; the
relabelled corpus answers exactly the listed task types with the expert; and
with no expert share the corpus is the random-walk recipe as it always was.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import asdict

import pytest

from prism_gym.agents.default_model import BuildSettings, expert_tasks, pretrain_chats

SMALL_WALKS = dict(walk_episodes=24, walk_steps=6)
ANSWER_RE = re.compile(r"^<action>(.*)</action>$", re.DOTALL)


def _answer(chat) -> str:
    return ANSWER_RE.match(chat[-1]["content"]).group(1)


# -- the pools are disjoint from everything trained on or evaluated -----------------
def _game_content(game) -> tuple:
    """A game as a player meets it: its goal, where it starts and what lies where."""
    return (game.goal, game.start_location, tuple(sorted(game.in_receptacle.items())),
            tuple(sorted(game.receptacles.items())))


def test_alfworld_pretrain_games_are_no_train_or_evaluation_game_and_no_unseen_scene():
    from prism_gym.envs.alfworld.generator import generate_game
    from prism_gym.envs.alfworld.tables import SPLIT_SIZES

    seen_content = set()
    unseen_scenes = set()
    for split in ("train", "valid_seen", "valid_unseen"):
        for i in range(SPLIT_SIZES[split]):
            game = generate_game(split, i)
            seen_content.add(_game_content(game))
            if split == "valid_unseen":
                unseen_scenes.add(game.metadata["floor_plan"])
    pretrain = [generate_game("pretrain", i) for i in range(SPLIT_SIZES["pretrain"])]
    assert not [g.game_id for g in pretrain if _game_content(g) in seen_content]
    assert not {g.metadata["floor_plan"] for g in pretrain} & unseen_scenes
    assert len({_game_content(g) for g in pretrain}) == len(pretrain)  # the content key tells games apart


def test_webshop_pretrain_goals_are_no_goal_of_any_split():
    from prism_gym.envs.webshop.site import get_site

    site = get_site()

    def goals(split):
        table = site.goal_table(split)
        return [dict(table[i]) for i in site.split_indices(split)]

    pretrain = goals("pretrain")
    others = [g for split in ("train", "dev", "test") for g in goals(split)]
    assert pretrain and others
    assert not {g["instruction_text"] for g in pretrain} & {g["instruction_text"] for g in others}
    # Not even the product to buy is shared: a pretrain goal teaches no evaluated purchase.
    assert not {g["asin"] for g in pretrain} & {g["asin"] for g in others}


def test_the_build_walks_only_the_pretrain_pools():
    chats, stats = pretrain_chats(BuildSettings(expert_share=0.5, **SMALL_WALKS))
    from prism_gym.plugins import get_registry

    goals = {t.goal for name in ("alfworld", "webshop")
             for t in get_registry().env(name).list_tasks("pretrain", limit=SMALL_WALKS["walk_episodes"])}
    shown = {chat[1]["content"].split("\n", 1)[0].removeprefix("Task: ") for chat in chats}
    assert shown == goals
    assert all(s["expert_episodes"] > 0 for s in stats.values())


# -- the expert relabelling answers hand-made states correctly ------------------------
def test_the_relabelled_answer_at_a_hand_made_alfworld_state_is_the_take():
    """Walk by hand to where the goal's object lies (a person reading the game
    would): the corpus's answer there must be to take it, whatever the
    walker itself did next."""
    from prism_gym.agents.baselines import NoisyExpertWalker
    from prism_gym.agent import ActRequest
    from prism_gym.envs import make
    from prism_gym.plugins import get_registry

    tasks = get_registry().env("alfworld").list_tasks("pretrain", limit=200)
    env = make("alfworld", expert_actions=True)
    for task in tasks:
        if task.task_type != "pick_and_place_simple":
            continue
        obs, info = env.reset(seed=0, options={"task": task})
        engine = env.unwrapped.engine
        wanted = [o for o in engine._targets if engine.in_rec.get(o) not in engine._parents]
        if not wanted:
            continue
        obj = wanted[0]
        place = engine.in_rec[obj]
        if place in engine.game.openable:
            continue  # keep the hand-made state to two moves: look, go to
        history = []
        for action in ("look", f"go to {engine.name[place]}"):
            walker_obs = obs
            obs, _, _, _, info = env.step(action)
            from prism_gym.records import Turn
            history.append(Turn(observation=walker_obs, action=action))
        walker = NoisyExpertWalker("alfworld", noise=1.0, seed=0)
        walker.act_batch([ActRequest(task=task, history=tuple(history), observation=obs,
                                     admissible_actions=tuple(info["admissible_actions"]), info=info)])
        label = walker.labels[(task.id, 2)]
        assert label == f"take {engine.name[obj]} from {engine.name[place]}", (task.id, obs, label)
        return
    pytest.fail("no pick-and-place pretrain task with its object in the open found in 200 tasks")


def test_the_relabelled_answer_on_webshops_search_page_is_the_instruction_query():
    """On the search page the expert searches the instruction without its
    opener, its option clauses and its price clause (written out by hand)."""
    from prism_gym.agents.default_model import relabelled_chats
    from prism_gym.agents.baselines import NoisyExpertWalker
    from prism_gym.plugins import get_registry
    from prism_gym.rollout import rollout

    task = get_registry().env("webshop").list_tasks("pretrain", limit=1)[0]
    assert task.goal == "i'm looking for a hair dryer that is quick drying and travel size, and price lower than 120.00 dollars"
    walker = NoisyExpertWalker("webshop", noise=1.0, seed=0)
    (episode,) = rollout("webshop", [task], walker, seed=0, max_steps=3, progress=False)
    chats = relabelled_chats(episode.trajectory, walker.labels)
    assert _answer(chats[0]) == "search[hair dryer that is quick drying and travel size]"
    # The walker's own first move was a random query, which the history shows.
    assert episode.trajectory.turns[0].action != _answer(chats[0])
    assert f"> {episode.trajectory.turns[0].action}" in chats[1][1]["content"]


# -- the profile: expert answers exactly on the listed types -------------------------
def _replayed_expert_actions(task, actions) -> list[str]:
    """The expert's action at each state the given actions reach, replayed afresh."""
    from prism_gym.envs import make

    env = make(task.env, expert_actions=True)
    _, info = env.reset(seed=0, options={"task": task})
    expert = []
    for action in actions:
        expert.append(str(info["expert_action"]))
        _, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    return expert


@pytest.mark.parametrize("break_filter", [False, True])
def test_a_profiles_corpus_answers_with_the_expert_only_on_its_known_types(break_filter, monkeypatch):
    known = ("pick_and_place_simple", "look_at_obj_in_light", "pick_clean_then_place_in_recep")
    settings = BuildSettings(envs=("alfworld",), expert_share=1.0, walker_noise=1.0, expert_task_types=known,
                             walk_episodes=30, walk_steps=5)
    if break_filter:  # the filter ignored: every type gets expert answers, and the test must notice
        import prism_gym.agents.default_model as dm

        monkeypatch.setattr(dm, "expert_tasks", lambda tasks, s: {t.id for t in tasks})
    from prism_gym.plugins import get_registry

    tasks = get_registry().env("alfworld").list_tasks("pretrain", limit=30)
    by_goal = {t.goal: t for t in tasks}
    assert len(by_goal) == len(tasks)
    chats, _ = pretrain_chats(settings)
    episodes: dict[str, list] = {}
    for chat in chats:
        episodes.setdefault(chat[1]["content"].split("\n", 1)[0].removeprefix("Task: "), []).append(chat)
    failures = []
    for goal, steps in episodes.items():
        task = by_goal[goal]
        # The actions the walker took: each step's history shows the one before it.
        taken = [re.findall(r"^\[step \d+\] > (.*)$", steps[i + 1][1]["content"], re.M)[-1]
                 for i in range(len(steps) - 1)]
        answers = [_answer(chat) for chat in steps[:-1]]
        if task.task_type in known:
            if answers != _replayed_expert_actions(task, taken):
                failures.append((task.id, "known type not answered by the expert"))
        elif answers != taken:
            failures.append((task.id, "unknown type answered by someone other than the walker"))
    assert {t.task_type for t in tasks} - set(known), "the sample holds no unknown type"
    if break_filter:
        assert failures, "a corpus with expert answers on unknown types passed"
    else:
        assert not failures, failures


def test_expert_task_types_naming_no_type_is_refused_before_any_walk():
    with pytest.raises(ValueError, match="pick_and_plcae"):
        pretrain_chats(BuildSettings(expert_share=1.0, expert_task_types=("pick_and_plcae",), **SMALL_WALKS))


def test_expert_tasks_follow_the_share_and_the_types():
    from prism_gym.records import Task

    tasks = [Task("x", "pretrain", str(i), task_type="ab"[i % 2]) for i in range(2000)]
    half = expert_tasks(tasks, BuildSettings(expert_share=0.5))
    assert 900 < len(half) < 1100
    only_a = expert_tasks(tasks, BuildSettings(expert_share=0.5, expert_task_types=("a",)))
    assert only_a == {i for i in half if int(i.rsplit("/", 1)[1]) % 2 == 0}  # per-task draws: a subset of the same
    assert expert_tasks(tasks, BuildSettings(expert_share=0.0)) == set()
    assert len(expert_tasks(tasks, BuildSettings(expert_share=1.0))) == 2000


# -- with no expert share, the recipe as it was --------------------------------------
def test_expert_share_zero_is_the_random_walk_recipe():
    """The corpus written out from its definition (random walks of every
    pretrain task, each step rendered, episodes shuffled by the seed), and the
    settings' digest as it was computed before the expert settings existed."""
    from prism_gym import __version__
    from prism_gym.agents.baselines import RandomAgent
    from prism_gym.agents.prompts import trajectory_chats
    from prism_gym.plugins import get_registry
    from prism_gym.rollout import rollout

    settings = BuildSettings(seed=2, **SMALL_WALKS)
    expected = []
    for name in ("alfworld", "webshop"):
        tasks = get_registry().env(name).list_tasks("pretrain", limit=settings.walk_episodes)
        expected += [trajectory_chats(ep.trajectory)
                     for ep in rollout(name, tasks, RandomAgent(name, seed=2), seed=2, max_steps=6, progress=False)]
    random.Random(2).shuffle(expected)
    chats, stats = pretrain_chats(settings)
    assert chats == [chat for episode in expected for chat in episode]
    assert "expert_episodes" not in stats["alfworld"]

    for s in (BuildSettings(), settings):
        before = {k: v for k, v in asdict(s).items() if k not in ("expert_share", "walker_noise", "expert_task_types")}
        blob = json.dumps({"version": "1", "prism_gym": __version__, **before}, sort_keys=True)
        assert s.digest() == hashlib.sha256(blob.encode()).hexdigest()[:10]
    assert BuildSettings(expert_share=0.1).digest() != BuildSettings().digest()
    assert "-e0.1-" in BuildSettings(expert_share=0.1).dir_name()
