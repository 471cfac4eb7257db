"""The Gymnasium env, the generator, the expert and task listing."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections import Counter

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

from prism_gym.envs.alfworld.engine import Engine
from prism_gym.envs.alfworld.env import ALFWorldEnv
from prism_gym.envs.alfworld.expert import solve
from prism_gym.envs.alfworld.generator import _split_scenes, game_spec, generate_game, scene_number
from prism_gym.envs.alfworld.metrics import summarize
from prism_gym.envs.alfworld.tables import TASK_TYPES, UNSEEN_SCENES
from prism_gym.envs.alfworld.tasks import list_tasks
from prism_gym.records import Task


def _play_expert(env, **reset_kwargs):
    obs, info = env.reset(**reset_kwargs)
    steps, total = 0, 0.0
    while True:
        obs, reward, terminated, truncated, info = env.step(info["expert_action"])
        steps += 1
        total += reward
        if terminated or truncated:
            return info, steps, total


def test_check_env_passes_without_warnings():
    import warnings

    from prism_gym.envs import register_gymnasium_envs

    register_gymnasium_envs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gymnasium.make("prism_gym/ALFWorld-v0", split="valid_seen", render_mode="ansi").unwrapped)


def test_registered_and_uniform_info_contract():
    from prism_gym.envs import make

    env = make("alfworld", split="valid_unseen", expert_actions=True)
    obs, info = env.reset(seed=7)
    assert obs.startswith("-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room.")
    assert isinstance(info["task"], Task) and info["task"].env == "alfworld"
    assert info["task"].split == "valid_unseen" and info["task"].task_type in TASK_TYPES
    assert obs.endswith(f"Your task is to: {info['task'].goal}.")
    assert info["admissible_actions"] == sorted(info["admissible_actions"]) == info["admissible_commands"]
    assert info["won"] is False and info["score"] == 0.0 and info["is_action_valid"] is True
    assert isinstance(info["expert_action"], str) and info["expert_action"] in info["admissible_actions"]


def test_default_construction_and_rollout_with_expert_agent():
    from prism_gym.agents.baselines import ExpertAgent
    from prism_gym.rollout import rollout

    assert ALFWorldEnv().split == "train"
    tasks = list_tasks("valid_seen", limit=3)
    episodes = rollout("alfworld", tasks, ExpertAgent("alfworld"), progress=False)
    assert [e.trajectory.task for e in episodes] == tasks
    assert all(e.trajectory.won and e.trajectory.turns[0].action == "look" for e in episodes)


def test_expert_wins_with_reward_on_winning_step_only():
    env = ALFWorldEnv(split="valid_seen", expert_actions=True)
    info, steps, total = _play_expert(env, seed=1)
    assert info["won"] and info["score"] == 100.0 and total == 1.0 and steps <= 50
    assert info["goal_condition_success"] == 1.0


def test_goal_condition_reward_pays_each_condition_once():
    """reward_mode="goal_conditions" on the expert's episodes, against the
    ALFRED goal conditions written out: a heat task pays 1/3 when the object
    becomes hot and 2/3 when the hot object is placed (placed, and both); a
    two-object task 1/2 per object placed; a simple pick-and-place 1 on the
    win. Every return is 1, and the win mode pays 1 on the winning step only."""
    tasks = list_tasks("valid_seen")
    expected = {"pick_heat_then_place_in_recep": [1 / 3, 2 / 3], "pick_two_obj_and_place": [1 / 2, 1 / 2],
                "pick_and_place_simple": [1.0]}
    for task_type, paid in expected.items():
        task = next(t for t in tasks if t.task_type == task_type)
        for mode, want in (("goal_conditions", paid), ("win", [1.0])):
            env = ALFWorldEnv(split="valid_seen", expert_actions=True, reward_mode=mode)
            obs, info = env.reset(options={"task": task})
            rewards = []
            while True:
                obs, reward, terminated, truncated, info = env.step(info["expert_action"])
                rewards.append(reward)
                if terminated or truncated:
                    break
            assert info["won"]
            assert [r for r in rewards if r != 0] == pytest.approx(want), (task_type, mode, rewards)
    with pytest.raises(ValueError, match="reward_mode"):
        ALFWorldEnv(reward_mode="dense")


def test_invalid_action_costs_a_step_and_truncates_at_limit():
    env = ALFWorldEnv(split="valid_seen", max_steps=3)
    env.reset(seed=0)
    for i in range(3):
        obs, reward, terminated, truncated, info = env.step("dance wildly")
        assert obs == "Nothing happens." and reward == 0.0 and not terminated
        assert info["is_action_valid"] is False
        assert truncated == (i == 2)


def test_reset_by_instance_and_task_and_split_option():
    env = ALFWorldEnv(split="train")
    _, info = env.reset(options={"split": "valid_unseen", "instance": "5"})
    task = info["task"]
    assert task.split == "valid_unseen" and task.instance == "5"
    assert task == list_tasks("valid_unseen")[5]
    obs1, _ = env.reset(options={"task": task})
    obs2, _ = ALFWorldEnv(split="valid_unseen").reset(options={"instance": "5"})
    assert obs1 == obs2
    from dataclasses import replace

    assert env.reset(options={"task": replace(task, env="prism_gym/ALFWorld-v0")})[0] == obs1  # the env id too
    with pytest.raises(ValueError, match="belongs to env 'webshop'"):
        env.reset(options={"task": replace(task, env="webshop")})
    with pytest.raises(ValueError):
        env.reset(options={"instance": "99999"})
    with pytest.raises(ValueError):
        env.reset(options={"bogus": 1})
    with pytest.raises(ValueError):
        ALFWorldEnv(split="nope")
    with pytest.raises(ValueError):
        ALFWorldEnv(dialect="3.0")


def test_seeded_reset_is_reproducible_across_processes():
    code = ("from prism_gym.envs.alfworld.env import ALFWorldEnv; import json;"
            "e = ALFWorldEnv(split='train'); o, i = e.reset(seed=42); o2, _ = e.reset();"
            "print(json.dumps([i['task'].instance, o, o2]))")
    out = [json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                     check=True).stdout) for _ in range(2)]
    assert out[0] == out[1]
    env = ALFWorldEnv(split="train")
    o, i = env.reset(seed=42)
    assert [i["task"].instance, o] == out[0][:2]
    # a group seed gives the same game to every member of a group
    assert ALFWorldEnv(split="train").reset(seed=5)[0] == ALFWorldEnv(split="train").reset(seed=5)[0]


def test_task_types_filter_and_dialect_option():
    env = ALFWorldEnv(split="valid_seen", task_types=["look_at_obj_in_light"], dialect="2.1.1")
    for seed in range(3):
        _, info = env.reset(seed=seed)
        assert info["task"].task_type == "look_at_obj_in_light"
        assert "help" not in info["admissible_actions"]
    tasks = list_tasks("valid_seen", task_types=[2])
    assert tasks and {t.task_type for t in tasks} == {"look_at_obj_in_light"}
    go = next(a for a in env.engine.admissible if a.startswith("go to"))
    obs, _, _, _, _ = env.step(go)
    assert obs.startswith("You arrive at loc ")
    stripped = ALFWorldEnv(split="valid_seen", task_types=[2], dialect="2.1.1", strip_loc_prefix=True,
                           drop_welcome_header=True, include_help=False)
    first, _ = stripped.reset(seed=2)
    assert first.startswith("You are in the middle of a room.")
    obs2, _, _, _, _ = stripped.step(go)
    assert obs2 == obs[obs.index(". ") + 2:]


def test_make_vec_sync_and_async():
    for mode in ("sync", "async"):  # async: observations through shared memory, Gymnasium's default
        envs = gymnasium.make_vec("prism_gym/ALFWorld-v0", num_envs=2, vectorization_mode=mode,
                                  split="valid_seen")
        obs, infos = envs.reset(seed=[3, 4])
        assert len(obs) == 2 and all(o.startswith("-= Welcome") for o in obs)
        obs, rewards, terminated, truncated, infos = envs.step(("look", "inventory"))
        assert list(obs)[1] == "You are not carrying anything."
        envs.close()


def test_list_tasks_sizes_order_and_limit():
    assert len(list_tasks("train")) == 3553
    assert len(list_tasks("valid_seen")) == 140 and len(list_tasks("valid_unseen")) == 134
    head = list_tasks("train", limit=5)
    assert [t.instance for t in head] == ["0", "1", "2", "3", "4"]
    assert head == list_tasks("train", limit=5, seed=9)
    assert all(t.goal and t.task_type in TASK_TYPES for t in head)
    assert list_tasks("pretrain", limit=3) != list_tasks("train", limit=3)


def test_generator_is_deterministic_and_scene_splits_disjoint():
    a, b = generate_game("train", 11), generate_game.__wrapped__("train", 11)
    assert Engine(a).intro == Engine(b).intro and a.in_receptacle == b.in_receptacle
    # Another game seed draws other tasks: a seed that were ignored would leave all 20 specs equal
    # (one pair may coincide by chance; 20 of 20 differ today).
    def drawn(spec):
        return dataclasses.replace(spec, seed=0)

    differ = sum(drawn(game_spec("train", i, seed=1)) != drawn(game_spec("train", i, seed=0)) for i in range(20))
    assert differ >= 15, f"only {differ} of 20 game specs change with the game seed"
    unseen = {scene_number(fp) for fp in _split_scenes("valid_unseen")}
    seen = {scene_number(fp) for fp in _split_scenes("train")}
    assert unseen <= UNSEEN_SCENES and not (seen & unseen)
    assert {scene_number(fp) for fp in _split_scenes("pretrain")} == seen


@pytest.mark.parametrize("split", ["valid_seen", "valid_unseen"])
def test_expert_solves_every_eval_game_within_50_steps(split):
    types, rooms = Counter(), Counter()
    for task in list_tasks(split):
        game = generate_game(split, int(task.instance))
        won, actions = solve(Engine(game), max_steps=50)
        assert won, task
        types[game.goal.task_type] += 1
        rooms[game.metadata["room"]] += 1
    assert set(types) == set(TASK_TYPES)
    assert len(rooms) == 4


def test_expert_solves_a_sample_of_train_and_pretrain():
    for split in ("train", "pretrain"):
        for i in range(0, 3553, 37):
            assert solve(Engine(generate_game(split, i)), max_steps=50)[0], (split, i)


def test_generated_games_have_quirks():
    """Shared locations, non-openable cabinets/drawers and fridge-cool targets all occur."""
    shared = nonopen = cool_start = 0
    for i in range(300):
        g = generate_game("train", i)
        locs = Counter(loc for _, loc in g.receptacles.values())
        shared += any(n > 1 for n in locs.values())
        nonopen += any(t in ("Cabinet", "Drawer") and r not in g.openable for r, (t, _) in g.receptacles.items())
        cool_start += bool(g.is_cool)
    assert shared > 10 and nonopen > 5 and cool_start > 10


def test_metrics_summary():
    results = [
        {"task_type": "pick_and_place_simple", "won": True, "goal_condition_success": 1.0},
        {"task_type": "pick_and_place_simple", "won": False, "goal_condition_success": 0.0},
        {"task_type": "pick_two_obj_and_place", "won": False, "goal_condition_success": 0.5},
    ]
    s = summarize(results)
    assert s["success"] == pytest.approx(1 / 3) and s["goal_condition_success"] == pytest.approx(0.5)
    assert s["per_task_type"]["pick_and_place_simple"]["success"] == 0.5
    assert s["per_task_type"]["pick_two_obj_and_place"]["count"] == 1
    with pytest.raises(ValueError):
        summarize([])


def test_domain_randomization_renumbers_deterministically():
    env = ALFWorldEnv(split="valid_seen", domain_randomization=True, expert_actions=True)
    plain = ALFWorldEnv(split="valid_seen")
    intros = {env.reset(seed=s)[0] for s in range(6)}
    assert env.reset(seed=3)[0] == env.reset(seed=3)[0]
    obs, info = env.reset(seed=3)
    base, _ = plain.reset(seed=3)
    # same game and the same receptacles in the same order, other numbers
    assert base.split(" you see ")[1].count(",") == obs.split(" you see ")[1].count(",")
    assert any(plain.reset(seed=s)[0] != env.reset(seed=s)[0] for s in range(6))
    assert len(intros) > 1
    info = _play_expert(env, seed=3)[0]
    assert info["won"]
