"""The plugin contract: every hook prism-gym calls, with what it must return.

Built-in routers, RL algorithms, environments and agents implement these hooks exactly as a
third-party package does. A third-party package exposes a module through the
entry-point group ``prism_gym``::

    [project.entry-points.prism_gym]
    my_router = "my_package.plugin"

and decorates functions in that module with :data:`hookimpl`.

Registration hooks return *specs* (see :mod:`prism_gym.specs`): small records
naming a factory. They must be cheap: import heavy libraries (torch, trl) inside
the factories, not at module level, because ``prism-gym --help`` loads every
plugin.
"""
from __future__ import annotations

import pluggy

PROJECT_NAME = "prism_gym"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def prism_gym_routers():
    """Return a list of :class:`prism_gym.specs.RouterSpec`.

    Each names a router (for example ``"prism"``) and a factory that builds it
    from keyword options. Router names are global: two plugins that claim the
    same name are an error that names both.
    """


@hookspec
def prism_gym_envs():
    """Return a list of :class:`prism_gym.specs.EnvSpec`.

    Each is registered with Gymnasium under its id (``prism_gym/NAME-v0``) and is
    known to the CLI by its short name (``--env alfworld``).
    """


@hookspec
def prism_gym_agents():
    """Return a list of :class:`prism_gym.specs.AgentSpec`.

    An agent maps (task, history, observation, admissible actions) to an
    action; see :mod:`prism_gym.agent`.
    """


@hookspec
def prism_gym_algorithms():
    """Return a list of :class:`prism_gym.specs.AlgorithmSpec`.

    Each names an RL algorithm (``rl.algorithm=NAME`` in a run configuration)
    and a factory that builds it from keyword options
    (``rl.algorithm_options``). The algorithm turns the episodes of one group
    into per-step advantages and names its loss settings
    (:mod:`prism_gym.algorithm`); the RL stage does everything else. Names are
    global, as router names are.
    """


@hookspec
def prism_gym_arbiters():
    """Return a list of :class:`prism_gym.specs.ArbiterSpec`.

    Each names a dynamic arbiter (``prism-gym bench --router NAME``, listed by
    ``prism-gym arbiters list``) and a factory that builds it from keyword
    options (``--option key=value``). Where a router splits the data once,
    before training, on the base model, an arbiter decides at every RL update:
    it is shown the update's tasks with their expert demonstrations, the
    current policy's group outcomes on them and a gradient probe on the
    current weights (:class:`prism_gym.arbitration.UpdateView`), and returns
    per task an SFT weight and an RL weight (:class:`prism_gym.arbitration.Arbitration`).
    The RL stage then takes one loop that applies both losses in one optimizer
    step (:mod:`prism_gym.runner.mixed`). Names are global and must not be a
    router's or a baseline's.
    """


@hookspec
def prism_gym_trackers():
    """Return a list of :class:`prism_gym.specs.TrackerSpec`.

    Each names an experiment tracker (``--report-to NAME``) and a factory
    ``factory(run_dir, config)`` that opens it for one run and returns a
    plugin object: the runner registers that object for the length of the run,
    so it receives the lifecycle and logging hooks below like any plugin
    (:class:`prism_gym.tracking.Tracker` is a base class for one). The spec
    names the modules the tracker needs and the extra that installs them.
    """


# -- what a run tells plugins as it goes ---------------------------------------------
# Every hook below is called by the runner (prism_gym/runner/events.py) on the
# main process only, in this order: run_started, then per stage that runs
# stage_started / log_metrics... / stage_finished, then log_metrics for the
# ledger and run_finished. A stage kept from an earlier attempt of a resumed
# run is not announced again. A listener that raises is recorded as a plugin
# failure and never stops the run. Return values are ignored.


@hookspec
def prism_gym_run_started(run_dir, config):
    """A run begins (or resumes) in ``run_dir`` (a :class:`pathlib.Path`).

    ``config`` is the run configuration as a plain dict (``RunConfig.to_dict()``,
    what ``config.json`` holds).
    """


@hookspec
def prism_gym_stage_started(run_dir, stage, config):
    """A run stage begins.

    ``stage`` is the stage name, one of the runner's stages in order:
    ``"expert"``, ``"probe"``, ``"sft"``, ``"rl"``, ``"eval"``
    (``prism_gym.runner.run.STAGES``); ``config`` is as in
    :func:`prism_gym_run_started`. Implement this (and
    :func:`prism_gym_stage_finished`) to log runs elsewhere.
    """


@hookspec
def prism_gym_log_metrics(run_dir, section, step, metrics):
    """Numbers the run measured, as soon as it measures them.

    ``section`` says what they are and ``metrics`` maps a name to an int or a
    float; a tracker logs each as ``f"{section}/{name}"``. ``step`` is an int
    for a curve (the x axis of the section) and ``None`` for a number measured
    once. The sections, and what the run's ``curves.json`` calls them:

    - ``"sft"``, step = optimizer step: ``train_loss`` and ``epoch`` per
      logging interval; ``heldout_accuracy``, ``heldout_answer_loss`` and
      ``heldout_steps`` at step 0 and after every epoch (``curves.json["sft"]``).
    - ``"rl"``, step = update number (1, 2, ...): each update's statistics as
      ``rl/history.json`` and ``curves.json["rl"]`` hold them (booleans as 0/1).
    - ``"eval"`` (overall success and score), ``"eval/<split>"`` per split
      (``curves.json["eval"][split]``) and ``"eval/task_type/<type>"`` per task
      type over all splits (``eval/metrics.json``), step ``None``.
    - ``"stages/<stage>"`` when a stage finishes: its summary and its ledger,
      step ``None``.
    - ``"ledger/<stage>"`` and ``"ledger/total"`` at the end: the compute
      ledger of result.json (wall time, tokens, FLOPs, env steps), step ``None``.
    """


@hookspec
def prism_gym_log_episodes(run_dir, split, columns, rows):
    """A table of sampled evaluation episodes of one split.

    ``columns`` is a tuple of column names and ``rows`` a list of tuples of
    plain values (str, int, float, bool), one per episode: the task, whether it
    was won, its score and steps, and the transcript (what the agent saw and
    did). The episodes are the split's first ones; evaluation tasks are drawn
    with one fixed seed, so two runs' tables line up row by row.
    """


@hookspec
def prism_gym_stage_finished(run_dir, stage, metrics):
    """A run stage finished and its output is on disk.

    ``metrics`` is a plain dict: the stage's compute ledger (wall time, tokens,
    FLOPs, env steps) and its own results.
    """


@hookspec
def prism_gym_run_finished(run_dir, result, error):
    """A run ended: ``result`` is result.json's content and ``error`` None,
    or, when the run stopped with an exception (a kill, a bad setting found
    late), ``result`` is None and ``error`` the exception. Trackers close here.
    """
