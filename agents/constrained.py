"""Admissible-action decoding: the LLM agent's answer is drawn from the actions
the env lists as admissible, not from the whole vocabulary.

Both envs list their admissible actions in every observation (ALFWorld's
admissible commands; WebShop's clickables and, on the search page, the search
box), and the prompt repeats the list. A free-decoding agent must copy one of
them token by token; a small model that has not learned to copy from its
context wastes most of its steps on actions the env rejects. With
``decoding="admissible"`` the agent keeps the same model, prompt and answer
format, and masks, at every decoding step, the tokens that would leave every
admissible answer. This is how text-game agents that choose among admissible
commands act (and how the original WebShop imitation agent picks its clicks),
done at the token level so that the policy stays a language model's: the
probability of an action is the product of its tokens' masked probabilities,
which GRPO's ratio uses on both sides (:func:`masked_logprobs`).

What is constrained:
- each admissible action ``a`` gives one token path, the tokens the chat
  template renders for the answer ``<action>a</action>`` and its end-of-turn
  token (exactly what SFT trains on);
- an action written as a template with a free slot, ``verb[<...>]`` (WebShop's
  ``search[<your query>]``), constrains its prefix ``<action>verb[`` only: the
  query after it is the model's free text, as in the original
  (``slot_text="free"``);
- with ``slot_text="goal-span"`` the slot's text is instead a span of
  consecutive words of the task's goal, any start, any length, its last
  word with or without the punctuation that ends a clause: a copy
  mechanism for the query. The env's expert searches with such a span (the
  instruction without its opener and its option and price clauses), and a
  small model that cannot copy from its prompt otherwise writes queries
  unrelated to the instruction. The agent still chooses the span.

A path that is a prefix of a longer one (``click[b]`` and ``click[buy now]``
share tokens) simply branches; the end-of-turn token ends whichever path is
complete. The env still judges every action, so an invalid answer remains
possible only inside a free slot.
"""
from __future__ import annotations

import re
from typing import Sequence

from prism_gym.agents.prompts import format_action

DECODINGS = ("free", "admissible")
SLOT_TEXTS = ("free", "goal-span")
_FREE_SLOT_RE = re.compile(r"^(\w+\[)<[^<>\[\]]*>\]$")  # search[<your query>] -> "search["
_FREE = -1  # trie key: any token may follow this node

# One chat for rendering answers: a minimal user turn, then the answer.
_RENDER_CHAT = [{"role": "user", "content": "."}]


def check_decoding(decoding: str, slot_text: str = "free") -> str:
    if decoding not in DECODINGS:
        raise ValueError(f"unknown decoding {decoding!r}; use one of {', '.join(DECODINGS)}")
    if slot_text not in SLOT_TEXTS:
        raise ValueError(f"unknown slot_text {slot_text!r}; use one of {', '.join(SLOT_TEXTS)}")
    if slot_text != "free" and decoding != "admissible":
        raise ValueError(f"slot_text={slot_text!r} constrains admissible decoding; it needs decoding='admissible'")
    return decoding


_CLAUSE_END = ",.;:!?"  # punctuation a clause may end a word with


def goal_spans(goal: str) -> list[str]:
    """Every run of consecutive words of ``goal`` (split on whitespace), and
    each run whose last word ends a clause also without that punctuation.

    A query stops where a clause of the goal stops: the expert's query for
    "a coffee table ... with mid-century style, and price lower than 210.00
    dollars" ends at "style", not "style,", and without the second form
    half of the expert's queries could not be written at all."""
    words = goal.split()
    spans: dict[str, None] = {}
    for i in range(len(words)):
        for j in range(i + 1, len(words) + 1):
            span = " ".join(words[i:j])
            spans[span] = None
            trimmed = span.rstrip(_CLAUSE_END).rstrip()  # a lone "," as the last word leaves a space
            if trimmed:
                spans[trimmed] = None  # a key already present keeps its place
    return list(spans)


class AnswerConstraint:
    """The answers one decision may take, as a token trie (see the module doc).

    :meth:`allowed` names the tokens that may follow a partial completion, or
    ``None`` when any token may: inside a free slot, after the answer ended, or
    after a token off every path (a completion not decoded under this
    constraint), so that a caller never masks a whole row."""

    def __init__(self, paths: Sequence[Sequence[int]], free_prefixes: Sequence[Sequence[int]] = ()):
        if not paths and not free_prefixes:
            raise ValueError("an answer constraint needs at least one admissible answer")
        self.root: dict = {}
        for path in paths:
            node = self.root
            for tok in path:
                node = node.setdefault(int(tok), {})
        for prefix in free_prefixes:
            node = self.root
            for tok in prefix:
                node = node.setdefault(int(tok), {})
            node[_FREE] = True

    def allowed(self, generated: Sequence[int]) -> list[int] | None:
        node = self.root
        for tok in generated:
            if _FREE in node:
                return None
            node = node.get(int(tok))
            if node is None:
                return None
        if _FREE in node or not node:
            return None
        return [tok for tok in node if tok != _FREE]

    def allowed_along(self, completion: Sequence[int]) -> list[list[int] | None]:
        """The allowed set before each token of ``completion`` (what the
        sampler masked when it drew that token)."""
        return [self.allowed(completion[:t]) for t in range(len(completion))]


class AnswerTokens:
    """Token paths of answers under one tokenizer and chat template, cached
    (admissible actions repeat across steps and episodes)."""

    def __init__(self, tokenizer, stop_ids: Sequence[int], max_cached: int = 200_000, slot_text: str = "free"):
        check_decoding("admissible", slot_text)
        self.tokenizer = tokenizer
        self.stop_ids = [int(t) for t in stop_ids]
        self.max_cached = max_cached
        self.slot_text = slot_text
        self._paths: dict[str, list[int]] = {}
        self._prefixes: dict[str, list[int]] = {}
        self._constraints: dict[tuple, AnswerConstraint | None] = {}
        self._suffix: list[int] | None | bool = False  # False: not probed yet; None: no fast path

    def constraint(self, admissible: Sequence[str], goal: str = "") -> AnswerConstraint | None:
        """The constraint for one decision, or ``None`` when nothing is listed
        (the answer is then free). ``goal`` feeds ``goal-span`` slots."""
        key = (tuple(admissible), goal if self.slot_text == "goal-span" else "")
        if key in self._constraints:
            return self._constraints[key]
        answers, prefixes = [], []
        for action in admissible:
            slot = _FREE_SLOT_RE.match(action)
            if slot and self.slot_text == "goal-span" and goal.strip():
                answers += [f"{slot.group(1)}{span}]" for span in goal_spans(goal)]
            elif slot:
                prefixes.append(self._prefix(slot.group(1)))
            else:
                answers.append(action)
        paths = self._paths_of(answers)
        constraint = AnswerConstraint(paths, prefixes) if paths or prefixes else None
        if len(self._constraints) >= 4096:  # one per (page, goal): bounded, most reuse is within a batch
            self._constraints.clear()
        self._constraints[key] = constraint
        return constraint

    def _paths_of(self, actions: Sequence[str]) -> list[list[int]]:
        """Token paths of many actions: one batched tokenizer call when plain
        tokenization plus the template's closing tokens reproduces the
        template (checked once per tokenizer), else one rendering each."""
        todo = [a for a in dict.fromkeys(actions) if a not in self._paths]
        suffix = self._closing_tokens()
        if todo and suffix is not None:
            encoded = self.tokenizer([format_action(a) for a in todo], add_special_tokens=False)["input_ids"]
            for action, ids in zip(todo, encoded):
                self._remember(self._paths, action, list(ids) + suffix)
        return [self._path(a) for a in actions]

    def _closing_tokens(self) -> list[int] | None:
        """The tokens a rendered answer ends with after its plain
        tokenization (up to the stop token), when that holds for probe answers."""
        if self._suffix is False:
            self._suffix = None
            probes = ["go to desk 1", "search[red cotton shirt, and size: large]", "click[b0abc12345]"]
            plain = [self.tokenizer(format_action(p), add_special_tokens=False)["input_ids"] for p in probes]
            full = [self._path(p) for p in probes]
            if all(f[:len(p)] == list(p) for f, p in zip(full, plain)):
                tails = {tuple(f[len(p):]) for f, p in zip(full, plain)}
                if len(tails) == 1:
                    self._suffix = list(tails.pop())
        return self._suffix

    def _remember(self, cache: dict, key: str, value: list[int]) -> list[int]:
        if len(cache) >= self.max_cached:
            cache.clear()
        cache[key] = value
        return value

    def _assistant_ids(self, answer: str) -> list[int]:
        from prism_gym.chat_mask import assistant_tokens

        ids, mask = assistant_tokens(self.tokenizer, _RENDER_CHAT + [{"role": "assistant", "content": answer}])
        return [t for t, m in zip(ids, mask) if m]

    def _path(self, action: str) -> list[int]:
        """The answer's tokens up to and including its first stop token (what
        generation produces before it stops)."""
        if action in self._paths:
            return self._paths[action]
        ids = self._assistant_ids(format_action(action))
        for i, tok in enumerate(ids):
            if tok in self.stop_ids:
                ids = ids[:i + 1]
                break
        else:
            ids = ids + self.stop_ids[:1]
        return self._remember(self._paths, action, ids)

    def _prefix(self, head: str) -> list[int]:
        """The tokens of ``<action>`` + ``head`` as they begin a rendered
        answer: the longest token prefix of a sample answer that decodes to a
        prefix of it (BPE may merge the slot's first character into the last
        token; the prefix then stops before that token)."""
        if head in self._prefixes:
            return self._prefixes[head]
        sample = format_action(head + "x]")
        text = sample[:sample.index(head) + len(head)]
        ids = self._assistant_ids(sample)
        prefix: list[int] = []
        for tok in ids:
            decoded = self.tokenizer.decode(prefix + [tok])
            if not text.startswith(decoded):
                break
            prefix.append(tok)
            if decoded == text:
                break
        return self._remember(self._prefixes, head, prefix)


def masked_logprobs(logits, allowed: Sequence[Sequence[list[int] | None] | None]):
    """``log_softmax`` of ``logits`` [B, T, V] with each row's disallowed tokens
    removed: ``allowed[b][t]`` lists the tokens allowed at (b, t), ``None``
    (for a row or a position) leaves it unmasked."""
    import torch

    blocked = None
    for b, row in enumerate(allowed):
        if row is None:
            continue
        for t, ids in enumerate(row[:logits.shape[1]]):
            if ids is None:
                continue
            if blocked is None:
                blocked = torch.zeros(logits.shape, dtype=torch.bool, device=logits.device)
            blocked[b, t] = True
            blocked[b, t, torch.as_tensor(ids, dtype=torch.long, device=logits.device)] = False
    if blocked is not None:
        logits = logits.masked_fill(blocked, float("-inf"))
    return torch.log_softmax(logits, dim=-1)


class AdmissibleLogitsProcessor:
    """A ``transformers`` logits processor for one left-padded batch: masks
    each row's scores to its constraint's allowed tokens (rows with ``None``
    are left free)."""

    def __init__(self, constraints: Sequence[AnswerConstraint | None], prompt_width: int):
        self.constraints = list(constraints)
        self.prompt_width = prompt_width
        # The allowed set each row was masked to at each step (None: free), kept so
        # that the step's log-probabilities use the very mask the sampler used.
        self.used: list[list[list[int] | None]] = [[] for _ in self.constraints]

    def __call__(self, input_ids, scores):
        import torch

        generated = input_ids[:, self.prompt_width:].tolist()
        for row, constraint in enumerate(self.constraints):
            ids = constraint.allowed(generated[row]) if constraint is not None else None
            self.used[row].append(ids)
            if ids is None:
                continue
            index = torch.as_tensor(ids, dtype=torch.long, device=scores.device)
            keep = scores[row, index].clone()
            scores[row] = float("-inf")
            scores[row, index] = keep
        return scores
