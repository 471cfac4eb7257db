"""The default model's build, on a reduced setting over the toy env:
reproducible from the seed, cached by settings, safetensors only, loadable."""
from __future__ import annotations

import json
import random

import pytest
import torch

from test_agents_toyenv import list_tasks, toy_registry  # noqa: F401  (fixture)

from prism_gym.agents.default_model import BuildSettings, build_default_model, is_built, model_dir, pack

SMALL = dict(envs=("toy",), walk_episodes=12, walk_steps=4, vocab_size=320, hidden_size=32, layers=1, heads=2,
             kv_heads=1, intermediate_size=64, context=512, seq_len=128, batch_size=2, train_steps=4)


def test_same_seed_same_weights_other_seed_other_weights(toy_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("PRISM_GYM_CACHE", str(tmp_path / "cache"))
    a = build_default_model(BuildSettings(seed=1, **SMALL), progress=False, out_dir=tmp_path / "a")
    b = build_default_model(BuildSettings(seed=1, **SMALL), progress=False, out_dir=tmp_path / "b")
    c = build_default_model(BuildSettings(seed=2, **SMALL), progress=False, out_dir=tmp_path / "c")
    info = [json.loads((p / "build.json").read_text()) for p in (a, b, c)]
    assert info[0]["weights_sha256"] == info[1]["weights_sha256"] != info[2]["weights_sha256"]
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert info[0]["walks"]["toy"]["episodes"] == 12 and info[0]["final_loss"] < info[0]["first_loss"]
    # Nothing pickled is written, so loading never unpickles.
    assert not [p for p in a.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".pkl")]


def test_cached_by_settings_and_loaded_through_models(toy_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("PRISM_GYM_CACHE", str(tmp_path))
    settings = BuildSettings(seed=0, **SMALL)
    path = model_dir(settings)
    assert path.parent == tmp_path / "models" and "s0-d32-l1-v320-c512-t4" in path.name
    assert model_dir(BuildSettings(seed=0, **{**SMALL, "train_steps": 5})) != path
    assert not is_built(path)
    built = build_default_model(settings, progress=False)
    assert built == path and is_built(path)
    stamp = (path / "model.safetensors").stat().st_mtime_ns
    assert build_default_model(settings, progress=False) == path  # cached: not rebuilt
    assert (path / "model.safetensors").stat().st_mtime_ns == stamp
    assert not list(path.parent.glob(".*"))  # no temporary directories left behind

    from prism_gym.agents.llm import LLMAgent
    from prism_gym.models import load_model_and_tokenizer
    from prism_gym.rollout import rollout

    model, tok = load_model_and_tokenizer(path)
    assert model.config.max_position_embeddings == 512 and tok.eos_token == "<|end|>"
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "<action>look</action>"}]
    enc = tok.apply_chat_template(chat, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    assert 0 < sum(enc["assistant_masks"]) < len(enc["input_ids"])
    agent = LLMAgent("toy", model=str(path), max_new_tokens=8)
    (ep,) = rollout("toy", list_tasks("test", limit=1), agent, max_steps=2, progress=False)
    assert ep.trajectory.num_steps == 2


def test_missing_pretrain_split_is_a_clear_error(toy_registry, tmp_path):
    with pytest.raises(Exception, match="unknown env|pretrain"):
        build_default_model(BuildSettings(**{**SMALL, "envs": ("nope",)}), progress=False, out_dir=tmp_path / "x")


def test_pack_keeps_chats_whole_and_pads_the_rest():
    # block length 5, pad 0: [1,2,3] + [4,5] fit; [6,7,8] starts a new block;
    # [9,10,11,12,13,14] is longer than a block and keeps its last 5 tokens.
    blocks, weights = pack([[1, 2, 3], [4, 5], [6, 7, 8], [9, 10, 11, 12, 13, 14]],
                           [[.1, .1, 1], [.1, 1], [.1, .1, 1], [.1] * 5 + [1]], 5, 0)
    assert blocks == [[1, 2, 3, 4, 5], [6, 7, 8, 0, 0], [10, 11, 12, 13, 14]]
    assert weights == [[.1, .1, 1, .1, 1], [.1, .1, 1, 0, 0], [.1] * 4 + [1]]
    assert pack([], [], 3, 0) == ([], [])


def test_pretraining_chats_keep_each_episodes_steps_together_and_in_order(toy_registry):
    """Episodes are shuffled, not steps: the chats of one walk come in a run,
    step 1, 2, ... (so an episode's repeated text shares a block)."""
    import re

    from prism_gym.agents.default_model import pretrain_chats

    chats, stats = pretrain_chats(BuildSettings(seed=3, **SMALL))
    assert len(chats) == stats["toy"]["steps"]
    steps = [int(re.search(r"Observation \(step (\d+)\)", chat[1]["content"]).group(1)) for chat in chats]
    goals = [chat[1]["content"].split("\n", 1)[0] for chat in chats]
    runs = 0
    for i, step in enumerate(steps):
        if step == 1:
            runs += 1
        else:  # a later step follows its predecessor of the same episode
            assert steps[i - 1] == step - 1 and goals[i - 1] == goals[i]
    assert runs == stats["toy"]["episodes"]
    first_goals = [g for g, s in zip(goals, steps) if s == 1]
    again, _ = pretrain_chats(BuildSettings(seed=4, **SMALL))
    other = [c[1]["content"].split("\n", 1)[0] for c in again if "Observation (step 1)" in c[1]["content"]]
    assert sorted(other) == sorted(first_goals) and other != first_goals, "the seed orders the episodes"


def test_the_shipped_default_model_is_the_recipes_build_and_small(tmp_path, monkeypatch):
    """The package ships the seed-0 build: its recorded settings are today's
    BuildSettings(), its weights hash to what build.json says, it is found
    without building anything, and it stays small."""
    import hashlib

    from transformers import AutoModelForCausalLM

    from prism_gym.agents.default_model import SHIPPED_DIR, find_default_model, shipped_settings

    monkeypatch.setenv("PRISM_GYM_CACHE", str(tmp_path))  # an empty cache: nothing built there
    assert shipped_settings() == BuildSettings(), "the shipped weights were built with other settings"
    assert find_default_model() == SHIPPED_DIR
    info = json.loads((SHIPPED_DIR / "build.json").read_text())
    digest = hashlib.sha256()  # weights_hash's definition: every tensor in name order, name then bytes
    model = AutoModelForCausalLM.from_pretrained(str(SHIPPED_DIR), use_safetensors=True)
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    assert digest.hexdigest() == info["weights_sha256"]
    size = sum(p.stat().st_size for p in SHIPPED_DIR.iterdir())
    assert size < 25 * 2**20, f"the shipped model takes {size / 2**20:.1f} MiB"


class _Scripted(torch.nn.Module):
    """A stand-in language model: uniform over the vocabulary, or (``copies``)
    an ideal induction head: after a token seen before, certain of the token
    that followed its latest earlier occurrence; uniform elsewhere."""

    def __init__(self, vocab: int, copies: bool):
        super().__init__()
        self.config = type("Config", (), {"vocab_size": vocab})()
        self.copies, self.vocab = copies, vocab

    def forward(self, ids):
        logits = torch.zeros(*ids.shape, self.vocab)
        if self.copies:
            for row in range(ids.shape[0]):
                seen = {}
                for t, token in enumerate(ids[row].tolist()):
                    if token in seen:
                        logits[row, t, ids[row, seen[token] + 1]] = 30.0
                    seen[token] = t
        return type("Out", (), {"logits": logits})()


def test_copy_test_tells_a_copying_model_from_one_that_does_not():
    import math

    from prism_gym.agents.default_model import copy_test

    vocab = 50_000  # random sequences of 30 tokens almost never repeat a token by chance
    # Uniform model: every token costs ln V, first occurrence and repeat alike.
    blind = copy_test(_Scripted(vocab, copies=False))
    assert blind["first"] == pytest.approx(math.log(vocab), abs=1e-3)
    assert blind["repeat"] == pytest.approx(math.log(vocab), abs=1e-3)
    # The ideal copier: the first occurrence costs ln V, and every token of
    # the repeat after its first (which nothing announces) costs ~0.
    copier = copy_test(_Scripted(vocab, copies=True), length=30)
    assert copier["first"] == pytest.approx(math.log(vocab), abs=0.05)
    assert copier["repeat"] < 0.01


def test_an_interrupted_pretraining_resumes_to_the_same_weights(tmp_path):
    import random

    from prism_gym.agents.default_model import make_model, pretrain, weights_hash

    class Vocab:  # what make_model reads from a tokenizer
        bos_token_id, eos_token_id, pad_token_id = 1, 2, 0

        def __len__(self):
            return 64

    settings = BuildSettings(**{**SMALL, "vocab_size": 64, "train_steps": 8, "warmup_steps": 2, "batch_size": 2})
    rng = random.Random(0)
    blocks = [[rng.randrange(3, 64) for _ in range(32)] for _ in range(5)]  # 5 blocks: epochs turn over mid-run

    whole = make_model(settings, Vocab())
    pretrain(whole, blocks, settings)

    class Stop(Exception):
        pass

    def stop_at_five(step, model):
        if step == 5:
            raise Stop

    state = tmp_path / "state.pt"
    interrupted = make_model(settings, Vocab())
    with pytest.raises(Stop):
        pretrain(interrupted, blocks, settings, callback=stop_at_five, checkpoint=state, checkpoint_seconds=0)
    assert state.is_file()
    resumed = make_model(settings, Vocab())  # a fresh process: fresh initial weights, state from the file
    losses = pretrain(resumed, blocks, settings, checkpoint=state, checkpoint_seconds=0)
    assert len(losses) == 8
    assert weights_hash(resumed) == weights_hash(whole)

    other = BuildSettings(**{**SMALL, "vocab_size": 64, "train_steps": 9, "warmup_steps": 2, "batch_size": 2})
    with pytest.raises(RuntimeError, match="other build settings"):
        pretrain(make_model(other, Vocab()), blocks, other, checkpoint=state)


def _doubled_runs(block: list[int], low: int, high: int) -> bool:
    """Whether ``block`` is a chain of runs XX with low <= |X| <= high, the last
    one possibly cut short (checked from the definition, by dynamic programming)."""
    n = len(block)
    reachable = [False] * (n + 1)
    reachable[0] = True
    for start in range(n):
        if not reachable[start]:
            continue
        for size in range(low, high + 1):
            end = min(start + 2 * size, n)
            pair = block[start:end]
            if all(pair[i] == pair[i - size] for i in range(size, len(pair))) and end - start > 0:
                if end == n:
                    return True
                reachable[end] = True
    return reachable[n]


def test_copy_blocks_are_runs_each_followed_by_its_repeat():
    from prism_gym.agents.default_model import copy_blocks

    pool = list(range(100, 400))
    blocks = copy_blocks(4, 256, pool, seed=3)
    assert len(blocks) == 4 and all(len(b) == 256 for b in blocks)
    assert all(t in set(pool) for b in blocks for t in b)
    assert all(_doubled_runs(b, 8, 64) for b in blocks)
    assert copy_blocks(4, 256, pool, seed=3) == blocks != copy_blocks(4, 256, pool, seed=4)
    # Random tokens in place of the repeats are not such a chain.
    shuffled = list(blocks[0])
    random.Random(0).shuffle(shuffled)
    assert not _doubled_runs(shuffled, 8, 64)


def test_copy_rows_are_short_runs_each_followed_by_its_repeat():
    from prism_gym.agents.default_model import copy_rows

    pool = list(range(50, 90))
    rows = copy_rows(16, 32, pool, torch.Generator().manual_seed(0))
    assert rows.shape == (16, 32) and set(rows.flatten().tolist()) <= set(pool)
    assert all(_doubled_runs(row, 4, 16) for row in rows.tolist())
    again = copy_rows(16, 32, pool, torch.Generator().manual_seed(0))
    assert torch.equal(rows, again)
    assert not torch.equal(rows, copy_rows(16, 32, pool, torch.Generator().manual_seed(1)))
    shuffled = rows[0].tolist()
    random.Random(0).shuffle(shuffled)
    assert not _doubled_runs(shuffled, 4, 16)


def test_the_copy_warmup_teaches_a_micro_model_to_copy():
    """A 2-layer micro model learns induction from the warm-up alone: on the
    copy test its repeat becomes far cheaper than the first occurrence (chance
    level: ln 24 = 3.18 nats on both), while without the warm-up it does not.
    (Measured: 2.3 against 3.25 nats after 400 steps.)"""
    from transformers import LlamaConfig, LlamaForCausalLM

    from prism_gym.agents.default_model import copy_test, copy_warmup

    pool = list(range(8, 32))

    def micro(steps):
        torch.manual_seed(0)
        model = LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=64, num_hidden_layers=2,
                                             num_attention_heads=4, num_key_value_heads=4, intermediate_size=128,
                                             max_position_embeddings=64, tie_word_embeddings=True))
        settings = BuildSettings(copy_warmup_steps=steps, copy_warmup_lengths=(32,), copy_warmup_tokens=1024,
                                 copy_warmup_lr=3e-3)
        copy_warmup(model, pool, settings)
        return copy_test(model, pool, length=12, sequences=32)

    cold, warm = micro(0), micro(500)
    assert cold["repeat"] > 0.9 * cold["first"]
    assert warm["repeat"] < 0.8 * warm["first"], warm


def test_a_build_with_a_copy_warmup_is_reproducible_and_records_it(toy_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("PRISM_GYM_CACHE", str(tmp_path / "cache"))
    warm = dict(SMALL, copy_warmup_steps=4, copy_warmup_lengths=(16, 32), copy_warmup_tokens=64)
    a = build_default_model(BuildSettings(**warm), progress=False, out_dir=tmp_path / "a")
    b = build_default_model(BuildSettings(**warm), progress=False, out_dir=tmp_path / "b")
    cold = build_default_model(BuildSettings(**SMALL), progress=False, out_dir=tmp_path / "c")
    info = [json.loads((p / "build.json").read_text()) for p in (a, b, cold)]
    assert info[0]["weights_sha256"] == info[1]["weights_sha256"] != info[2]["weights_sha256"]
    assert info[0]["copy_warmup_loss"] > 0 and info[2]["copy_warmup_loss"] is None
    assert "copy_warmup" in info[0]["phase_seconds"] and "copy_warmup" not in info[2]["phase_seconds"]
    assert info[0]["settings"]["copy_warmup_lengths"] == [16, 32]
