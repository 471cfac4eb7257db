"""The verl interaction on verl's real base class (``pip install --no-deps
verl==0.7.1``, docs/integrations.md), driven as verl's multi-turn loop drives
it (``ToolAgentLoop`` in verl 0.7.1: ``start_interaction(request_id,
**interaction_kwargs)``, then ``generate_response(request_id, messages,
**interaction_kwargs)`` after each assistant turn, its reply appended as a user
turn, until it says stop), on the config and rows that ``route --export-dir``
writes. Where verl's loop itself imports (it needs hydra-core), the last test
runs it for real with a scripted LLM server."""
from __future__ import annotations

import asyncio
import importlib.resources

import pytest

base = pytest.importorskip("verl.interactions.base", reason="needs verl 0.7 (pip install --no-deps verl==0.7.1)")

from verl.interactions.utils.interaction_registry import initialize_interactions_from_config  # noqa: E402

from prism_gym.export import VERL_INTERACTION_FILE, export_routing, interaction_name  # noqa: E402
from prism_gym.records import RoutingDecision, Task, Trajectory, Turn  # noqa: E402
from prism_gym.verl_interaction import PrismGymInteraction  # noqa: E402
from prism_gym.verl_reward import compute_score  # noqa: E402


def expert_trajectory(env_name: str, split: str, instance: str) -> Trajectory:
    import prism_gym.envs

    env = prism_gym.envs.make(env_name, expert_actions=True)
    obs, info = env.reset(options={"split": split, "instance": instance})
    turns, done, total = [], False, 0.0
    while not done:
        action = info["expert_action"]
        admissible = tuple(info["admissible_actions"])
        next_obs, reward, terminated, truncated, info = env.step(action)
        turns.append(Turn(observation=obs, action=action, reward=float(reward), admissible_actions=admissible))
        obs, done, total = next_obs, terminated or truncated, total + float(reward)
    task: Task = info["task"]
    return Trajectory(id=f"expert-{task.id}", task=task, turns=tuple(turns), won=bool(info["won"]), reward=total,
                      score=float(info["score"]))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An export whose RL share is two ALFWorld tasks and one WebShop task."""
    out = tmp_path_factory.mktemp("export")
    trajectories = [expert_trajectory("alfworld", "valid_seen", "0"), expert_trajectory("alfworld", "valid_seen", "3"),
                    expert_trajectory("webshop", "test", "3"), expert_trajectory("alfworld", "train", "7")]
    routes = ["rl", "rl", "rl", "sft"]
    decisions = [RoutingDecision(trajectory_id=t.id, task_id=t.task.id, route=r, score=0.0, router="test",
                                 task_type=t.task.task_type) for t, r in zip(trajectories, routes)]
    manifest = export_routing(trajectories, decisions, out)
    import datasets

    rows = datasets.load_dataset("parquet", data_files=str(out / "rl.parquet"), split="train").to_list()
    return out, manifest, rows, {t.task.id: t for t in trajectories}


def play_as_verl_does(interaction_map: dict, row: dict, answers) -> tuple[list, list[float], list[dict]]:
    """verl 0.7.1 ToolAgentLoop's calls, in its order, for one sample; ``answers``
    maps the messages so far to the assistant's next answer (the policy)."""

    async def sample():
        kwargs = row["extra_info"]["interaction_kwargs"]
        interaction = interaction_map[kwargs["name"]]
        request_id = "request-0"
        await interaction.start_interaction(request_id, **kwargs)
        messages, scores, metrics = list(row["prompt"]), [], []
        for _ in range(100):  # verl's max_assistant_turns
            messages.append({"role": "assistant", "content": answers(messages)})
            stop, reply, score, extra = await interaction.generate_response(request_id, messages, **kwargs)
            messages.append({"role": "user", "content": reply})
            if score is not None:
                scores.append(score)
            metrics.append(extra)
            if stop:
                break
        return messages, scores, metrics

    return asyncio.run(sample())


def scripted(actions: list[str]):
    queue = list(actions)
    return lambda messages: f"<action>{queue.pop(0)}</action>"


def test_the_export_writes_the_interaction_config_and_the_rows_name_it(exported):
    out, manifest, rows, _ = exported
    assert manifest["rl"]["interaction_config"] == VERL_INTERACTION_FILE and manifest["rl"]["tasks"] == 3
    interactions = initialize_interactions_from_config(str(out / VERL_INTERACTION_FILE))  # verl's own loader
    assert sorted(interactions) == [interaction_name("alfworld"), interaction_name("webshop")]
    assert all(isinstance(i, base.BaseInteraction) and isinstance(i, PrismGymInteraction)
               for i in interactions.values())
    assert interactions["prism_gym_webshop"].env_name == "webshop"
    for row in rows:
        info = row["extra_info"]
        assert info["interaction_kwargs"] == {"name": f"prism_gym_{info['env']}", "env": info["env"],
                                              "split": info["split"], "instance": info["instance"]}


@pytest.mark.parametrize("task_id", ["alfworld/valid_seen/0", "alfworld/valid_seen/3", "webshop/test/3"])
def test_a_scripted_expert_wins_every_exported_task(exported, task_id):
    out, _, rows, trajectories = exported
    (row,) = [r for r in rows if r["extra_info"]["task_id"] == task_id]
    expert = trajectories[task_id]
    interactions = initialize_interactions_from_config(str(out / VERL_INTERACTION_FILE))
    messages, scores, metrics = play_as_verl_does(interactions, row, scripted([t.action for t in expert.turns]))
    assert len(scores) == len(expert.turns)  # it stopped at the win, not before or after
    assert metrics[-1]["won"] and metrics[-1]["task_id"] == task_id
    assert messages[-1]["content"].endswith("The episode is over: the task is done.")
    # the reward verl's reward loop hands the reward function: the episode's return
    extra_info = {**row["extra_info"], "turn_scores": scores}
    assert compute_score(row["data_source"], messages[-2]["content"], row["reward_model"]["ground_truth"],
                         extra_info=extra_info) == expert.reward > 0
    # the follow-up turns are the env's text in prism-gym's step format
    follow_up = messages[3]["content"]
    assert follow_up.startswith(f"Task: {expert.task.goal}") and "Admissible actions:" in follow_up


def test_a_bad_action_gets_the_envs_reply_not_an_exception(exported):
    out, _, rows, trajectories = exported
    (row,) = [r for r in rows if r["extra_info"]["task_id"] == "alfworld/valid_seen/0"]
    expert = [t.action for t in trajectories["alfworld/valid_seen/0"].turns]
    bad = ["<action>fly to the moon</action>", "I think I should look around.", "", "<action></action>"]
    answers = iter(bad + [f"<action>{a}</action>" for a in expert])
    interactions = initialize_interactions_from_config(str(out / VERL_INTERACTION_FILE))
    messages, scores, metrics = play_as_verl_does(interactions, row, lambda messages: next(answers))
    replies = [m["content"] for m in messages[len(row["prompt"]):] if m["role"] == "user"]
    assert "Nothing happens." in replies[0]  # ALFWorld's own answer to an unknown command
    assert [m["is_action_valid"] for m in metrics[:4]] == [False] * 4
    assert [m["well_formed"] for m in metrics[:4]] == [True, False, False, True]
    assert [m["steps"] for m in metrics[:4]] == [1, 2, 3, 4]  # each one cost a step, as in every rollout
    assert metrics[-1]["won"] and sum(scores) == 1.0  # and the episode went on to the expert's win


def test_a_sample_routed_to_the_wrong_env_is_a_setup_error():
    interaction = PrismGymInteraction({"name": "prism_gym_alfworld", "env": "alfworld"})
    with pytest.raises(ValueError, match="plays 'alfworld', but the sample's task is in 'webshop'"):
        asyncio.run(interaction.start_interaction("r", name="prism_gym_alfworld", env="webshop", split="test",
                                                  instance="3"))


def test_a_finished_or_dropped_episode_ends_the_sample_quietly():
    async def play():
        interaction = PrismGymInteraction({"name": "prism_gym_alfworld", "env": "alfworld", "max_episodes": 2})
        ids = [await interaction.start_interaction(None, split="valid_seen", instance=str(i)) for i in range(3)]
        assert len(set(ids)) == 3
        dropped = await interaction.generate_response(ids[0], [{"role": "assistant", "content": "look"}])
        kept = await interaction.generate_response(ids[2], [{"role": "assistant", "content": "<action>look</action>"}])
        assert await interaction.calculate_score(ids[2]) == 0.0
        await interaction.finalize_interaction(ids[2])
        after = await interaction.generate_response(ids[2], [{"role": "assistant", "content": "look"}])
        return dropped, kept, after

    dropped, kept, after = asyncio.run(play())
    assert dropped[0] is True and "no longer available" in dropped[1]  # the oldest went for room
    assert kept[0] is False and kept[3]["steps"] == 1
    assert after[0] is True


def _tool_agent_loop():
    try:
        from verl.experimental.agent_loop.agent_loop import DictConfigWrap
        from verl.experimental.agent_loop.tool_agent_loop import ToolAgentLoop
        from verl.utils.dataset.rl_dataset import RLHFDataset
        from verl.workers.rollout.replica import TokenOutput
    except Exception as exc:  # hydra-core missing, or built against another antlr4 runtime
        pytest.skip(f"verl's ToolAgentLoop does not import here ({type(exc).__name__}: {exc}); "
                    "it needs hydra-core, whose antlr4-python3-runtime 4.9 pin this environment does not meet")
    return DictConfigWrap, ToolAgentLoop, RLHFDataset, TokenOutput


def test_verls_own_multi_turn_loop_plays_the_exported_task(exported, micro_tokenizer):
    DictConfigWrap, ToolAgentLoop, RLHFDataset, TokenOutput = _tool_agent_loop()
    from omegaconf import OmegaConf

    out, _, rows, trajectories = exported
    (row,) = [r for r in rows if r["extra_info"]["task_id"] == "alfworld/valid_seen/0"]
    actions = [t.action for t in trajectories["alfworld/valid_seen/0"].turns]
    config = OmegaConf.load(str(importlib.resources.files("verl") / "trainer" / "config"
                                / "_generated_ppo_trainer.yaml"))
    rollout = config.actor_rollout_ref.rollout
    rollout.multi_turn.enable = True
    rollout.multi_turn.interaction_config_path = str(out / VERL_INTERACTION_FILE)
    rollout.multi_turn.max_assistant_turns = 60
    rollout.prompt_length = rollout.response_length = 100_000

    class ScriptedServer:  # stands in for verl's LLM server manager: the expert's answers, as token ids
        async def generate(self, request_id, prompt_ids, sampling_params, image_data=None, video_data=None, **kw):
            answer = f"<action>{actions.pop(0)}</action>{micro_tokenizer.eos_token}"
            return TokenOutput(token_ids=micro_tokenizer.encode(answer, add_special_tokens=False))

    async def run():
        loop = ToolAgentLoop(trainer_config=DictConfigWrap(config=config), server_manager=ScriptedServer(),
                             tokenizer=micro_tokenizer, processor=None, dataset_cls=RLHFDataset,
                             data_config=DictConfigWrap(config.data))
        return await loop.run({"temperature": 1.0}, raw_prompt=row["prompt"], extra_info=row["extra_info"])

    output = asyncio.run(run())
    assert output.extra_fields["turn_scores"] == [0.0] * (len(output.extra_fields["turn_scores"]) - 1) + [1.0]
    assert not actions  # every expert answer was asked for, and no more
    assert compute_score(row["data_source"], "", row["reward_model"]["ground_truth"],
                         extra_info={**row["extra_info"], **output.extra_fields}) == 1.0
