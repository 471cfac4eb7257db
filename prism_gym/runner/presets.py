"""Run configurations: one dataclass per stage, gathered in :class:`RunConfig`,
and the two presets.

``tiny`` is the default: the embedded model and small task sets, sized so that
one router on one env finishes in minutes on a 2-core CPU. ``paper`` is the
PRISM paper's protocol (50:50 split, 128 evaluation episodes per split, verl-agent
GRPO settings) for 8B models on GPUs; where the paper is silent the choice is
documented next to the field and in docs/runner.md.

Every field can be changed from the command line with ``--set stage.field=value``
(:func:`apply_overrides`); :meth:`RunConfig.validate` rejects impossible
settings before any work starts.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from prism_gym.agents.constrained import check_decoding

PRESETS = ("tiny", "paper")

# The monolithic baselines of the paper, run through the same stages.
# name -> (router that routes the data, whether RL also trains on the SFT share's tasks)
BASELINES = {
    "sft-only": ("all-sft", False),
    "rl-only": ("all-rl", False),
    "sft-then-rl": ("all-sft", True),
}
# Routers that are one of the baselines already.
ROUTER_BASELINE = {"all-sft": "sft-only", "all-rl": "rl-only"}
# RL settings that are part of the method, like the router: which algorithm trains the RL share.
# `--set` on them keeps the preset's name, the preset fingerprint leaves them out (so GRPO and GiGPO
# runs of one preset compare), and a run that is not plain GRPO says so in its run id and label.
METHOD_RL_SETTINGS = ("algorithm", "algorithm_options", "dynamic_sampling", "dynamic_sampling_rounds")
DEFAULT_ALGORITHM = "grpo"  # the paper's (verl-agent's GRPO)
# The router of an arbiter run's probe stage: every task goes to the mixed loop, whose arbiter decides.
ARBITER_ROUTER = "all-rl"


def is_arbiter(name: str) -> bool:
    """Whether ``name`` is an installed arbiter's (and no router's: a name both
    claim is an error naming the two)."""
    from prism_gym.plugins import get_registry

    registry = get_registry()
    arbiters = registry.arbiters()
    if name not in arbiters:
        return False
    if name in registry.routers():
        raise ConfigError(f"{name!r} is both a router and an arbiter ({arbiters[name][0]!r}); "
                          f"uninstall or rename one of them")
    return True


def has_rl_stage(config: dict) -> bool:
    """False for sft-only (the baseline, or its router used directly), from a config dict."""
    baseline = config.get("baseline")
    return not (baseline == "sft-only" or (not baseline and config.get("router") == "all-sft"))


def algorithm_tag(config: dict) -> str:
    """How a run's RL algorithm shows in its run id and label, from its config
    dict: "" for plain GRPO and for methods without an RL stage (sft-only);
    else the algorithm's name, "-ds" for dynamic sampling, and a short hash
    of non-default options (``gigpo``, ``grpo-ds``, ``gigpo-o1a2b3c``)."""
    if not has_rl_stage(config):
        return ""
    rl = config.get("rl") or {}
    name = rl.get("algorithm") or DEFAULT_ALGORITHM
    options = dict(rl.get("algorithm_options") or {})
    dynamic = bool(rl.get("dynamic_sampling"))
    default_rounds = RLConfig.dynamic_sampling_rounds
    if dynamic and rl.get("dynamic_sampling_rounds", default_rounds) != default_rounds:
        options["dynamic_sampling_rounds"] = rl["dynamic_sampling_rounds"]
    if name == DEFAULT_ALGORITHM and not options and not dynamic:
        return ""
    tag = name + ("-ds" if dynamic else "")
    if options:
        digest = hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()
        tag += f"-o{digest[:6]}"
    return tag


class ConfigError(ValueError):
    """A run configuration that cannot work; the message names the field."""


@dataclass
class ExpertConfig:
    split: str = "train"
    trajectories: int = 24  # expert episodes collected (one per task, tasks drawn from the split by the run's seed)
    max_steps: int | None = None  # None: the env's own step limit
    # Expert episodes on further tasks of the split, never trained on: SFT's
    # held-out next-action accuracy is measured on them.
    heldout: int = 16


@dataclass
class EnvSettings:
    """Options passed to the env during RL (the reward the policy is trained
    on); evaluation always reports the env's own success and score."""

    # WebShop: dense (the task score in [0, 1]), sparse_success or scaled;
    # ALFWorld: win (the original's) or goal_conditions (the change in the goal-condition fraction per step)
    reward_mode: str | None = None


@dataclass
class AgentSettings:
    """How the LLM agent decodes, in every stage that acts (pass-rate
    rollouts, RL, evaluation). ``decoding``: ``free``, any tokens, the env
    judges the action; ``admissible``, answers are masked to the actions the
    env lists (agents/constrained.py). ``slot_text`` (admissible decoding
    only): the text of a free slot such as WebShop's search query, ``free``
    or ``goal-span`` (a run of consecutive words of the task's goal)."""

    decoding: str = "free"
    slot_text: str = "free"


@dataclass
class ProbeConfig:
    batch_size: int = 16  # most sequences (step chats) per forward/backward pass
    max_batch_tokens: int = 2048  # most tokens (padding included) per pass; a longer sequence goes alone
    # Pass-rate rollouts (the difficulty router): most episodes per batched generate.
    # None: 64 on a CPU, which gets through the same positions about twice as fast
    # in batches of 64 as in one of 1,024 (benchmarks/bench_pass_rates.py); all at
    # once on a GPU.
    rollout_batch: int | None = None


@dataclass
class SFTConfig:
    epochs: float = 2.0
    learning_rate: float = 1e-3
    batch_size: int = 8
    gradient_accumulation: int = 1
    max_length: int = 1024
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    save_steps: int = 10  # mid-stage checkpoint interval, for --resume
    bf16: bool = False  # bfloat16 autocast over float32 weights
    gradient_checkpointing: bool = False  # recompute activations in the backward pass: less memory, ~30% more time
    fsdp: bool = False  # shard weights, gradients and optimizer state across processes (FSDP2; docs/runner.md)


@dataclass
class RLConfig:
    iterations: int = 4  # policy updates (when epochs is None)
    # Passes over the RL share's tasks; when set, updates = ceil(epochs * tasks / tasks_per_iteration),
    # so RL cost scales with the share (the structure behind the paper's speed-up claim).
    epochs: float | None = None
    tasks_per_iteration: int = 3  # distinct tasks per update (the GRPO groups)
    group_size: int = 4  # episodes per task (GRPO's G)
    learning_rate: float = 2e-4
    beta: float = 0.0  # KL coefficient against the stage's starting policy
    epsilon: float = 0.2  # clipping range of the ratio
    temperature: float = 1.0
    max_new_tokens: int | None = None  # None: from the expert answers' length (answer_budget)
    max_steps: int | None = 12  # episode step limit during RL (None: the env's own)
    micro_batch_size: int = 32
    max_grad_norm: float = 1.0
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    bf16: bool = False  # bf16 autocast over fp32 parameters (the optimizer always updates fp32 weights)
    gradient_checkpointing: bool = False  # recompute activations in the backward pass: less memory, more time
    # The advantage estimator, an algorithm plugin (`prism-gym algorithms list`), and its options
    # (`--set rl.algorithm_options=omega=0.5,gamma=0.9`).
    algorithm: str = "grpo"
    algorithm_options: dict[str, Any] = field(default_factory=dict)
    # Optimizer steps per rollout batch: ppo_epochs passes over the batch's step samples, in
    # mini-batches of mini_batch_size samples (None: the whole batch, one step per pass).
    ppo_epochs: int = 1
    mini_batch_size: int | None = None
    # DAPO-style dynamic sampling: groups whose returns are all equal are dropped and replaced by
    # groups of new tasks, in at most dynamic_sampling_rounds extra rollout rounds per update.
    dynamic_sampling: bool = False
    dynamic_sampling_rounds: int = 3
    # Subtracted from an episode's return per invalid action (verl-agent's
    # invalid_action_penalty_coef, 0.1 in its ALFWorld and WebShop scripts).
    invalid_action_penalty: float = 0.0


@dataclass
class EvalConfig:
    episodes: int = 128  # per split: the paper's protocol
    splits: tuple[str, ...] = ()  # empty: the env's eval_splits
    max_steps: int | None = None
    max_new_tokens: int | None = None  # None: from the expert answers' length (answer_budget)
    # Decoding of the evaluated policy: 0 is greedy; above 0, sampling at this temperature, seeded
    # by the evaluation's seed (the same draws for every run). verl-agent validates with sampling at
    # 0.4 (val_kwargs), which the paper's numbers come from; greedy decoding repeats an invalid action
    # to the step limit, since "Nothing happens." leaves the prompt almost unchanged.
    temperature: float = 0.4


@dataclass
class RunConfig:
    env: str
    router: str
    preset: str = "tiny"
    seed: int = 0
    model: str | None = None  # None: the embedded default model
    router_options: dict[str, Any] = field(default_factory=dict)
    baseline: str | None = None  # "sft-only" | "rl-only" | "sft-then-rl"
    device: str | None = None
    environment: EnvSettings = field(default_factory=EnvSettings)
    agent: AgentSettings = field(default_factory=AgentSettings)
    expert: ExpertConfig = field(default_factory=ExpertConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    rl: RLConfig = field(default_factory=RLConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    # Experiment trackers the run also reports to (`--report-to`, docs/integrations.md). Where a run
    # is watched changes none of its numbers, so the field is not recorded (to_dict leaves it out):
    # config.json, result.json, every fingerprint and leaderboard entry are what they were without it.
    report_to: tuple[str, ...] = field(default=(), metadata={"recorded": False})
    # A dynamic arbiter (`prism-gym arbiters list`; `bench --router hpt`) and its options: the RL stage
    # becomes the mixed loop (runner/mixed.py), which decides per update and task between the SFT and
    # the RL loss. None, every static router's run: recorded only when set, so the config.json,
    # fingerprints and leaderboard entries of runs without one are what they were before the field.
    arbiter: str | None = field(default=None, metadata={"recorded": "unless-default"})
    arbiter_options: dict[str, Any] = field(default_factory=dict, metadata={"recorded": "unless-default"})

    # -- identity -----------------------------------------------------------------
    @property
    def track(self) -> str:
        return "tiny" if self.model in (None, "default") else "full"

    @property
    def label(self) -> str:
        """What the run is called in run ids and tables: the baseline or router,
        and the RL algorithm when it is not plain GRPO (``prism-gigpo``)."""
        tag = algorithm_tag(self.to_dict())
        return (self.baseline or self.router) + (f"-{tag}" if tag else "")

    def run_id(self) -> str:
        return f"{self.env}-{self.label}-{self.preset}-s{self.seed}"

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["eval"]["splits"] = list(self.eval.splits)
        for f in dataclasses.fields(self):
            recorded = f.metadata.get("recorded", True)
            if not recorded or (recorded == "unless-default" and d[f.name] == _default(f)):
                d.pop(f.name)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        d = dict(d)
        sections = {"environment": EnvSettings, "agent": AgentSettings, "expert": ExpertConfig, "probe": ProbeConfig, "sft": SFTConfig,
                    "rl": RLConfig, "eval": EvalConfig}
        kwargs = {k: v for k, v in d.items() if k not in sections}
        if "report_to" in kwargs:
            kwargs["report_to"] = tuple(kwargs["report_to"])
        for name, klass in sections.items():
            values = dict(d.get(name) or {})
            if name == "eval" and "splits" in values:
                values["splits"] = tuple(values["splits"])
            kwargs[name] = klass(**values)
        return cls(**kwargs)

    def fingerprint(self) -> str:
        """sha256 of the settings that change results (device excluded)."""
        d = self.to_dict()
        d.pop("device", None)
        blob = json.dumps(d, sort_keys=True, separators=(",", ":")).encode()
        return "sha256:" + hashlib.sha256(blob).hexdigest()

    # -- what runs ------------------------------------------------------------------
    @property
    def routing_router(self) -> str:
        """The router that splits the data (a baseline picks a constant router;
        an arbiter run hands every task to the mixed loop)."""
        if self.arbiter:
            return ARBITER_ROUTER
        return BASELINES[self.baseline][0] if self.baseline else self.router

    @property
    def rl_on_all_tasks(self) -> bool:
        return bool(self.baseline and BASELINES[self.baseline][1])

    def validate(self) -> "RunConfig":
        """Raise :class:`ConfigError` naming the first bad field; return self."""
        def need(cond: bool, where: str, what: str):
            if not cond:
                raise ConfigError(f"{where}: {what}")

        need(self.preset in PRESETS + ("custom",), "preset", f"must be one of {PRESETS + ('custom',)}, not {self.preset!r}")
        need(bool(self.env), "env", "is required")
        need(bool(self.router), "router", "is required")
        need(self.baseline is None or self.baseline in BASELINES, "baseline",
             f"must be one of {sorted(BASELINES)}, not {self.baseline!r}")
        need(isinstance(self.seed, int) and self.seed >= 0, "seed", "must be a non-negative integer")
        try:
            check_decoding(self.agent.decoding, self.agent.slot_text)
        except ValueError as exc:
            raise ConfigError(f"agent.decoding / agent.slot_text: {exc}") from None
        need(self.expert.trajectories >= 2, "expert.trajectories", "must be at least 2 (a split needs two sides)")
        need(self.expert.max_steps is None or self.expert.max_steps > 0, "expert.max_steps", "must be positive")
        need(self.expert.heldout >= 0, "expert.heldout", "must be >= 0")
        need(self.probe.batch_size > 0, "probe.batch_size", "must be positive")
        need(self.probe.max_batch_tokens > 0, "probe.max_batch_tokens", "must be positive")
        need(self.probe.rollout_batch is None or self.probe.rollout_batch > 0, "probe.rollout_batch",
             "must be positive (or none)")
        s = self.sft
        need(s.epochs > 0, "sft.epochs", "must be positive")
        need(0 < s.learning_rate < 1, "sft.learning_rate", "must be in (0, 1)")
        need(s.batch_size > 0 and s.gradient_accumulation > 0, "sft.batch_size", "batch size and accumulation must be positive")
        need(s.max_length >= 64, "sft.max_length", "must be at least 64 tokens")
        need(0 <= s.warmup_ratio < 1, "sft.warmup_ratio", "must be in [0, 1)")
        need(s.lr_scheduler in ("constant", "linear", "cosine", "constant_with_warmup"), "sft.lr_scheduler",
             "must be constant, constant_with_warmup, linear or cosine")
        need(not s.lora or (s.lora_r > 0 and s.lora_alpha > 0), "sft.lora_r", "LoRA rank and alpha must be positive")
        need(s.save_steps > 0, "sft.save_steps", "must be positive")
        need(not (s.fsdp and s.lora), "sft.fsdp", "FSDP with LoRA is not supported; shard full fine-tuning only")
        r = self.rl
        need(r.iterations >= 0, "rl.iterations", "must be >= 0")
        need(r.epochs is None or r.epochs > 0, "rl.epochs", "must be positive (or none for a fixed number of updates)")
        need(r.tasks_per_iteration > 0, "rl.tasks_per_iteration", "must be positive")
        need(r.group_size >= 2, "rl.group_size", "must be at least 2 (GRPO compares episodes within a group)")
        need(0 < r.learning_rate < 1, "rl.learning_rate", "must be in (0, 1)")
        need(r.beta >= 0, "rl.beta", "must be >= 0")
        need(0 < r.epsilon < 1, "rl.epsilon", "must be in (0, 1)")
        need(r.temperature > 0, "rl.temperature", "must be positive")
        need(r.max_new_tokens is None or r.max_new_tokens > 0, "rl.max_new_tokens", "must be positive (or none)")
        need(r.invalid_action_penalty >= 0, "rl.invalid_action_penalty", "must be >= 0")
        need(r.max_steps is None or r.max_steps > 0, "rl.max_steps", "must be positive")
        need(r.micro_batch_size > 0, "rl.micro_batch_size", "must be positive")
        need(not r.lora or (r.lora_r > 0 and r.lora_alpha > 0), "rl.lora_r", "LoRA rank and alpha must be positive")
        need(r.ppo_epochs > 0, "rl.ppo_epochs", "must be positive")
        need(r.mini_batch_size is None or r.mini_batch_size > 0, "rl.mini_batch_size", "must be positive (or none)")
        need(r.dynamic_sampling_rounds >= 0, "rl.dynamic_sampling_rounds", "must be >= 0")
        _check_algorithm(r)
        _check_trackers(self.report_to)
        _check_arbiter(self)
        need(self.eval.episodes > 0, "eval.episodes", "must be positive")
        need(self.eval.temperature >= 0, "eval.temperature", "must be 0 (greedy) or positive")
        need(self.eval.max_new_tokens is None or self.eval.max_new_tokens > 0, "eval.max_new_tokens",
             "must be positive (or none)")
        return self

    def env_kwargs(self) -> dict:
        """The env options of the RL stage (only those that are set)."""
        return {k: v for k, v in dataclasses.asdict(self.environment).items() if v is not None}

    def check_env_options(self) -> "RunConfig":
        """Make the env once with :meth:`env_kwargs`, so that an option it does
        not take fails now, naming the setting, not after the expensive stages."""
        kwargs = self.env_kwargs()
        if not kwargs:
            return self
        import gymnasium as gym

        from prism_gym.plugins import get_registry

        try:
            env = gym.make(get_registry().env(self.env).id, **kwargs)
        except (TypeError, ValueError) as exc:
            names = ", ".join(f"environment.{k}={v}" for k, v in kwargs.items())
            raise ConfigError(f"{names}: env {self.env!r} rejects it ({exc})") from None
        env.close()
        return self


def _check_algorithm(r: RLConfig) -> None:
    """The algorithm plugin exists and accepts its options (plugins load cheaply)."""
    from prism_gym.plugins import PluginError, get_registry

    if not isinstance(r.algorithm_options, dict):
        raise ConfigError(f"rl.algorithm_options: must be a mapping, not {r.algorithm_options!r}")
    try:
        spec = get_registry().algorithm(r.algorithm)
    except PluginError as exc:
        raise ConfigError(f"rl.algorithm: {exc}") from None
    try:
        spec.build(**r.algorithm_options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"rl.algorithm_options: {r.algorithm!r} rejects {r.algorithm_options}: {exc}") from None


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _check_arbiter(cfg: "RunConfig") -> None:
    """An arbiter run names a known arbiter that accepts its options, is no
    baseline, and is called by the arbiter's name (runner/mixed.py)."""
    if cfg.arbiter is None:
        if cfg.arbiter_options:
            raise ConfigError("arbiter_options: set, but no arbiter is named")
        return
    from prism_gym.plugins import PluginError, get_registry

    if cfg.baseline is not None:
        raise ConfigError(f"arbiter: {cfg.arbiter!r} decides during training; it cannot run as baseline "
                          f"{cfg.baseline!r}")
    if cfg.router != cfg.arbiter:
        raise ConfigError(f"router: an arbiter run is named by its arbiter ({cfg.arbiter!r}), not {cfg.router!r}")
    if cfg.rl.dynamic_sampling:
        raise ConfigError("rl.dynamic_sampling: not available with an arbiter (the mixed loop trains every "
                          "group the arbiter weights)")
    if not isinstance(cfg.arbiter_options, dict):
        raise ConfigError(f"arbiter_options: must be a mapping, not {cfg.arbiter_options!r}")
    try:
        spec = get_registry().arbiter(cfg.arbiter)
    except PluginError as exc:
        raise ConfigError(f"arbiter: {exc}") from None
    try:
        spec.build(**cfg.arbiter_options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"arbiter_options: {cfg.arbiter!r} rejects {cfg.arbiter_options}: {exc}") from None


def _check_trackers(names: tuple[str, ...]) -> None:
    """Every tracker named exists and its library is installed (looked up, not imported)."""
    if not names:
        return
    from prism_gym.plugins import PluginError, get_registry
    from prism_gym.tracking import check_trackers

    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"report_to: must be a tuple of tracker names, not {names!r}")
    try:
        check_trackers(names, get_registry())
    except PluginError as exc:
        raise ConfigError(f"report_to: {exc}") from None


def tiny(env: str, router: str, **kw) -> RunConfig:
    """The default preset: the embedded model on a 2-core CPU, sized from
    measured learning curves (docs/runner.md) so that SFT and RL move the
    success rate within minutes per run. The task distribution is each env's
    full one (training tasks drawn from the whole train split; evaluation on
    the paper's splits, 128 episodes each).

    Choices against the paper (verl-agent's RL settings):
    - admissible decoding (``agent.decoding``): the agent's answers are masked
      to the actions the env lists (a search query stays free text). The
      embedded model does not copy reliably from its prompt, so free decoding
      spends most steps on actions the env rejects; on one sft-only ALFWorld
      checkpoint, admissible decoding wins 15/128 valid_seen episodes where
      free decoding wins 2/128 (docs/agents.md). A search query is a run of
      the goal's words (``agent.slot_text=goal-span``), as the env's expert's
      are: on one sft-only WebShop checkpoint that doubles the score (22.2
      against 10.0 with free queries). The paper's 8B agents decode freely;
      the paper preset does too;
    - group size 4 (paper 8) and few updates: CPU budget;
    - the invalid-action penalty 0.1 per invalid step (verl-agent's
      ``invalid_action_penalty_coef``);
    - WebShop's reward is its own dense task score in [0, 1] (verl-agent trains
      on a 0/10 win reward; the dense score gives a tiny model's groups more
      signal), settable as ``environment.reward_mode``;
    - ALFWorld's training reward is the goal-condition fraction
      (``environment.reward_mode=goal_conditions``: each step is paid the
      change in the fraction of ALFRED goal conditions met, so the return is
      the final fraction, 1 when won; verl-agent trains on the win). With
      admissible decoding there are no invalid actions to tell episodes apart,
      so a group has signal only when its returns differ: for the sft-only
      policy at T 1, 5 of 24 groups under the win reward and 10 of 24 under
      the goal-condition reward (the same 96 episodes; docs/runner.md);
    - step limits: ALFWorld 30 in RL, 40 in evaluation (the expert needs at
      most 32 on the train split; paper 50); WebShop 10 in RL, 15 in
      evaluation (the paper's).
    - expert data: ALFWorld 256 trajectories x 2 SFT epochs, the smallest
      measured size at which sft-only wins at all (64 x 3: 0/32; 256 x 3:
      3/32, docs/agents.md) that keeps one run under 15 minutes; WebShop 64 x 3,
      since 256 trajectories leave its held-out accuracy where 64 do.
    """
    cfg = RunConfig(env=env, router=router, preset="tiny", **kw)
    cfg.agent = AgentSettings(decoding="admissible", slot_text="goal-span")
    cfg.expert = ExpertConfig(trajectories=64, heldout=16)
    cfg.sft = SFTConfig(epochs=3.0, learning_rate=1e-3, batch_size=8, max_length=1024, lr_scheduler="cosine",
                        warmup_ratio=0.05, save_steps=20)
    cfg.rl = RLConfig(iterations=6, tasks_per_iteration=4, group_size=4, learning_rate=1e-4, temperature=1.0,
                      max_steps=30, micro_batch_size=16, ppo_epochs=2, mini_batch_size=32,
                      invalid_action_penalty=0.1)
    cfg.eval = EvalConfig(episodes=128, max_steps=40)
    if env == "alfworld":
        cfg.environment.reward_mode = "goal_conditions"
        cfg.expert.trajectories = 256
        cfg.sft.epochs = 2.0
    if env == "webshop":
        cfg.rl.max_steps = 10  # search, results, product, options, buy: the expert needs at most 8
        cfg.eval.max_steps = 15
    return cfg


def paper(env: str, router: str, **kw) -> RunConfig:
    """The PRISM paper's protocol for 8B models on GPUs.

    Known from the paper: the median (50:50) split, SFT then GRPO on the RL
    share's tasks, 128 evaluation episodes per split. From verl-agent's
    defaults (which the paper used for RL): group size 8, 16 environments per
    step, learning rate 1e-6, KL coefficient 0.01, at most 50 (ALFWorld) / 15
    (WebShop) steps. Not stated, chosen here (docs/runner.md): expert data = one
    trajectory per training task, up to 2,420 (ALFWorld) / 3,930 (WebShop) as in
    AgentTraj-L; full-parameter SFT, 3 epochs at 1e-5 with cosine decay (the
    LLaMA-Factory recipe commonly used for these agent sets); 150 GRPO updates.
    """
    cfg = RunConfig(env=env, router=router, preset="paper", **kw)
    cfg.expert = ExpertConfig(split="train", trajectories=2420 if env == "alfworld" else 3930,
                              max_steps=50 if env == "alfworld" else 15)
    cfg.probe = ProbeConfig(batch_size=8)
    cfg.sft = SFTConfig(epochs=3.0, learning_rate=1e-5, batch_size=4, gradient_accumulation=8, max_length=4096,
                        lr_scheduler="cosine", warmup_ratio=0.1, weight_decay=0.0, lora=False, save_steps=200,
                        bf16=True)
    cfg.rl = RLConfig(iterations=150, tasks_per_iteration=16, group_size=8, learning_rate=1e-6, beta=0.01,
                      epsilon=0.2, temperature=1.0, max_new_tokens=512,
                      max_steps=50 if env == "alfworld" else 15, micro_batch_size=8, max_grad_norm=1.0,
                      lora=False, bf16=True)
    cfg.eval = EvalConfig(episodes=128, splits=(), max_steps=50 if env == "alfworld" else 15, max_new_tokens=512)
    return cfg


def make_config(preset: str, env: str, router: str, **kw) -> RunConfig:
    """Build a preset; ``router`` may also be a baseline name (``rl-only``) or
    an arbiter's (``hpt``: its options are then given as ``router_options``)."""
    if router not in BASELINES and kw.get("arbiter") is None and is_arbiter(router):
        kw["arbiter"] = router
        kw["arbiter_options"] = dict(kw.pop("router_options", None) or {})
    if router in BASELINES:
        kw.setdefault("baseline", router)
        router = BASELINES[router][0]
    elif router in ROUTER_BASELINE and kw.get("baseline") is None:
        kw["baseline"] = ROUTER_BASELINE[router]
    builders = {"tiny": tiny, "paper": paper}
    if preset not in builders:
        raise ConfigError(f"preset: must be one of {PRESETS}, not {preset!r}")
    return builders[preset](env, router, **kw)


def coerce_setting(text: str, current: Any) -> Any:
    """Parse ``text`` (a ``--set`` value) to the type of the setting's current value."""
    if isinstance(current, bool):
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if isinstance(current, int):
        return int(text)
    if isinstance(current, float):
        return float(text)
    if isinstance(current, tuple):  # items typed as the current ones are (str when it is empty)
        kind = type(current[0]) if current and type(current[0]) in (int, float) else str
        return tuple(kind(p.strip()) for p in text.split(",") if p.strip())
    if isinstance(current, dict):  # "key=value,key=value", values typed as --option values are
        return parse_router_options([p for p in text.split(",") if p])
    if current is None:
        if text.lower() in ("none", "null"):
            return None
        for cast in (int, float):
            try:
                return cast(text)
            except ValueError:
                pass
    return text


def apply_overrides(cfg: RunConfig, overrides: list[str]) -> RunConfig:
    """Apply ``stage.field=value`` settings; a changed preset becomes ``custom``
    (the RL algorithm settings excepted: they are part of the method)."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise ConfigError(f"--set {item!r}: expected stage.field=value, e.g. sft.epochs=2")
        section_name, _, name = key.partition(".")
        section = getattr(cfg, section_name, None)
        if not dataclasses.is_dataclass(section) or name not in {f.name for f in dataclasses.fields(section)}:
            raise ConfigError(f"--set {item!r}: unknown setting {key!r}")
        declared = next(f.type for f in dataclasses.fields(section) if f.name == name)
        try:
            if value.lower() in ("none", "null") and "None" in str(declared):
                # An optional setting goes back to its derived default (e.g. the
                # answer budget read off the expert's answers) whatever it holds now.
                setattr(section, name, None)
            else:
                setattr(section, name, coerce_setting(value, getattr(section, name)))
        except ValueError as exc:
            raise ConfigError(f"--set {item!r}: {exc}") from None
        if not (section_name == "rl" and name in METHOD_RL_SETTINGS):
            cfg.preset = "custom"
    return cfg


def parse_router_options(items: list[str]) -> dict[str, Any]:
    """``["metric=gini", "rl_fraction=0.3"]`` -> typed dict (numbers, booleans, None)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--option {item!r}: expected key=value")
        low = value.lower()
        if low in ("none", "null"):
            out[key] = None
        elif low in ("true", "false"):
            out[key] = low == "true"
        else:
            try:
                out[key] = int(value)
            except ValueError:
                try:
                    out[key] = float(value)
                except ValueError:
                    out[key] = value
    return out
