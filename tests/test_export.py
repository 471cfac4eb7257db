"""Exports: LLaMA-Factory sharegpt data and verl RL parquet, checked for structure."""
from __future__ import annotations

import json
from dataclasses import replace

import pyarrow.parquet as pq
import pytest

from prism_gym.agents.prompts import trajectory_chats
from prism_gym.export import export_routing, pair_decisions
from prism_gym.records import RoutingDecision
from test_probe import make_trajectories


def decide(trajs, routes):
    return [RoutingDecision(trajectory_id=t.id, task_id=t.task.id, route=r, score=float(i), router="test",
                            task_type=t.task.task_type) for i, (t, r) in enumerate(zip(trajs, routes))]


def test_export_structure(tmp_path):
    trajs = make_trajectories(5, seed=3)
    trajs.append(replace(trajs[4], id="again"))  # a second trajectory of task 4
    routes = ["sft", "rl", "sft", "rl", "rl", "rl"]
    manifest = export_routing(trajs, decide(trajs, routes), tmp_path)

    # SFT: one sharegpt conversation per step of every SFT trajectory.
    sft = json.loads((tmp_path / "sft.json").read_text())
    sft_trajs = [t for t, r in zip(trajs, routes) if r == "sft"]
    assert len(sft) == sum(t.num_steps for t in sft_trajs) == manifest["sft"]["samples"]
    first_chat = trajectory_chats(sft_trajs[0])[0]
    assert sft[0] == {"system": first_chat[0]["content"],
                      "conversations": [{"from": "human", "value": first_chat[1]["content"]},
                                        {"from": "gpt", "value": first_chat[2]["content"]}]}
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    entry = info["prism_gym_alfworld_sft"]
    assert entry["file_name"] == "sft.json" and entry["formatting"] == "sharegpt"
    assert entry["columns"] == {"messages": "conversations", "system": "system"}
    assert entry["tags"]["user_tag"] == "human" and entry["tags"]["assistant_tag"] == "gpt"

    # RL: one verl row per distinct task.
    table = pq.read_table(tmp_path / "rl.parquet")
    assert table.column_names == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    rows = table.to_pylist()
    assert [r["extra_info"]["task_id"] for r in rows] == [trajs[i].task.id for i in (1, 3, 4)]
    assert manifest["rl"] == {**manifest["rl"], "trajectories": 4, "tasks": 3}
    row = rows[0]
    assert row["data_source"] == "prism_gym/alfworld"
    assert [m["role"] for m in row["prompt"]] == ["system", "user"]
    assert trajs[1].turns[0].observation.strip() in row["prompt"][1]["content"]
    assert row["reward_model"] == {"style": "env", "ground_truth": trajs[1].task.id}
    assert row["extra_info"]["index"] == 0 and row["extra_info"]["instance"] == trajs[1].task.instance
    tasks = [json.loads(line) for line in (tmp_path / "rl_tasks.jsonl").read_text().splitlines()]
    assert [t["instance"] for t in tasks] == [r["extra_info"]["instance"] for r in rows]
    assert json.loads((tmp_path / "export.json").read_text()) == manifest
    assert not list(tmp_path.glob(".*.tmp"))


def test_dataset_info_is_merged(tmp_path):
    (tmp_path / "dataset_info.json").write_text(json.dumps({"mine": {"file_name": "x.json"}}))
    trajs = make_trajectories(2)
    export_routing(trajs, decide(trajs, ["sft", "rl"]), tmp_path, dataset_name="routed")
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert set(info) == {"mine", "routed"}


def test_decisions_must_match_trajectories():
    trajs = make_trajectories(3)
    decisions = decide(trajs, ["sft", "rl", "sft"])
    with pytest.raises(ValueError, match="have no decision"):
        pair_decisions(trajs, decisions[:2])
    with pytest.raises(ValueError, match="unknown trajectories"):
        pair_decisions(trajs[:2], decisions)
    with pytest.raises(ValueError, match="two decisions"):
        pair_decisions(trajs, decisions + decisions[:1])
