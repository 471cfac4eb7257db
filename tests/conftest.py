"""Shared fixtures. Models in tests are micro models built from a config in
well under a second; no test waits for the default model."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_CORPUS = [
    "You arrive at cabinet 1. The cabinet 1 is closed. go to countertop 1 open drawer 2 take apple 1 from "
    "countertop 1 move apple 1 to fridge 1 heat cool clean slice examine look inventory help Nothing happens.",
    "search[red cotton shirt size large] click[buy now] click[< prev] click[next >] click[back to search] "
    "Instruction: i need a pair of shoes, and price lower than 50.00 dollars [SEP] Description Features Reviews",
    "<action>go to drawer 1</action> Task: put a clean apple in fridge. Observation: Admissible actions:",
]


@pytest.fixture(scope="session")
def micro_tokenizer():
    from prism_gym.agents.tokenizer import train_tokenizer

    return train_tokenizer(_CORPUS * 4, vocab_size=400)


@pytest.fixture()
def micro_lm(micro_tokenizer):
    """``(model, tokenizer)``: a fresh 2-layer Llama on the micro tokenizer."""
    from prism_gym.models import micro_model

    return micro_model(micro_tokenizer), micro_tokenizer


# A saved micro model directory, for the runs that load their model by path.
@pytest.fixture(scope="module")
def micro_dir(tmp_path_factory, micro_tokenizer):
    from prism_gym.models import micro_model

    path = tmp_path_factory.mktemp("micro")
    micro_model(micro_tokenizer, hidden_size=32, layers=2).save_pretrained(path)
    micro_tokenizer.save_pretrained(path)
    return path
