"""`bench --routers ... --seeds N` ends with the paired comparison against
random, and every run of the grid is evaluated on the same tasks."""
from __future__ import annotations

import dataclasses
import json
import random

import pytest
from typer.testing import CliRunner

from plugin_registration import plugin_registered
from test_runner import EchoEnv, list_echo_tasks

from prism_gym import hookimpl
from prism_gym.cli import app
from prism_gym.specs import EnvSpec


def list_shuffled_tasks(split, limit=None, seed=0, **_):
    """Like the real envs, the task list depends on the seed it is drawn with."""
    tasks = [dataclasses.replace(t, env="echo-shuffled") for t in list_echo_tasks(split)]
    random.Random(seed).shuffle(tasks)
    return tasks[:limit] if limit else tasks


class ShuffledEchoPlugin:
    @staticmethod
    @hookimpl
    def prism_gym_envs():
        return [EnvSpec(id="prism_gym_test/EchoShuffled-v0", name="echo-shuffled", entry_point=EchoEnv,
                        max_episode_steps=4, splits=("train", "valid_seen", "valid_unseen"),
                        eval_splits=("valid_seen", "valid_unseen"), tasks=list_shuffled_tasks)]


@pytest.fixture(scope="module", autouse=True)
def shuffled_env():
    with plugin_registered(ShuffledEchoPlugin, "echo-shuffled-test"):
        yield


def test_bench_grid_ends_with_the_paired_comparison(tmp_path, micro_dir):  # noqa: F811
    sets = []
    for s in ["expert.trajectories=4", "sft.epochs=1", "sft.batch_size=4", "rl.iterations=1",
              "rl.tasks_per_iteration=2", "rl.group_size=2", "rl.max_steps=2", "rl.max_new_tokens=6",
              "eval.episodes=3", "eval.max_steps=2", "eval.max_new_tokens=6"]:
        sets += ["--set", s]
    args = ["bench", "--routers", "rl-only,random", "--seeds", "2", "--env", "echo-shuffled", "--model", str(micro_dir),
            "--runs-root", str(tmp_path), "--quiet", *sets]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "echo-shuffled: methods against random" in res.output
    results = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*/result.json"))]
    assert len(results) == 4
    # one fixed task list per split, whatever the router and seed (seeds draw different training tasks)
    task_lists = {json.dumps({s: o["task_ids"] for s, o in r["outcomes"].items()}) for r in results}
    assert len(task_lists) == 1
    assert all(r["evaluation"]["splits"][0]["seed"] == 0 and r["evaluation"]["splits"][0]["episodes"] == 3
               for r in results)
    assert len({r["fingerprints"]["preset"] for r in results}) == 1
    assert len({r["env"]["data_fingerprint"] for r in results}) == 2
    res = CliRunner().invoke(app, args + ["--json"])
    data = json.loads(res.output[res.output.index("{"):])
    echo = data["comparisons"]["echo-shuffled"]
    assert echo["baseline"] == "random"
    vs = echo["methods"][1]["vs_baseline"]
    assert vs["method"] == "rl-only" and vs["paired"] and vs["shared_seeds"] == [0, 1]
    assert vs["success"]["test"] == "seed-and-task bootstrap"
    # the difference is the mean over seeds and tasks of the per-episode differences
    by = {(r["baseline"] or r["router"]["name"], r["seed"]): r for r in results}
    diffs = [a - b for s in (0, 1) for split in by[("rl-only", s)]["outcomes"]
             for a, b in zip(by[("rl-only", s)]["outcomes"][split]["won"], by[("random", s)]["outcomes"][split]["won"])]
    assert abs(vs["success"]["difference"]["value"] - sum(diffs) / len(diffs)) < 1e-12
    # the runs submit as version 2 entries, and comparing the entries gives the comparison of the runs
    from prism_gym.comparison import compare, load_records
    from prism_gym.leaderboard.submit import submit
    from prism_gym.leaderboard.validate import validate_files

    entries = [submit(p.parent, tmp_path / "board" / "entries") for p in sorted(tmp_path.glob("*/result.json"))]
    assert validate_files(entries) == []
    assert all(json.loads(p.read_text())["schema_version"] == 2 for p in entries)
    from_entries = compare(load_records(entries), "random")
    assert from_entries["methods"][1]["vs_baseline"]["success"] == vs["success"]
