"""``leaderboard verify``: re-run an entry's evaluation from its checkpoint.

The checkpoint is found in the run directory the entry names (or one given on
the command line), its weights are re-hashed and compared with the entry's
fingerprint, and the evaluation is repeated with the entry's protocol
(:mod:`prism_gym.protocol`: same splits, seeds, episode counts, step limit,
answer budget and decoding: greedy, or sampling at the recorded temperature
with the recorded seed), played the way the runner's evaluation played it.
An entry made before runs recorded their answer budget (``max_new_tokens``
null) has it derived again from the run directory's expert answers, as the
run did; without them the outcome is ``unavailable``.
Each split's success rate and score must agree within the stated tolerance.
The outcome is recorded in ``<root>/verifications/<entry>.json`` (the latest
verification of that entry), which ``render`` shows.

Outcomes: ``reproduced``; ``not reproduced`` (a metric outside tolerance);
``fingerprint mismatch`` (the checkpoint is not the one evaluated);
``unavailable`` (no checkpoint to re-run).
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from prism_gym.evaluation import evaluate_protocol
from prism_gym.fileio import write_json
from prism_gym.leaderboard.fingerprint import weights_fingerprint
from prism_gym.leaderboard.loading import LeaderboardError
from prism_gym.leaderboard.submit import SubmissionError, _checkpoint_path
from prism_gym.leaderboard.validate import load_entry
from prism_gym.protocol import EvaluationProtocol

# Greedy decoding on the same checkpoint is deterministic on one machine; on
# other hardware or library versions float differences can flip a few argmax
# choices. 0.03 of success rate is about 4 episodes in 128; 3 points of score.
DEFAULT_SUCCESS_TOL = 0.03
DEFAULT_SCORE_TOL = 3.0
VERIFICATION_SCHEMA_VERSION = 1


def build_llm_agent(env_name: str, checkpoint: Path, protocol: EvaluationProtocol, *, device: str | None):
    """The LLM agent of the ``llm`` agent plugin on the checkpoint, answering
    as the protocol says (the options the runner's evaluation agent had; the
    evaluation reseeds its sampling per split)."""
    from prism_gym.plugins import get_registry

    return get_registry().agent("llm").build(env_name=env_name, model=str(checkpoint), device=device,
                                             **protocol.llm_options())


def _default_evaluate(env_name, agent, *, split, episodes, seed, max_steps=None, progress=True):
    from prism_gym.evaluation import evaluate

    return evaluate(env_name, agent, split=split, episodes=episodes, seed=seed, max_steps=max_steps,
                    progress=progress)


def _run_base(entry: dict, run_dir: Path | None) -> Path:
    return Path(run_dir) if run_dir is not None else Path(entry["provenance"]["run_dir"])


def _rederived_budget(base: Path, checkpoint: Path) -> tuple[int | None, str]:
    """The answer budget of an entry made before runs recorded it. Its
    ``max_new_tokens`` is null because the run derived the budget from its
    expert's answers; derive it again the same way when the run directory
    still holds them. Never the agent's own default, which is not what the
    run played with."""
    from prism_gym.runner.run import REFERENCE_ACTIONS, expert_answer_budget

    answers = base.joinpath(*REFERENCE_ACTIONS)
    if not answers.is_file():
        return None, (f"the entry records no answer budget (max_new_tokens is null: it predates recorded budgets) "
                      f"and {answers} is not here to derive it again; replaying with any other budget would not "
                      "repeat the run's evaluation")
    from prism_gym.models import load_tokenizer

    return expert_answer_budget(base, load_tokenizer(str(checkpoint))), ""


def _resolve_checkpoint(entry: dict, run_dir: Path | None) -> tuple[Path | None, str]:
    provenance = entry["provenance"]
    relative = provenance["checkpoint"]
    if relative is None:
        return None, "the run kept no checkpoint"
    base = _run_base(entry, run_dir)
    try:
        path = _checkpoint_path(base, relative)
    except SubmissionError as exc:
        raise LeaderboardError(str(exc)) from None
    if not path.is_dir():
        return None, f"checkpoint {path} is not on this machine (pass --run-dir where the run lives)"
    return path, ""


def compare(recorded: dict, measured: dict, success_tol: float, score_tol: float) -> dict:
    d_success = abs(measured["success_rate"] - recorded["success_rate"])
    d_score = abs(measured["score"] - recorded["score"])
    return {"recorded": {k: recorded[k] for k in ("success_rate", "score", "episodes")},
            "measured": {"success_rate": float(measured["success_rate"]), "score": float(measured["score"]),
                         "episodes": int(measured["episodes"])},
            "difference": {"success_rate": d_success, "score": d_score},
            "within_tolerance": d_success <= success_tol and d_score <= score_tol
            and int(measured["episodes"]) == int(recorded["episodes"])}


def verify(entry_path: str | os.PathLike, *, root: str | os.PathLike = "leaderboard",
           run_dir: str | os.PathLike | None = None, device: str | None = None,
           success_tol: float = DEFAULT_SUCCESS_TOL, score_tol: float = DEFAULT_SCORE_TOL,
           evaluate: Callable | None = None, agent_factory: Callable | None = None,
           progress: bool = True) -> tuple[dict, Path]:
    """Verify one entry; return ``(record, path of the record)``.

    ``evaluate`` (one split: ``split``, ``episodes``, ``seed``, ``max_steps``,
    ``progress``) and ``agent_factory`` (``env_name, checkpoint, protocol,
    device=``) default to :func:`prism_gym.evaluation.evaluate` and
    :func:`build_llm_agent` (tests substitute them)."""
    if not (0 <= success_tol <= 1) or not (0 <= score_tol <= 100):
        raise LeaderboardError("tolerances: success in [0, 1], score in [0, 100]")
    entry_path = Path(entry_path)
    entry, problems = load_entry(entry_path)
    if problems:
        raise LeaderboardError("cannot verify an invalid entry:\n" + "\n".join(problems))
    if entry["kind"] != "run":
        raise LeaderboardError(f"{entry_path}: a reference entry reports a publication's numbers; there is no "
                               "checkpoint here to re-run")
    evaluate = evaluate or _default_evaluate
    agent_factory = agent_factory or build_llm_agent
    protocol = EvaluationProtocol.from_dict(entry["evaluation"])
    record = {"schema_version": VERIFICATION_SCHEMA_VERSION, "entry": entry_path.name,
              "entry_fingerprint": entry["entry_fingerprint"],
              "verified": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
              "tolerance": {"success_rate": success_tol, "score": score_tol}, "splits": {}, "reason": ""}
    checkpoint, reason = _resolve_checkpoint(entry, None if run_dir is None else Path(run_dir))
    if checkpoint is None:
        record.update(outcome="unavailable", reason=reason)
        return record, _record(root, entry_path, record)
    expected = entry["fingerprints"]["checkpoint"]
    try:
        actual = weights_fingerprint(checkpoint)
    except FileNotFoundError as exc:
        record.update(outcome="unavailable", reason=str(exc))
        return record, _record(root, entry_path, record)
    if actual != expected:
        record.update(outcome="fingerprint mismatch",
                      reason=f"the checkpoint's weights hash to {actual}, the entry records {expected}")
        return record, _record(root, entry_path, record)
    if not protocol.budget_known:
        budget, reason = _rederived_budget(_run_base(entry, None if run_dir is None else Path(run_dir)), checkpoint)
        if budget is None:
            record.update(outcome="unavailable", reason=reason)
            return record, _record(root, entry_path, record)
        protocol = protocol.with_budget(budget)
    record["protocol"] = protocol.to_dict()  # what was replayed, the budget included
    for plan in protocol.splits:
        if plan.split not in entry["metrics"]["per_split"]:
            raise LeaderboardError(f"{entry_path}: evaluation split {plan.split!r} has no recorded metrics")
    agent = agent_factory(entry["env"]["name"], checkpoint, protocol, device=device)
    for split, measured in evaluate_protocol(entry["env"]["name"], agent, protocol, evaluate_split=evaluate,
                                             progress=progress):
        record["splits"][split] = compare(entry["metrics"]["per_split"][split], measured, success_tol, score_tol)
    ok = all(row["within_tolerance"] for row in record["splits"].values())
    record["outcome"] = "reproduced" if ok else "not reproduced"
    if not ok:
        record["reason"] = "splits outside tolerance: " + ", ".join(
            s for s, row in record["splits"].items() if not row["within_tolerance"])
    return record, _record(root, entry_path, record)


def _record(root, entry_path: Path, record: dict) -> Path:
    path = Path(root) / "verifications" / entry_path.name
    write_json(path, record)
    return path
