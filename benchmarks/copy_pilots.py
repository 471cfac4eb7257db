"""Pilots on the base model's one missing skill: copying an admissible action
(an ALFWorld object, a WebShop product id) from its prompt into its answer.

All three draw on the random walks the default model is built from (the
``pretrain`` split, never evaluated), held-out steps apart, and on "list rows":
a walk step cut down to ``k`` of its admissible actions, the walker's answer
among them. On a list row only copying lowers the answer's loss past its
first token, and the row is short, which is where induction heads form fast.

    # where in the answer does the copy fail? (teacher-forced loss per answer token, k = 3, and full prompts)
    python benchmarks/copy_pilots.py answer-losses --model agents/default_model_weights

    # continue a model on list rows of growing k, then full prompts (loss on the answer tokens);
    # prints the sampled answer's validity (T 1) on held-out list rows and full prompts per stage
    python benchmarks/copy_pilots.py curriculum --model agents/default_model_weights --out /tmp/curriculum

    # from scratch, the default model's architecture on list rows, ids as the envs write them
    # (plain) or split into 2-character chunks that each get a token (chunked)
    python benchmarks/copy_pilots.py tokenizer --variant chunked --steps 1200

Results and the machine they were measured on: docs/agents.md ("Copy pilots").
"""
from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path

WALK_EPISODES = 240  # per env: about 8,500 walk steps, enough for the pilots' few thousand steps
HELD_OUT = 800
PROBE_ROWS = 48
LIST_HEADER = "Admissible actions:\n"
SEARCH = "search[<your query>]"
PRODUCT_ID = re.compile(r"\b(b0)([a-z0-9]{8})\b")  # as the envs write ids in actions


def walk_steps(cache: Path | None) -> tuple[list, list]:
    """(train, held-out) walk-step chats, each [system, user, assistant]."""
    from dataclasses import replace

    from prism_gym.agents.default_model import BuildSettings, pretrain_chats

    if cache is not None and cache.exists():
        chats = json.loads(cache.read_text())
    else:
        chats, _ = pretrain_chats(replace(BuildSettings(), walk_episodes=WALK_EPISODES))
        if cache is not None:
            cache.write_text(json.dumps(chats))
    steps = [c for c in chats if LIST_HEADER in c[1]["content"]]
    random.Random(0).shuffle(steps)
    return steps[HELD_OUT:], steps[:HELD_OUT]


def env_of(chat) -> str:
    return "webshop" if "shopping" in chat[0]["content"] else "alfworld"


def probe_steps(held: list) -> dict[str, list]:
    """Held-out steps per env whose answer must be copied: every ALFWorld step,
    WebShop's clicks on a product id (the hardest copy; a search is free text)."""
    out: dict[str, list] = {"alfworld": [], "webshop": []}
    for chat in held:
        env = env_of(chat)
        if env == "alfworld" or PRODUCT_ID.search(chat[2]["content"]):
            out[env].append(chat)
    return {env: chats[:PROBE_ROWS] for env, chats in out.items()}


def list_row(chat, rng: random.Random, low: int, high: int) -> tuple[list[str], str]:
    """The step's admissible list cut to k in [low, high] actions (the answer kept), and the answer message."""
    listed = chat[1]["content"].rpartition(LIST_HEADER)[2].split("\n")
    answer = chat[2]["content"]
    action = answer.removeprefix("<action>").removesuffix("</action>")
    others = [a for a in listed if a != action]
    shown = rng.sample(others, min(len(others), rng.randint(low, high) - 1)) + [action]
    rng.shuffle(shown)
    return shown, answer


def list_chat(shown: list[str], answer: str | None) -> list[dict]:
    chat = [{"role": "user", "content": LIST_HEADER + "\n".join(shown)}]
    return chat + ([{"role": "assistant", "content": answer}] if answer is not None else [])


def train_on(model, optimizer, schedule, rows: list[tuple[list[int], list[int]]]) -> float:
    """One optimizer step on ``rows`` of (token ids, labels; -100 = not in the loss),
    right-padded into one batch; returns the loss."""
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full_like(ids, -100)
    attention = torch.zeros_like(ids)
    for i, (row_ids, row_labels) in enumerate(rows):
        ids[i, :len(row_ids)] = torch.tensor(row_ids)
        labels[i, :len(row_ids)] = torch.tensor(row_labels)
        attention[i, :len(row_ids)] = 1
    loss = model(input_ids=ids, attention_mask=attention, labels=labels).loss
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    schedule.step()
    return loss.item()


def mean_by_position(rows: list[list[float]]) -> list[float]:
    """Mean loss at each answer position, over the rows (up to the shortest answer)."""
    width = min(len(r) for r in rows)
    return [round(sum(r[i] for r in rows) / len(rows), 2) for i in range(width)]


# -- chat-template models (the default model and its variants) -----------------------------------------
def answer_token_losses(model, tokenizer, chat) -> list[float]:
    import torch

    from prism_gym.chat_mask import assistant_tokens

    token_ids, answer_mask = assistant_tokens(tokenizer, chat)
    ids = torch.tensor([token_ids])
    mask = torch.tensor(answer_mask, dtype=torch.bool)[1:]
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0, :-1].float(), -1)
    losses = -logp.gather(1, ids[0, 1:, None])[:, 0]
    return losses[mask].tolist()


def answer_losses(model, tokenizer, probe: dict[str, list], k: int = 3) -> dict:
    rng = random.Random(5)
    out = {}
    for env, chats in probe.items():
        listed = [answer_token_losses(model, tokenizer, list_chat(*list_row(c, rng, k, k))) for c in chats]
        full = [answer_token_losses(model, tokenizer, c) for c in chats]
        out[env] = {f"list k={k}": mean_by_position(listed), "full prompt": mean_by_position(full)}
    return out


def sampled_validity(model, tokenizer, probe: dict[str, list], kind: str, low: int = 2, high: int = 60) -> dict:
    """Share of answers sampled at T 1 that are among the listed actions (a WebShop
    search counts when search is listed), and one invalid answer per env."""
    import torch

    from prism_gym.agents.prompts import parse_action

    rng = random.Random(1)
    torch.manual_seed(0)  # the samples, so that two models are compared on the same draws
    out = {}
    for env, chats in probe.items():
        valid, example = 0, None
        for chat in chats:
            if kind == "full":
                messages, shown = chat[:2], chat[1]["content"].rpartition(LIST_HEADER)[2].split("\n")
            else:
                shown, _ = list_row(chat, rng, low, high)
                messages = list_chat(shown, None)
            ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
            prompt = torch.tensor([list(ids["input_ids"])])
            with torch.no_grad():
                generated = model.generate(prompt, max_new_tokens=32, do_sample=True, temperature=1.0, top_k=0,
                                           pad_token_id=tokenizer.pad_token_id or 0,
                                           eos_token_id=tokenizer.eos_token_id)
            action, _ = parse_action(tokenizer.decode(generated[0, prompt.shape[1]:], skip_special_tokens=True))
            if action in shown or (action.startswith("search[") and SEARCH in shown):
                valid += 1
            elif example is None:
                example = action
        out[env] = {"valid": round(valid / len(chats), 3), "an invalid answer": example}
    return out


def load(path: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (AutoModelForCausalLM.from_pretrained(path, use_safetensors=True).eval(),
            AutoTokenizer.from_pretrained(path))


def cmd_answer_losses(args) -> None:
    model, tokenizer = load(args.model)
    _, held = walk_steps(args.cache)
    for env, kinds in answer_losses(model, tokenizer, probe_steps(held), args.k).items():
        for kind, losses in kinds.items():
            print(f"{env:9} {kind:12} {' '.join(f'{x:5.2f}' for x in losses)}")


def cmd_curriculum(args) -> None:
    import torch

    from prism_gym.chat_mask import assistant_tokens

    model, tokenizer = load(args.model)
    train, held = walk_steps(args.cache)
    probe = probe_steps(held)
    stages = json.loads(args.stages)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 50))
    rng = random.Random(2)

    def report(label: str, stage) -> None:
        kind, low, high, _ = stage
        record = {"after": label, "full prompts": sampled_validity(model, tokenizer, probe, "full")}
        if kind == "list":
            record[f"list rows k={low}-{high}"] = sampled_validity(model, tokenizer, probe, "list", low, high)
        print(json.dumps(record), flush=True)
        model.train()

    report("start", ["list", 2, 4, 0])
    model.train()
    for stage in stages:
        kind, low, high, steps = stage
        started = time.perf_counter()
        for _ in range(steps):
            rows, tokens = [], 0
            while tokens < args.tokens:
                chat = train[rng.randrange(len(train))]
                if kind == "list":
                    chat = list_chat(*list_row(chat, rng, low, high))
                ids, mask = assistant_tokens(tokenizer, chat)
                rows.append((ids, [t if m else -100 for t, m in zip(ids, mask)]))
                tokens += len(ids)
            loss = train_on(model, optimizer, schedule, rows)
        print(f"stage {stage}: {time.perf_counter() - started:.0f} s, last loss {loss:.3f}", flush=True)
        report(f"{kind} k={low}-{high}, {steps} steps", stage)
        if args.out:
            model.save_pretrained(args.out)
            tokenizer.save_pretrained(args.out)


# -- from scratch, own tokenizer (the tokenizer pilot) --------------------------------------------------


def cmd_tokenizer(args) -> None:
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    train, held = walk_steps(args.cache)

    def written(text: str) -> str:
        if args.variant == "chunked":
            return PRODUCT_ID.sub(lambda m: m[1] + "".join(" " + m[2][i:i + 2] for i in range(0, 8, 2)), text)
        return text

    def row(chat, rng, low=2, high=6) -> tuple[str, str]:
        shown, answer = list_row(chat, rng, low, high)
        return written(LIST_HEADER + "\n".join(shown) + "\nAnswer: "), written(answer)

    corpus = [p + a for p, a in (row(c, random.Random(3)) for c in train)]
    if args.variant == "chunked":  # every chunk an id can hold is in the vocabulary
        chars = "abcdefghijklmnopqrstuvwxyz0123456789"
        corpus += [" ".join(x + y for x in chars for y in chars)] * 20
    tokenizer = Tokenizer(models.BPE())
    # Letters and digits stay together, so a chunk such as "9f" can be one token (byte-level
    # BPE's usual split would cut it at the digit); both variants use this pre-tokenizer.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r" ?[A-Za-z0-9]+| ?[^A-Za-z0-9\s]+|\s+"), "isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=4096, special_tokens=["<pad>"],
                                                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    example = written("click[b031qyfm9f]")
    print(f"{args.variant}: vocabulary {tokenizer.get_vocab_size()}; {example} -> {tokenizer.encode(example).tokens}")

    config = LlamaConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=192, intermediate_size=512,
                         num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=1024, tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 50))
    probe_rng = random.Random(7)
    probe = {env: [row(c, probe_rng, 3, 3) for c in chats] for env, chats in probe_steps(held).items()}

    def encode(prompt: str, answer: str) -> tuple[list[int], int]:
        p = tokenizer.encode(prompt).ids
        return p + tokenizer.encode(answer).ids, len(p)

    def probe_losses() -> dict:
        model.eval()
        out = {}
        with torch.no_grad():
            for env, pairs in probe.items():
                rows = []
                for prompt, answer in pairs:
                    ids, n = encode(prompt, answer)
                    x = torch.tensor([ids])
                    logp = torch.log_softmax(model(x).logits[0, :-1], -1)
                    rows.append((-logp.gather(1, x[0, 1:, None])[:, 0])[n - 1:].tolist())
                out[env] = mean_by_position(rows)
        model.train()
        return out

    rng = random.Random(11)
    started = time.perf_counter()
    for step in range(1, args.steps + 1):
        encoded = [encode(*row(train[rng.randrange(len(train))], rng)) for _ in range(args.rows)]
        loss = train_on(model, optimizer, schedule, [(ids, ids) for ids, _ in encoded])  # plain next-token loss
        if step % args.every == 0 or step == args.steps:
            print(json.dumps({"step": step, "loss": round(loss, 3), "s": round(time.perf_counter() - started),
                              "answer loss by position (k = 3)": probe_losses()}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=None, help="a JSON file to keep the walk steps in between runs")
    sub = parser.add_subparsers(dest="command", required=True)
    losses = sub.add_parser("answer-losses", help="teacher-forced loss per answer token")
    losses.add_argument("--model", required=True)
    losses.add_argument("--k", type=int, default=3, help="actions listed in a list row")
    curriculum = sub.add_parser("curriculum", help="continue a model on list rows, then full prompts")
    curriculum.add_argument("--model", required=True)
    curriculum.add_argument("--out", default=None, help="save the model here after each stage")
    curriculum.add_argument("--stages", default='[["list", 2, 4, 300], ["list", 2, 12, 300], '
                                                '["list", 2, 60, 300], ["full", 0, 0, 300]]',
                            help="JSON list of [kind, k low, k high, steps]; kind list or full")
    curriculum.add_argument("--lr", type=float, default=1e-3)
    curriculum.add_argument("--tokens", type=int, default=3072, help="tokens per step")
    scratch = sub.add_parser("tokenizer", help="from scratch on list rows, ids plain or chunked")
    scratch.add_argument("--variant", choices=["plain", "chunked"], required=True)
    scratch.add_argument("--steps", type=int, default=1200)
    scratch.add_argument("--rows", type=int, default=48, help="list rows per step")
    scratch.add_argument("--lr", type=float, default=1e-3)
    scratch.add_argument("--every", type=int, default=200, help="probe every this many steps")
    args = parser.parse_args()
    if args.command in ("answer-losses", "curriculum") and not Path(args.model).is_dir():
        parser.error(f"--model {args.model}: not a model directory")
    import torch

    torch.set_num_threads(args.threads)
    {"answer-losses": cmd_answer_losses, "curriculum": cmd_curriculum, "tokenizer": cmd_tokenizer}[args.command](args)


if __name__ == "__main__":
    main()
