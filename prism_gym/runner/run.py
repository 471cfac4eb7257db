"""One bench run: expert -> probe/route -> SFT -> RL -> eval -> result.json.

Every stage writes its outputs into the run directory and then a marker,
``stages/<stage>.json`` (its ledger and a summary), atomically. A stage whose
marker exists is never run again; ``--resume`` therefore restarts at the stage
a killed run lost, and SFT and RL continue from their own mid-stage
checkpoints (``work/``). Seeds are fixed per stage, so a resumed run ends with
the same result as an uninterrupted one.

Run directory::

    config.json                 the full configuration (RunConfig)
    expert/trajectories.jsonl   expert trajectories (Trajectory records)
    probe/decisions.jsonl       one RoutingDecision per trajectory
    checkpoints/sft/            model after SFT (absent when SFT had no data)
    checkpoints/final/          the model that was evaluated
    eval/protocol.json          the evaluation protocol, resolved once (prism_gym.protocol)
    eval/metrics.json           evaluation per split and per task type
    rl/history.json             per-update GRPO statistics
    stages/<stage>.json         the stage's ledger and summary
    result.json                 the summary (docs/runner.md)
    work/                       mid-stage checkpoints, removed when the stage ends
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

from prism_gym.fileio import read_json, write_json
from prism_gym.protocol import EvaluationProtocol, SplitPlan
from prism_gym.records import read_decisions, read_trajectories, write_jsonl
from prism_gym.runner import dist, services
from prism_gym.runner.events import RunEvents
from prism_gym.runner.ledger import LEDGER_KEYS, StageCost, StageTimer, TokenMeter, matmul_parameters, total
from prism_gym.runner.presets import RunConfig
from prism_gym.runner.progress import RunReporter
from prism_gym.runner.result import (RESULT_FILE, SCHEMA_VERSION, code_version, now_iso, preset_fingerprint,
                                     relative_costs, sha256_text, weights_fingerprint)

STAGES = ("expert", "probe", "sft", "rl", "eval")
PARALLEL_STAGES = ("sft", "rl")  # run on every process under accelerate; the rest on the main one
# Evaluation tasks are chosen with one fixed seed, so that every run (every
# router, every seed) is scored on the same episodes.
EVAL_TASK_SEED = 0
# Expert episodes on the first tasks of the expert split whose answers size
# the generation budget (max_new_tokens) when a config leaves it unset.
BUDGET_REFERENCE_TASKS = 64
# Pass-rate rollouts on a CPU: episodes per batched generate when probe.rollout_batch
# is unset (benchmarks/bench_pass_rates.py; docs/runner.md, "Pass-rate rollouts").
CPU_ROLLOUT_BATCH = 64
# The evaluation protocol as the run resolved it, under eval/ (docs/runner.md).
PROTOCOL_FILE = "protocol.json"
# The expert's answers on the reference tasks, under expert/: what the answer budget is read off.
REFERENCE_ACTIONS = ("expert", "reference_actions.json")


class RunError(RuntimeError):
    """A run cannot start or continue (the message says why and what to do)."""


class BenchRun:
    """Runs (or resumes) one configuration in ``run_dir``."""

    def __init__(self, cfg: RunConfig, run_dir: str | os.PathLike, *, resume: bool = False,
                 reporter: RunReporter | None = None,
                 on_step: Callable[[str, int, int], None] | None = None):
        self.cfg = cfg.validate().check_env_options()
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.reporter = reporter or RunReporter(enabled=False)
        self.on_step = on_step  # (stage, done, total) after every SFT/RL step; tests interrupt runs here
        self.events = RunEvents(self.run_dir, self.cfg.report_to)  # plugins and trackers hear the run through it
        self._base = None

    # -- paths ------------------------------------------------------------------
    def path(self, *parts: str) -> Path:
        return self.run_dir.joinpath(*parts)

    def marker(self, stage: str) -> Path:
        return self.path("stages", f"{stage}.json")

    def done(self, stage: str) -> bool:
        return self.marker(stage).exists()

    # -- entry point ----------------------------------------------------------------
    def run(self) -> dict:
        self.check_model()
        device = dist.init()
        self._device = device or "cpu"
        if device and not self.cfg.device:
            self.cfg.device = None if device == "cpu" else device
        main = dist.is_main()
        if not main:
            self.reporter.enabled = False
        if main:
            finished = self._finished_result()
            if finished is not None:
                self.reporter.note(f"[green]{self.run_dir} already holds this finished run; its result is shown "
                                   f"(a new run needs another --run-dir or --seed)[/]")
                return finished
            self._prepare_dir()
            self._build_model_step()
            self._header()
            self.events.start(self.cfg.to_dict())
        try:
            result = self._run_stages(main)
        except BaseException as exc:  # a kill too: trackers close the run as failed
            self._note_tracker_failures(self.events.finish(None, exc))
            raise
        self._note_tracker_failures(self.events.finish(result, None))
        return result

    def _run_stages(self, main: bool) -> dict:
        dist.barrier()
        steps = {"expert": self._expert, "probe": self._probe, "sft": self._sft, "rl": self._rl, "eval": self._eval}
        for i, stage in enumerate(STAGES, start=1):
            if self.done(stage):
                self.reporter.stage(i, len(STAGES), stage, "[dim]done (kept from the earlier attempt)[/]")
                continue
            if stage in PARALLEL_STAGES or main:
                self._run_stage(i, stage, steps[stage])
            dist.barrier()
        if main:
            result = self._result()
            write_json(self.path(RESULT_FILE), result)
            self.events.ledger(result["ledger"])
        dist.barrier()
        return read_json(self.path(RESULT_FILE))

    def _note_tracker_failures(self, failures: list[str]) -> None:
        # A tracker that fails mid-run loses its logs, not the run: say so once, at the end.
        for line in failures:
            self.reporter.note(f"[yellow]{line}[/]")

    def _run_stage(self, index: int, stage: str, step) -> None:
        main = dist.is_main()
        self.reporter.stage(index, len(STAGES), stage)
        self._seed(stage)
        self.events.stage_started(stage, self.cfg.to_dict())
        cost, summary = step()
        if not main:
            return
        record = {"ledger": cost.to_dict(), "summary": summary}
        from prism_gym.runner.curves import write_curves

        write_curves(self.run_dir)
        write_json(self.marker(stage), record)
        shutil.rmtree(self.path("work", stage), ignore_errors=True)
        self.events.stage_finished(stage, record["ledger"], summary)
        self.reporter.note(_cost_line(cost))

    def _finished_result(self) -> dict | None:
        """The result of a finished run of this same configuration in the run
        directory (a rerun of the same command shows it instead of failing)."""
        cfg_path, result_path = self.path("config.json"), self.path(RESULT_FILE)
        if not (cfg_path.exists() and result_path.exists()):
            return None
        if RunConfig.from_dict(read_json(cfg_path)).fingerprint() != self.cfg.fingerprint():
            return None  # _prepare_dir refuses to mix configurations
        return read_json(result_path)

    def _build_model_step(self) -> None:
        """Build the embedded default model now, as its own announced step, when
        neither the package nor the cache holds it; its time is written to
        ``stages/model_build.json`` and reported apart from the stages."""
        if self.cfg.model not in (None, "default") or self.done("model_build"):
            return
        from prism_gym.agents.default_model import BuildSettings, build_default_model, find_default_model

        if find_default_model() is not None:
            return
        import time

        self.reporter.stage(0, len(STAGES), "model build",
                            "[dim]the embedded default model is built once and cached (prism-gym model build)[/]")
        started = time.time()
        build_default_model(BuildSettings(), progress=self.reporter.enabled)
        write_json(self.marker("model_build"), {"wall_s": round(time.time() - started, 1)})

    def _header(self) -> None:
        """One block before stage 1: what runs, on what, where."""
        cfg = self.cfg
        base = self._base_dir()
        fingerprint = weights_fingerprint(base)[:19] if base else f"hub:{cfg.model}"
        method = cfg.baseline or cfg.router
        options = ", ".join(f"{k}={v}" for k, v in (cfg.arbiter_options if cfg.arbiter else cfg.router_options).items())
        self.reporter.header([
            f"env [bold]{cfg.env}[/], method [bold]{method}[/]" + (f" ({options})" if options else "")
            + f", preset {cfg.preset}, seed {cfg.seed}",
            f"model {cfg.model or 'default'} ({fingerprint}), device {cfg.device or self._device}",
            f"run directory {self.run_dir}",
        ])

    def _prepare_dir(self) -> None:
        cfg_path = self.path("config.json")
        if cfg_path.exists():
            if not self.resume:
                raise RunError(f"{self.run_dir} already holds a run; pass --resume to continue it "
                               f"or choose another --run-dir")
            old = RunConfig.from_dict(read_json(cfg_path))
            if old.fingerprint() != self.cfg.fingerprint():
                raise RunError(f"{self.run_dir} holds a run with another configuration "
                               f"({old.fingerprint()} != {self.cfg.fingerprint()}); refusing to mix them")
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_json(cfg_path, self.cfg.to_dict())

    def _seed(self, stage: str) -> None:
        import random

        import numpy as np
        import torch

        value = self.cfg.seed * 1000 + STAGES.index(stage)
        random.seed(value)
        np.random.seed(value)
        torch.manual_seed(value)

    # -- models -----------------------------------------------------------------
    def check_model(self) -> None:
        """Reject, before any stage, a model whose chat template gives no
        assistant-token mask (SFT, the probe and GRPO all need one). The embedded
        model's template is marked by construction and is not loaded for this."""
        if self.cfg.model in (None, "default"):
            return
        from prism_gym.chat_mask import TemplateError, check_template
        from prism_gym.models import load_tokenizer

        try:
            check_template(load_tokenizer(self.cfg.model))
        except (TemplateError, OSError) as exc:
            raise RunError(f"model {self.cfg.model}: {exc}") from None

    def base_model(self, for_training: bool = False):
        from prism_gym.models import load_model_and_tokenizer

        return load_model_and_tokenizer(self.cfg.model, device=self.cfg.device, for_training=for_training)

    def _load_dir(self, path: Path):
        from prism_gym.models import load_model_and_tokenizer

        return load_model_and_tokenizer(str(path), device=self.cfg.device)

    def _base_dir(self) -> Path | None:
        """The base model's directory on disk (for fingerprints)."""
        if self.cfg.model in (None, "default"):
            from prism_gym.agents.default_model import default_model_dir

            return Path(default_model_dir(progress=False))
        p = Path(self.cfg.model)
        return p if p.is_dir() else None

    # -- stages -------------------------------------------------------------------
    def _expert(self):
        cfg = self.cfg
        timer = StageTimer(None, 0)
        tasks, heldout_tasks = services.sample_tasks(cfg.env, cfg.expert.split, cfg.expert.trajectories, cfg.seed,
                                                     heldout=cfg.expert.heldout)
        show = self.reporter.enabled
        trajectories = services.collect_expert(cfg.env, tasks, seed=cfg.seed, max_steps=cfg.expert.max_steps,
                                               progress=show)
        heldout = services.collect_expert(cfg.env, heldout_tasks, seed=cfg.seed, max_steps=cfg.expert.max_steps,
                                          progress=show)
        # The answer budget is read off the expert's answers on the split's first
        # tasks, the same for every seed and method (evaluation must not differ).
        reference = services.collect_expert(cfg.env, services.list_tasks(cfg.env, cfg.expert.split,
                                                                          BUDGET_REFERENCE_TASKS, 0),
                                            seed=0, max_steps=cfg.expert.max_steps, progress=show)
        timer.env_steps = sum(t.num_steps for t in trajectories)  # the training data; the rest only measures
        write_jsonl(self.path("expert", "trajectories.jsonl"), trajectories)
        write_jsonl(self.path("expert", "heldout.jsonl"), heldout)
        write_json(self.path(*REFERENCE_ACTIONS),
                   sorted({turn.action for t in reference for turn in t.turns}))
        won = sum(t.won for t in trajectories)
        self.reporter.note(f"{len(trajectories)} expert trajectories, {won} won, {timer.env_steps} steps")
        if won < len(trajectories):
            self.reporter.note(f"[yellow]{len(trajectories) - won} expert episodes were not won; their tasks stay "
                               f"routable but only won trajectories are SFT data[/]")
        return timer.cost(), {"trajectories": len(trajectories), "won": won}

    def _probe(self):
        from prism_gym.plugins import get_registry
        from prism_gym.routing import RoutingContext

        cfg = self.cfg
        trajectories = read_trajectories(self.path("expert", "trajectories.jsonl"))
        router = get_registry().router(cfg.routing_router).build(**cfg.router_options)
        # The run's probe settings, unless the router was given its own batch_size.
        probe_options = {"max_batch_tokens": cfg.probe.max_batch_tokens}
        if "batch_size" not in cfg.router_options:
            probe_options["batch_size"] = cfg.probe.batch_size
        context = RoutingContext(env=cfg.env, seed=cfg.seed, model=cfg.model, device=cfg.device,
                                 cache_dir=self.path("probe", "cache"), options=dict(cfg.router_options),
                                 probe_options=probe_options,
                                 rollout_options={"max_steps": cfg.rl.max_steps} if cfg.rl.max_steps else {})
        # The router's model loads lazily; meter it so that probe or pass-rate work is in the ledger.
        meter = TokenMeter()
        loaded = {}
        original_load = context.load_model

        def metered_load():
            if "pair" not in loaded:
                model, tok = original_load()
                meter.attach(model)
                loaded["pair"] = (model, tok)
                loaded["n"] = matmul_parameters(model)
                # Pass-rate rollouts answer within the RL stage's budget. It needs
                # the tokenizer, so it is set once the model has loaded; without
                # it the agent's generic budget lets rambling samples set the
                # decode length of the whole batch.
                context.rollout_options.setdefault("max_new_tokens", self.answer_budget(tok, cfg.rl.max_new_tokens))
                width = cfg.probe.rollout_batch or (CPU_ROLLOUT_BATCH if model.device.type == "cpu" else None)
                context.rollout_options.setdefault("max_batch", width)
                context.rollout_options.setdefault("decoding", cfg.agent.decoding)
                context.rollout_options.setdefault("slot_text", cfg.agent.slot_text)
            return loaded["pair"]

        context.load_model = metered_load  # type: ignore[method-assign]
        timer = StageTimer(meter, 0)
        decisions = router.route(trajectories, context)
        timer.n_params = loaded.get("n", 0)
        meter.detach()
        # The probe's model is not needed again: drop it now (the metered loader
        # and the context refer to each other, so without this it would live on
        # until a garbage collection, next to the SFT model).
        loaded.clear()
        context._cache.clear()
        if len(decisions) != len(trajectories):
            raise RunError(f"router {cfg.routing_router!r} returned {len(decisions)} decisions "
                           f"for {len(trajectories)} trajectories")
        write_jsonl(self.path("probe", "decisions.jsonl"), decisions)
        settings = router.settings() if hasattr(router, "settings") else dict(cfg.router_options)
        record = {"name": cfg.routing_router, "settings": _plain(settings)}
        if cfg.arbiter:  # the method is the arbiter; this stage only hands it every task (runner/mixed.py)
            from prism_gym.runner.mixed import arbiter_record

            record = arbiter_record(cfg)
        write_json(self.path("probe", "router.json"), record)
        n_rl = sum(d.route == "rl" for d in decisions)
        self.reporter.note(f"router {cfg.routing_router}: {len(decisions) - n_rl} to SFT, {n_rl} to RL")
        return timer.cost(), {"sft": len(decisions) - n_rl, "rl": n_rl}

    def _shares(self):
        trajectories = read_trajectories(self.path("expert", "trajectories.jsonl"))
        decisions = {d.trajectory_id: d for d in read_decisions(self.path("probe", "decisions.jsonl"))}
        sft = [t for t in trajectories if decisions[t.id].route == "sft" and t.won]
        rl_trajs = trajectories if self.cfg.rl_on_all_tasks else [t for t in trajectories if decisions[t.id].route == "rl"]
        seen, rl_tasks = set(), []
        for t in rl_trajs:
            if t.task.id not in seen:
                seen.add(t.task.id)
                rl_tasks.append(t.task)
        return sft, rl_tasks

    def _sft(self):
        from prism_gym.runner.sft import run_sft

        sft, _ = self._shares()
        if self.cfg.baseline == "rl-only" or not sft:
            self.reporter.note("no SFT share: skipped")
            return StageCost(), {"trajectories": 0, "samples": 0}
        from prism_gym.runner.curves import action_accuracy

        model, tokenizer = self.base_model(for_training=True)
        heldout = [t for t in read_trajectories(self.path("expert", "heldout.jsonl")) if t.won]
        curve: list[dict] = []
        before = action_accuracy(model, tokenizer, heldout)
        self.events.sft_point({"step": 0, "epoch": 0.0, **before})
        with self.reporter.bar("sft steps", None) as update:
            def step(done, total_steps):
                update(done, total_steps)
                if self.on_step:
                    self.on_step("sft", done, total_steps)

            cost = run_sft(model, tokenizer, sft, self.cfg.sft, seed=self.cfg.seed, work_dir=self.path("work", "sft"),
                           out_dir=self.path("checkpoints", "sft"), on_step=step,
                           on_epoch=lambda m: action_accuracy(m, tokenizer, heldout), curve=curve,
                           on_curve_point=self.events.sft_point)
        curve.insert(0, {"step": 0, "epoch": 0.0, **before})
        if dist.is_main():
            write_json(self.path("sft", "curve.json"), curve)
        samples = sum(t.num_steps for t in sft)
        losses = [c["train_loss"] for c in curve if "train_loss" in c]
        after = [c for c in curve if "heldout_accuracy" in c][-1]
        line = f"SFT: train loss {losses[0]:.3f} -> {losses[-1]:.3f}" if losses else "SFT: no loss logged"
        if after["heldout_steps"]:
            line += (f"; held-out next-action accuracy {before['heldout_accuracy']:.3f} -> "
                     f"{after['heldout_accuracy']:.3f} ({after['heldout_steps']} expert steps never trained on)")
        self.reporter.note(line)
        return cost, {"trajectories": len(sft), "samples": samples, "heldout_accuracy": after["heldout_accuracy"],
                      "final_train_loss": losses[-1] if losses else None}

    def answer_budget(self, tokenizer, configured: int | None) -> int:
        """``max_new_tokens`` for RL and evaluation: the configured value, or one
        derived from the expert's answers (prompts.answer_budget)."""
        if configured is not None:
            return configured
        return expert_answer_budget(self.run_dir, tokenizer)

    def evaluation_protocol(self, tokenizer=None) -> EvaluationProtocol:
        """The evaluation protocol, resolved once: read back from
        ``eval/protocol.json`` when this run has resolved it, else resolved now
        (the answer budget with ``tokenizer``, else the final checkpoint's) and
        written there. The evaluation plays it and result.json records it, so
        what is recorded is what was played."""
        path = self.path("eval", PROTOCOL_FILE)
        if path.exists():
            return EvaluationProtocol.from_dict(read_json(path))
        cfg = self.cfg
        splits = list(cfg.eval.splits) or list(services.env_spec(cfg.env).eval_splits)
        if not splits:
            raise RunError(f"env {cfg.env!r} names no evaluation splits; set eval.splits")
        if tokenizer is None:
            from prism_gym.models import load_tokenizer

            tokenizer = load_tokenizer(str(self.path("checkpoints", "final")))
        # A split with fewer tasks than eval.episodes is played whole; the
        # protocol records the episodes played, which a replay asks for again.
        plans = tuple(SplitPlan(split, EVAL_TASK_SEED,
                                len(services.list_tasks(cfg.env, split, cfg.eval.episodes, EVAL_TASK_SEED)))
                      for split in splits)
        protocol = EvaluationProtocol(splits=plans, max_new_tokens=self.answer_budget(tokenizer, cfg.eval.max_new_tokens),
                                      max_steps=cfg.eval.max_steps, temperature=float(cfg.eval.temperature),
                                      decoding=cfg.agent.decoding, slot_text=cfg.agent.slot_text)
        write_json(path, protocol.to_dict())
        return protocol

    def _start_dir(self) -> Path | None:
        sft_dir = self.path("checkpoints", "sft")
        return sft_dir if sft_dir.exists() else None

    def _rl(self):
        from prism_gym.runner.grpo import run_grpo
        from prism_gym.runner.sft import save_model

        cfg = self.cfg
        _, tasks = self._shares()
        final = self.path("checkpoints", "final")
        start = self._start_dir()
        if cfg.baseline == "sft-only" or not tasks or (cfg.rl.epochs is None and cfg.rl.iterations == 0):
            self.reporter.note("no RL share: skipped")
            if not dist.is_main():
                pass
            elif start is not None:
                _link_copy(start, final)
            else:
                model, tokenizer = self.base_model()
                save_model(model, tokenizer, final)
            return StageCost(), {"tasks": 0, "iterations": 0}
        model, tokenizer = self._load_dir(start) if start else self.base_model()
        budget = self.answer_budget(tokenizer, cfg.rl.max_new_tokens)
        env_kwargs = cfg.env_kwargs()

        def collect(policy, batch_tasks, *, group_size, seed):
            import torch

            torch.manual_seed(seed)
            agent = services.llm_agent(cfg.env, policy, tokenizer, sample=True, temperature=cfg.rl.temperature,
                                       max_new_tokens=budget, seed=seed, decoding=cfg.agent.decoding,
                                       slot_text=cfg.agent.slot_text)
            with torch.no_grad():
                return services.rollout(cfg.env, batch_tasks, agent, group_size=group_size, seed=seed,
                                        max_steps=cfg.rl.max_steps, record_tokens=True, progress=False,
                                        env_kwargs=env_kwargs or None)

        from prism_gym.runner.grpo import planned_iterations

        with self.reporter.bar("grpo updates", planned_iterations(cfg.rl, len(tasks))) as update:
            def step(done, total_steps):
                update(done, total_steps)
                if self.on_step:
                    self.on_step("rl", done, total_steps)

            import dataclasses

            rl_cfg = dataclasses.replace(cfg.rl, max_new_tokens=budget)  # the resolved budget (token-sum losses use it)
            train = run_grpo
            if cfg.arbiter:  # decided during training: one loop, SFT and RL terms per update (runner/mixed.py)
                from prism_gym.runner.mixed import arbitrated_stage

                train = arbitrated_stage(cfg, self.path("expert", "trajectories.jsonl"))
            model, cost, history = train(model, tokenizer, tasks, rl_cfg, seed=cfg.seed, collect=collect,
                                         work_dir=self.path("work", "rl"), on_step=step,
                                         on_update=self.events.rl_update)
        if dist.is_main():
            save_model(model, tokenizer, final)
            write_json(self.path("rl", "history.json"), history)
        from prism_gym.runner.curves import no_signal_advice

        for h in history:
            self.reporter.note(_update_line(h))
        advice = no_signal_advice(history)
        if advice:
            self.reporter.note(f"[yellow]{advice}[/]")
        last = history[-1] if history else {}
        return cost, {"tasks": len(tasks), "iterations": len(history), "max_new_tokens": budget,
                      "last_mean_return": last.get("mean_return", 0.0)}

    def _eval(self):
        cfg = self.cfg
        model, tokenizer = self._load_dir(self.path("checkpoints", "final"))
        meter = TokenMeter().attach(model)
        timer = StageTimer(meter, matmul_parameters(model))
        protocol = self.evaluation_protocol(tokenizer)
        per_split = {}
        import torch

        # Sampling is seeded by each split's seed in the protocol (the evaluation's,
        # not the run's: a run's seed changes training only).
        agent = services.protocol_agent(cfg.env, model, tokenizer, protocol)
        with torch.no_grad():
            for split, measured in services.evaluate_protocol(cfg.env, agent, protocol,
                                                              progress=self.reporter.enabled):
                per_split[split] = measured
                trajectories = measured.pop("trajectories")
                write_jsonl(self.path("eval", "trajectories", f"{split}.jsonl"), trajectories)
                self.events.episodes(split, trajectories)
                timer.env_steps += sum(t.num_steps for t in trajectories)
                self.reporter.note(_eval_line(split, per_split[split]))
        meter.detach()
        metrics = combine_metrics(per_split)
        metrics["outcomes"] = {split: m["outcomes"] for split, m in per_split.items()}
        write_json(self.path("eval", "metrics.json"), metrics)
        self.events.evaluation(metrics)
        return timer.cost(), {"success_rate": metrics["success_rate"], "score": metrics["score"]}

    # -- result -------------------------------------------------------------------
    def _result(self) -> dict:
        cfg = self.cfg
        stages = {s: read_json(self.marker(s))["ledger"] for s in STAGES}
        decisions = read_decisions(self.path("probe", "decisions.jsonl"))
        router = read_json(self.path("probe", "router.json"))
        metrics = read_json(self.path("eval", "metrics.json"))
        outcomes = metrics.pop("outcomes", None)
        spec = services.env_spec(cfg.env)
        base_dir = self._base_dir()
        final = self.path("checkpoints", "final")
        from safetensors import safe_open

        n_params = 0
        for f in final.glob("*.safetensors"):
            with safe_open(str(f), "pt") as fh:
                for key in fh.keys():
                    n_params += _prod(fh.get_slice(key).get_shape())
        trajectories = read_trajectories(self.path("expert", "trajectories.jsonl"))
        result = {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.run_dir.name,
            "created": now_iso(),
            "code_version": code_version(),
            "preset": cfg.preset,
            "track": cfg.track,
            "router": {"name": router["name"], "settings": router["settings"]},
            "baseline": cfg.baseline,
            "model": {"name": cfg.model or "default", "parameters": n_params,
                      "fingerprint": weights_fingerprint(base_dir) if base_dir else f"hub:{cfg.model}"},
            "env": {"name": cfg.env, "id": spec.id, "version": env_version(spec),
                    "data_fingerprint": sha256_text(sorted(f"{t.task.id}\t{t.task.goal}" for t in trajectories))},
            "seed": cfg.seed,
            # what each stage trained on: sft-then-rl uses every trajectory for SFT and every task for RL
            "routing": {"trajectories": len(decisions), "sft": sum(d.route == "sft" for d in decisions),
                        "rl": len(decisions) if cfg.rl_on_all_tasks else sum(d.route == "rl" for d in decisions)},
            "metrics": metrics,
            "outcomes": outcomes,
            "evaluation": self.evaluation_protocol().to_dict(),
            "ledger": {"stages": stages, "total": total(stages)},
            "fingerprints": {"config": cfg.fingerprint(), "preset": preset_fingerprint(cfg.to_dict()),
                             "data_split": sha256_text(sorted(f"{d.trajectory_id}\t{d.route}" for d in decisions)),
                             "checkpoint": weights_fingerprint(final)},
            "checkpoint": "checkpoints/final",
            "config": cfg.to_dict(),
        }
        result["relative_cost"] = relative_costs(self.run_dir, result)
        return result


def expert_answer_budget(run_dir: str | os.PathLike, tokenizer) -> int:
    """The answer budget a run derives when its config leaves max_new_tokens
    unset: read off the expert's answers it recorded (prompts.answer_budget).
    ``leaderboard verify`` re-derives an old entry's budget with it."""
    from prism_gym.agents.prompts import answer_budget

    return answer_budget(tokenizer, read_json(Path(run_dir).joinpath(*REFERENCE_ACTIONS)))


# Per-split rates kept beside success and score: how the agent failed.
SPLIT_RATES = ("goal_condition_success", "invalid_action_rate", "malformed_action_rate", "mean_steps")


def combine_metrics(per_split: dict[str, dict]) -> dict:
    """Overall success and score (episode-weighted over splits), per split, and
    per task type summed over splits."""
    episodes = sum(int(m["episodes"]) for m in per_split.values())
    if episodes == 0:
        raise RunError("evaluation ran no episodes")
    success = sum(m["success_rate"] * m["episodes"] for m in per_split.values()) / episodes
    score = sum(m["score"] * m["episodes"] for m in per_split.values()) / episodes
    by_type: dict[str, dict] = {}
    for m in per_split.values():
        for name, t in (m.get("per_task_type") or {}).items():
            acc = by_type.setdefault(name, {"wins": 0.0, "score": 0.0, "episodes": 0})
            acc["wins"] += t["success_rate"] * t["episodes"]
            acc["score"] += t["score"] * t["episodes"]
            acc["episodes"] += int(t["episodes"])
    per_task_type = {name: {"success_rate": a["wins"] / a["episodes"], "score": a["score"] / a["episodes"],
                            "episodes": a["episodes"]} for name, a in sorted(by_type.items()) if a["episodes"]}
    return {"success_rate": success, "score": score,
            "per_split": {s: {"success_rate": float(m["success_rate"]), "score": float(m["score"]),
                              "episodes": int(m["episodes"]),
                              **{k: float(m[k]) for k in SPLIT_RATES if k in m}} for s, m in per_split.items()},
            "per_task_type": per_task_type}


def _prod(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _plain(settings: dict) -> dict:
    out = {}
    for k, v in settings.items():
        out[k] = v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
    return out


def env_version(spec) -> str:
    """The version a result records for ``spec``'s env: prism-gym's for a
    built-in env, its plugin package's otherwise (reference rows use it too)."""
    from prism_gym import __version__
    from prism_gym.plugins import get_registry

    registry = get_registry()
    for plugin, found in registry.envs().values():
        if found.id == spec.id and plugin in registry.info:
            version = registry.info[plugin].version
            return __version__ if registry.info[plugin].builtin else version
    return __version__


def _link_copy(src: Path, dst: Path) -> None:
    """Copy a model directory by hard links where the filesystem allows (no
    second copy of large weights), else by copying; atomic via a temp dir."""
    import tempfile

    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    for f in src.iterdir():
        if f.is_file():
            try:
                os.link(f, tmp / f.name)
            except OSError:
                shutil.copy2(f, tmp / f.name)
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)


def _update_line(h: dict) -> str:
    """One RL update in a line (the fields an RL algorithm reports)."""
    parts = [f"update {h['iteration'] + 1}: return {h.get('mean_return', 0.0):.3f}",
             f"success {h.get('success', 0.0):.2f}"]
    if "signal_groups" in h:
        parts.append(f"groups with signal {h['signal_groups']:.0%}")
    if "valid_action_rate" in h:
        parts.append(f"valid actions {h['valid_action_rate']:.0%}")
    parts.append(f"samples {h.get('samples', 0)}")
    return ", ".join(parts)


def _eval_line(split: str, m: dict) -> str:
    parts = [f"{split}: success {m['success_rate']:.3f} ({round(m['success_rate'] * m['episodes'])}/{m['episodes']})",
             f"score {m['score']:.1f}"]
    if "goal_condition_success" in m:
        parts.append(f"goal conditions {m['goal_condition_success']:.3f}")
    for key, label in (("invalid_action_rate", "invalid"), ("malformed_action_rate", "malformed")):
        if key in m:
            parts.append(f"{label} {m[key]:.3f}")
    return ", ".join(parts)


def _cost_line(cost: StageCost) -> str:
    d = cost.to_dict()
    return ("[dim]" + ", ".join(f"{k}={d[k]:.3g}" if isinstance(d[k], float) else f"{k}={d[k]}" for k in LEDGER_KEYS)
            + "[/]")
