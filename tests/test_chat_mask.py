"""The assistant-token mask shared by SFT, the probe and GRPO, on templates of
the common kinds (written here from their public descriptions): ChatML
(SmolLM2), Qwen3 (ChatML with <think> blocks, stripped from earlier turns),
Llama 3, and prism-gym's own marked template. The expected assistant text of
each is written out by hand from the template's definition."""
from __future__ import annotations

import copy

import pytest

from prism_gym.chat_mask import TemplateError, assistant_tokens, check_template, has_generation_markers

# ChatML as SmolLM2 uses it: a default system message when the chat has none.
CHATML = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Qwen3's shape: an assistant turn after the last user message shows its
# reasoning in a <think> block (empty when there is none); earlier turns show
# only their answer. With enable_thinking=false the generation prompt opens an
# empty <think> block.
QWEN3 = (
    "{% set ns = namespace(last_user=-1) %}"
    "{% for message in messages %}{% if message['role'] == 'user' %}{% set ns.last_user = loop.index0 %}"
    "{% endif %}{% endfor %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{% set content = message['content'] %}{% set reasoning = '' %}"
    "{% if '</think>' in content %}"
    "{% set reasoning = content.split('</think>')[0].split('<think>')[-1].strip('\\n') %}"
    "{% set content = content.split('</think>')[-1].lstrip('\\n') %}{% endif %}"
    "{% if loop.index0 > ns.last_user %}"
    "{{ '<|im_start|>assistant\\n<think>\\n' + reasoning + '\\n</think>\\n\\n' + content + '<|im_end|>\\n' }}"
    "{% else %}{{ '<|im_start|>assistant\\n' + content + '<|im_end|>\\n' }}{% endif %}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
    "{% if enable_thinking is defined and enable_thinking is false %}{{ '<think>\\n\\n</think>\\n\\n' }}{% endif %}"
    "{% endif %}"
)

# Llama 3: header tokens around the role, contents trimmed, <|eot_id|> closes a turn.
LLAMA3 = (
    "{{ '<|begin_of_text|>' }}"
    "{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

# Unusable: assistant turns open with another marker than the generation prompt.
MISMATCHED = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}{{ '<|bot|>' + message['content'] + '<|end|>' }}"
    "{% else %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)

SPECIALS = ["<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|eot_id|>", "<think>", "</think>", "<|bot|>"]

CHAT = [
    {"role": "system", "content": "You are an agent."},
    {"role": "user", "content": "Task: open drawer 2"},
    {"role": "assistant", "content": "<action>open drawer 2</action>"},
]
TWO_TURNS = CHAT + [
    {"role": "user", "content": "Observation: the drawer is open"},
    {"role": "assistant", "content": "<action>look</action>"},
]


def with_template(tokenizer, template):
    tok = copy.deepcopy(tokenizer)
    tok.add_special_tokens({"additional_special_tokens": SPECIALS})
    tok.chat_template = template
    return tok


def split_text(tok, ids, mask):
    """(assistant text, rest) decoded, specials kept."""
    keep = tok.decode([t for t, m in zip(ids, mask) if m])
    rest = tok.decode([t for t, m in zip(ids, mask) if not m])
    return keep, rest


def masked(tokenizer, template, chat):
    """(tokenizer with ``template``, assistant text, rest) of ``chat``."""
    tok = with_template(tokenizer, template)
    return (tok, *split_text(tok, *assistant_tokens(tok, chat)))


def test_chatml_masks_each_answer_and_its_end_marker(micro_tokenizer):
    tok = with_template(micro_tokenizer, CHATML)
    assert not has_generation_markers(tok)
    ids, mask = assistant_tokens(tok, CHAT)
    assert tok.decode(ids) == ("<|im_start|>system\nYou are an agent.<|im_end|>\n<|im_start|>user\n"
                               "Task: open drawer 2<|im_end|>\n<|im_start|>assistant\n"
                               "<action>open drawer 2</action><|im_end|>\n")
    keep, rest = split_text(tok, ids, mask)
    assert keep == "<action>open drawer 2</action><|im_end|>\n"
    ids, mask = assistant_tokens(tok, TWO_TURNS)
    keep, _ = split_text(tok, ids, mask)
    assert keep == "<action>open drawer 2</action><|im_end|>\n<action>look</action><|im_end|>\n"
    # Exactly two spans: one per assistant message.
    starts = sum(1 for i in range(len(mask)) if mask[i] and (i == 0 or not mask[i - 1]))
    assert starts == 2


def test_qwen3_style_masks_the_think_block_of_the_last_turn(micro_tokenizer):
    tok, keep, rest = masked(micro_tokenizer, QWEN3, CHAT)
    assert keep == "<think>\n\n</think>\n\n<action>open drawer 2</action><|im_end|>\n"
    assert rest.endswith("<|im_start|>assistant\n")
    reasoning = CHAT[:2] + [{"role": "assistant", "content": "<think>\nthe drawer\n</think>\n\n<action>x</action>"}]
    ids, mask = assistant_tokens(tok, reasoning)
    assert split_text(tok, ids, mask)[0] == "<think>\nthe drawer\n</think>\n\n<action>x</action><|im_end|>\n"


def test_qwen3_style_earlier_turns_are_rejected_by_name(micro_tokenizer):
    tok = with_template(micro_tokenizer, QWEN3)
    with pytest.raises(TemplateError, match="message 2 .*renders this turn differently"):
        assistant_tokens(tok, TWO_TURNS)
    check_template(tok)  # prism-gym's own samples (one final answer) mask fine


def test_llama3_style(micro_tokenizer):
    tok, keep, rest = masked(micro_tokenizer, LLAMA3, TWO_TURNS)
    assert keep == "<action>open drawer 2</action><|eot_id|><action>look</action><|eot_id|>"
    assert rest.startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are an agent.")
    check_template(tok)


def test_the_project_template_uses_its_generation_markers(micro_tokenizer):
    assert has_generation_markers(micro_tokenizer)
    ids, mask = assistant_tokens(micro_tokenizer, TWO_TURNS)
    keep, _ = split_text(micro_tokenizer, ids, mask)
    assert keep == "<action>open drawer 2</action><|end|><action>look</action><|end|>"
    check_template(micro_tokenizer)


def test_unmaskable_templates_are_rejected(micro_tokenizer):
    with pytest.raises(TemplateError, match="message 2 .*generation prompt"):
        assistant_tokens(with_template(micro_tokenizer, MISMATCHED), CHAT)
    with pytest.raises(TemplateError, match="no chat template"):
        check_template(with_template(micro_tokenizer, None))
    with pytest.raises(TemplateError, match="no assistant message"):
        assistant_tokens(micro_tokenizer, CHAT[:2])


def test_sft_data_and_probe_use_the_same_mask(micro_tokenizer):
    from prism_gym.agents.prompts import trajectory_chats
    from prism_gym.probe import encode_trajectories
    from prism_gym.runner.sft import sft_dataset
    from test_probe import make_trajectories

    tok = with_template(micro_tokenizer, QWEN3)
    trajs = make_trajectories(3, seed=2)
    chats = [c for t in trajs for c in trajectory_chats(t)]
    data = sft_dataset(tok, chats, max_length=4096)
    corpus = encode_trajectories(tok, trajs)
    for row, chat in enumerate(chats):
        ids, mask = data[row]["input_ids"], data[row]["assistant_masks"]
        n = len(ids)
        assert corpus.input_ids[row, :n].tolist() == ids
        # The probe's targets are the same tokens (its first token never is one: nothing predicts it).
        assert corpus.targets[row, :n].tolist() == [bool(m) for m in mask]
        answer = chat[-1]["content"]
        assert split_text(tok, ids, mask)[0] == f"<think>\n\n</think>\n\n{answer}<|im_end|>\n"
