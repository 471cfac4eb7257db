"""Export routing decisions to the data formats of external training engines,
so that a user can route here and train an 8B model there.

- SFT share -> LLaMA-Factory: ``sft.json``, a JSON list in LLaMA-Factory's
  ``sharegpt`` format (one conversation per step chat, exactly the samples the
  built-in SFT stage trains on: ``system``, then a ``human`` turn with the step
  prompt and a ``gpt`` turn with ``<action>...</action>``), and a
  ``dataset_info.json`` entry describing it (merged into an existing file).
- RL share -> verl / verl-agent: ``rl.parquet`` in verl's RL dataset schema
  (``data_source``, ``prompt`` as a list of chat messages, ``ability``,
  ``reward_model`` {``style``, ``ground_truth``}, ``extra_info``), one row per
  distinct task, the prompt being the task's first step; ``extra_info`` names
  the task (env, split, instance, task type, goal) so that an environment
  manager plays exactly that task. The reward comes from the environment during
  rollouts (``reward_model.style = "env"``; ``ground_truth`` is the task id).
  ``rl_tasks.jsonl`` lists the same tasks as prism-gym Task records.
  ``verl_interaction.yaml`` is the multi-turn interaction config that plays
  those tasks in the env (:class:`prism_gym.verl_interaction.PrismGymInteraction`,
  one entry per env); each row's ``extra_info.interaction_kwargs`` names its
  entry and its task (``name``, ``env``, ``split``, ``instance``), as verl's
  ``ToolAgentLoop`` reads them.
- ``export.json``: what was written, the counts and the format versions.

Format versions written: LLaMA-Factory ``sharegpt`` dataset format as read by
LLaMA-Factory 0.9.x (``dataset_info.json`` keys ``file_name``, ``formatting``,
``columns``, ``tags``); verl RL parquet schema as read by verl 0.3-0.5's
``RLHFDataset`` (``prompt_key="prompt"``) and by verl-agent.
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from prism_gym.fileio import atomic_open, read_json, write_json
from prism_gym.records import RoutingDecision, Trajectory

EXPORT_VERSION = 1
LLAMAFACTORY_FORMAT = "llamafactory-sharegpt (LLaMA-Factory 0.9.x dataset_info.json)"
VERL_FORMAT = "verl-rl-parquet (verl 0.3-0.5 RLHFDataset, prompt_key=prompt; verl-agent)"
VERL_INTERACTION_FORMAT = "verl-interaction-config (verl 0.7 multi_turn.interaction_config_path)"
VERL_INTERACTION_FILE = "verl_interaction.yaml"
VERL_INTERACTION_CLASS = "prism_gym.verl_interaction.PrismGymInteraction"


def interaction_name(env: str) -> str:
    """The verl interaction that plays ``env``'s tasks."""
    return f"prism_gym_{env}"


def pair_decisions(trajectories: Sequence[Trajectory], decisions: Sequence[RoutingDecision]
                   ) -> list[tuple[Trajectory, RoutingDecision]]:
    """Match each trajectory with its decision by id; every trajectory must have
    exactly one decision and every decision a trajectory."""
    by_id: dict[str, RoutingDecision] = {}
    for d in decisions:
        if d.trajectory_id in by_id:
            raise ValueError(f"two decisions for trajectory {d.trajectory_id!r}")
        by_id[d.trajectory_id] = d
    known = {t.id for t in trajectories}
    unknown = [tid for tid in by_id if tid not in known]
    if unknown:
        raise ValueError(f"{len(unknown)} decision(s) name unknown trajectories, e.g. {unknown[0]!r}")
    missing = [t.id for t in trajectories if t.id not in by_id]
    if missing:
        raise ValueError(f"{len(missing)} of the trajectories have no decision, e.g. {missing[0]!r}")
    return [(t, by_id[t.id]) for t in trajectories]


def sharegpt_samples(trajectory: Trajectory, history_window: int | None = None) -> list[dict]:
    """The LLaMA-Factory sharegpt samples of one trajectory: one per step."""
    from prism_gym.agents.prompts import trajectory_chats

    samples = []
    for system, user, assistant in trajectory_chats(trajectory, history_window):
        samples.append({"conversations": [{"from": "human", "value": user["content"]},
                                          {"from": "gpt", "value": assistant["content"]}],
                        "system": system["content"]})
    return samples


def verl_row(trajectory: Trajectory, index: int, history_window: int | None = None) -> dict:
    """One verl RL row for the task of ``trajectory``: the prompt of its first step."""
    from prism_gym.agents.prompts import step_messages

    task = trajectory.task
    first = trajectory.turns[0] if trajectory.turns else None
    prompt = step_messages(task, [], first.observation if first else "",
                           first.admissible_actions if first else (),
                           history_window)
    return {
        "data_source": f"prism_gym/{task.env}",
        "prompt": [{"role": m["role"], "content": m["content"]} for m in prompt],
        "ability": "agent",
        "reward_model": {"style": "env", "ground_truth": task.id},
        "extra_info": {"index": index, "split": task.split, "env": task.env, "instance": task.instance,
                       "task_id": task.id, "task_type": task.task_type, "goal": task.goal,
                       "interaction_kwargs": {"name": interaction_name(task.env), "env": task.env,
                                              "split": task.split, "instance": task.instance}},
    }


def _write_parquet(path: Path, rows: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([
        ("data_source", pa.string()),
        ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        ("extra_info", pa.struct([("index", pa.int64()), ("split", pa.string()), ("env", pa.string()),
                                  ("instance", pa.string()), ("task_id", pa.string()),
                                  ("task_type", pa.string()), ("goal", pa.string()),
                                  ("interaction_kwargs", pa.struct([("name", pa.string()), ("env", pa.string()),
                                                                    ("split", pa.string()),
                                                                    ("instance", pa.string())]))])),
    ])
    table = pa.Table.from_pylist(rows, schema=schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    with atomic_open(path, "wb") as fh:
        fh.write(buffer.getvalue())


def verl_interaction_config(envs: Sequence[str]) -> str:
    """The YAML of verl's interaction config: one PrismGymInteraction per env."""
    import yaml

    entries = [{"name": interaction_name(env), "class_name": VERL_INTERACTION_CLASS,
                "config": {"env": env, "env_kwargs": {}}} for env in envs]
    header = ("# verl multi-turn interaction config, written by prism-gym's export: each entry plays one env's\n"
              "# tasks (rl.parquet's extra_info.interaction_kwargs names the entry and the task).\n"
              "# Use with actor_rollout_ref.rollout.multi_turn.interaction_config_path (docs/integrations.md).\n")
    return header + yaml.safe_dump({"interaction": entries}, sort_keys=False)


def export_routing(trajectories: Sequence[Trajectory], decisions: Sequence[RoutingDecision], out_dir: str | Path,
                   *, dataset_name: str | None = None, history_window: int | None = None) -> dict:
    """Write the SFT share for LLaMA-Factory and the RL share for verl into
    ``out_dir``; return the manifest (also written to ``export.json``)."""
    out = Path(out_dir)
    pairs = pair_decisions(trajectories, decisions)
    envs = sorted({t.task.env for t, _ in pairs})
    name = dataset_name or f"prism_gym_{'_'.join(envs) or 'empty'}_sft"

    sft = [s for t, d in pairs if d.route == "sft" for s in sharegpt_samples(t, history_window)]
    with atomic_open(out / "sft.json") as fh:
        json.dump(sft, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    info_path = out / "dataset_info.json"
    info = read_json(info_path) if info_path.exists() else {}
    if not isinstance(info, dict):
        raise ValueError(f"{info_path}: expected a JSON object")
    info[name] = {"file_name": "sft.json", "formatting": "sharegpt",
                  "columns": {"messages": "conversations", "system": "system"},
                  "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}}
    write_json(info_path, info)

    seen: set[str] = set()
    rl_trajs = []
    for t, d in pairs:
        if d.route == "rl" and t.task.id not in seen:
            seen.add(t.task.id)
            rl_trajs.append(t)
    rows = [verl_row(t, i, history_window) for i, t in enumerate(rl_trajs)]
    _write_parquet(out / "rl.parquet", rows)
    with atomic_open(out / "rl_tasks.jsonl") as fh:
        for t in rl_trajs:
            fh.write(json.dumps(asdict(t.task), ensure_ascii=False) + "\n")
    with atomic_open(out / VERL_INTERACTION_FILE) as fh:
        fh.write(verl_interaction_config(envs))

    routers = sorted({d.router for _, d in pairs})
    manifest = {
        "export_version": EXPORT_VERSION,
        "routers": routers,
        "envs": envs,
        "trajectories": len(pairs),
        "sft": {"format": LLAMAFACTORY_FORMAT, "file": "sft.json", "dataset_info": "dataset_info.json",
                "dataset_name": name, "trajectories": sum(d.route == "sft" for _, d in pairs), "samples": len(sft)},
        "rl": {"format": VERL_FORMAT, "file": "rl.parquet", "tasks_file": "rl_tasks.jsonl",
               "interaction_config": VERL_INTERACTION_FILE, "interaction_format": VERL_INTERACTION_FORMAT,
               "trajectories": sum(d.route == "rl" for _, d in pairs), "tasks": len(rows)},
    }
    write_json(out / "export.json", manifest)
    return manifest
