"""`prism-gym eval` and `prism-gym expert`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from prism_gym.cli.app import app, console, err_console, fail, report_plugin_failures
from prism_gym.plugins import PluginError, get_registry

def _env_spec(env: str):
    registry = get_registry()
    try:
        spec = registry.env(env)
    except PluginError as exc:
        report_plugin_failures(registry)
        raise fail(str(exc))
    return spec


def _build_agent(agent: str, env: str, model: Optional[str], seed: int, temperature: float,
                 max_new_tokens: int, device: Optional[str], decoding: str = "free", slot_text: str = "free"):
    registry = get_registry()
    try:
        spec = registry.agent(agent)
    except PluginError as exc:
        raise fail(str(exc))
    options: dict = {"env_name": env}
    if agent == "llm":
        options.update(model=model, device=device, seed=seed, max_new_tokens=max_new_tokens,
                       do_sample=temperature > 0, temperature=temperature if temperature > 0 else 1.0,
                       decoding=decoding, slot_text=slot_text)
    elif model is not None:
        raise fail(f"--model applies to the llm agent only, not to {agent!r}")
    elif decoding != "free":
        raise fail(f"--decoding applies to the llm agent only, not to {agent!r}")
    elif agent == "random":
        options["seed"] = seed
    try:
        return spec.build(**options)
    except (OSError, ValueError, TypeError) as exc:
        raise fail(f"could not build agent {agent!r}: {exc}")


@app.command("eval")
def eval_command(
    ctx: typer.Context,
    env: str = typer.Option(..., "--env", help="Environment short name or id (see `prism-gym envs list`)."),
    agent: str = typer.Option("llm", "--agent", help="expert, random, llm, or an agent a plugin provides."),
    model: Optional[str] = typer.Option(None, "--model", help="llm agent: local directory or hub id; "
                                        "default: the embedded default model."),
    split: Optional[str] = typer.Option(None, "--split", help="Split to evaluate on (default: the env's first "
                                        "evaluation split)."),
    episodes: int = typer.Option(128, "--episodes", min=1, help="Episodes (the first N tasks of the split)."),
    seed: int = typer.Option(0, "--seed", help="Seed for env resets and the agent."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the metrics to this JSON file."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", min=1, help="Step limit per episode "
                                            "(default: the env's)."),
    batch: Optional[int] = typer.Option(None, "--batch", min=1, help="Episodes played at once (default: all)."),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, help="llm agent: 0 = greedy, "
                                      "> 0 = sampling at this temperature."),
    max_new_tokens: int = typer.Option(48, "--max-new-tokens", min=1, help="llm agent: tokens per answer."),
    device: Optional[str] = typer.Option(None, "--device", help="llm agent: torch device (cpu, cuda, ...)."),
    decoding: str = typer.Option("free", "--decoding", help="llm agent: free, or admissible (answers masked to "
                                 "the env's admissible actions; docs/agents.md)."),
    slot_text: str = typer.Option("free", "--slot-text", help="llm agent, admissible decoding: a search query's "
                                  "text, free or goal-span (consecutive words of the goal)."),
    save_trajectories: Optional[Path] = typer.Option(None, "--save-trajectories", help="Write every episode to "
                                                     "this JSONL of Trajectory records (read it with `prism-gym "
                                                     "show`)."),
    protocol_file: Optional[Path] = typer.Option(None, "--protocol", help="Play a recorded evaluation protocol "
                                                 "(a run's eval/protocol.json, its result.json or a leaderboard "
                                                 "entry): its splits, seeds, episodes, step limit, answer budget, "
                                                 "temperature and decoding, which the matching options then may "
                                                 "not set."),
):
    """Evaluate an agent: success rate, score and a per-task-type table."""
    if protocol_file is not None:
        return _eval_protocol(ctx, protocol_file, env=env, agent=agent, model=model, json_path=json_path,
                              batch=batch, device=device, max_new_tokens=max_new_tokens,
                              save_trajectories=save_trajectories)
    from prism_gym.evaluation import evaluate
    from prism_gym.fileio import write_json
    from prism_gym.records import write_jsonl

    for option, target in (("--save-trajectories", save_trajectories), ("--json", json_path)):
        if target is not None and target.is_dir():
            raise fail(f"{option} {target} is a directory; give a file path")
    from prism_gym.agents.constrained import check_decoding

    try:
        check_decoding(decoding, slot_text)
    except ValueError as exc:
        raise fail(f"--decoding / --slot-text: {exc}")
    spec = _env_spec(env)
    split = split or (spec.eval_splits[0] if spec.eval_splits else None)
    if split is None:
        raise fail(f"env {spec.name!r} names no evaluation split; pass --split")
    built = _build_agent(agent, spec.name, model, seed, temperature, max_new_tokens, device, decoding, slot_text)
    try:
        result = evaluate(spec.name, built, split=split, episodes=episodes, seed=seed, max_steps=max_steps,
                          max_batch=batch, progress=True, return_trajectories=True)
    except (ValueError, RuntimeError) as exc:
        raise fail(str(exc))
    trajectories = result.pop("trajectories")
    _print_result(result)
    if save_trajectories is not None:
        n = write_jsonl(save_trajectories, trajectories)
        console.print(f"{n} episodes written to {save_trajectories} (`prism-gym show {save_trajectories}`)")
    if json_path is not None:
        write_json(json_path, result)
        console.print(f"metrics written to {json_path}")


# Options a recorded protocol sets; given on the command line beside --protocol, they are refused.
PROTOCOL_OPTIONS = {"split": "--split", "episodes": "--episodes", "seed": "--seed", "max_steps": "--max-steps",
                    "temperature": "--temperature", "max_new_tokens": "--max-new-tokens", "decoding": "--decoding",
                    "slot_text": "--slot-text"}


def _eval_protocol(ctx: typer.Context, protocol_file: Path, *, env: str, agent: str, model: Optional[str],
                   json_path: Optional[Path], batch: Optional[int], device: Optional[str], max_new_tokens: int,
                   save_trajectories: Optional[Path]) -> None:
    """``eval --protocol``: every split of the protocol, played as recorded."""
    from prism_gym.evaluation import evaluate_protocol
    from prism_gym.fileio import write_json
    from prism_gym.protocol import ProtocolError, load_protocol
    from prism_gym.records import write_jsonl

    # By the source's name: typer ships its own copy of click, whose enum is not click's.
    given = {name for name in PROTOCOL_OPTIONS
             if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"}
    try:
        protocol = load_protocol(protocol_file)
    except ProtocolError as exc:
        raise fail(str(exc))
    # A record made before runs recorded their answer budget may be given one,
    # explicitly; nothing else the protocol records is overridden.
    if not protocol.budget_known and "max_new_tokens" in given and agent == "llm":
        protocol = protocol.with_budget(max_new_tokens)
        given.discard("max_new_tokens")
    if given:
        names = ", ".join(PROTOCOL_OPTIONS[name] for name in sorted(given))
        raise fail(f"{names}: set by the protocol in {protocol_file}; leave {'them' if len(given) > 1 else 'it'} out")
    for option, target in (("--save-trajectories", save_trajectories), ("--json", json_path)):
        if target is not None and target.is_dir():
            raise fail(f"{option} {target} is a directory; give a file path")
    spec = _env_spec(env)
    if agent == "llm":
        try:
            options = protocol.llm_options()
        except ProtocolError as exc:
            raise fail(f"{protocol_file}: {exc} (--max-new-tokens N)")
        built = _build_agent(agent, spec.name, model, protocol.splits[0].seed,
                             options["temperature"] if options["do_sample"] else 0.0, options["max_new_tokens"],
                             device, protocol.decoding, protocol.slot_text)
    else:  # another agent plays the same episodes; the LLM's answer settings do not apply to it
        built = _build_agent(agent, spec.name, model, protocol.splits[0].seed, 0.0, max_new_tokens, device)
    per_split, trajectories = {}, []
    try:
        for split, result in evaluate_protocol(spec.name, built, protocol, max_batch=batch, progress=True,
                                               return_trajectories=True):
            trajectories += result.pop("trajectories")
            per_split[split] = result
            _print_result(result)
    except (ValueError, RuntimeError) as exc:
        raise fail(str(exc))
    if save_trajectories is not None:
        n = write_jsonl(save_trajectories, trajectories)
        console.print(f"{n} episodes written to {save_trajectories} (`prism-gym show {save_trajectories}`)")
    if json_path is not None:
        write_json(json_path, {"protocol": protocol.to_dict(), "per_split": per_split})
        console.print(f"metrics written to {json_path}")


def _print_result(result: dict) -> None:
    console.print(f"[bold]{result['agent']}[/] on {result['env']}/{result['split']}: "
                  f"success {result['success_rate']:.2%}, score {result['score']:.2f}, "
                  f"{result['episodes']} episodes")
    show_gcs = "goal_condition_success" in result
    table = Table(title="per task type")
    for col in ["task type", "episodes", "success", "score"] + (["goal conditions"] if show_gcs else []):
        table.add_column(col, justify="left" if col == "task type" else "right")
    for name, row in result["per_task_type"].items():
        cells = [name, str(row["episodes"]), f"{row['success_rate']:.2%}", f"{row['score']:.2f}"]
        if show_gcs:
            cells.append(f"{row.get('goal_condition_success', 0.0):.2%}")
        table.add_row(*cells)
    console.print(table)


@app.command("expert")
def expert_command(
    env: str = typer.Option(..., "--env", help="Environment short name or id."),
    split: str = typer.Option("train", "--split", help="Split whose tasks the expert plays."),
    episodes: int = typer.Option(..., "--episodes", min=1, help="Number of tasks (the first N of the split)."),
    out: Path = typer.Option(..., "--out", help="Output JSONL of Trajectory records."),
    seed: int = typer.Option(0, "--seed", help="Seed for env resets."),
    keep_failed: bool = typer.Option(False, "--keep-failed", help="Also write episodes the expert lost."),
):
    """Write expert trajectories (the input of `route` and `bench`)."""
    from prism_gym.agents.baselines import ExpertAgent
    from prism_gym.records import write_jsonl
    from prism_gym.rollout import rollout

    spec = _env_spec(env)
    if spec.splits and split not in spec.splits:
        raise fail(f"env {spec.name!r} has no split {split!r}; splits: {', '.join(spec.splits)}")
    tasks = spec.list_tasks(split, limit=episodes, seed=seed)
    if not tasks:
        raise fail(f"split {split!r} of env {spec.name!r} has no tasks")
    try:
        played = rollout(spec.name, tasks, ExpertAgent(spec.name), seed=seed, progress=True)
    except (ValueError, RuntimeError) as exc:
        raise fail(str(exc))
    trajectories = [ep.trajectory for ep in played]
    lost = [t for t in trajectories if not t.won]
    if not keep_failed:
        trajectories = [t for t in trajectories if t.won]
    n = write_jsonl(out, trajectories)
    if lost:
        err_console.print(f"[yellow]warning:[/] the expert lost {len(lost)} of {len(played)} episodes "
                          f"({'kept' if keep_failed else 'left out'}), e.g. {lost[0].task.id}")
    console.print(f"{n} expert trajectories of {spec.name}/{split} written to {out}")
