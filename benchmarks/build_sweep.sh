#!/usr/bin/env bash
# Default-model recipe sweep: builds each variant of the recipe (learning rate x
# copy_share, after a copy warm-up of WARMUP steps) into the cache and prints
# its copy test from build.json, the check that a base model copies from its
# context (docs/agents.md, "Why it does not copy"). One prepared command for a
# GPU machine:
#
#   DEVICE=cuda STEPS=4000 bash benchmarks/build_sweep.sh
#   DEVICE=cpu STEPS=20 WALKS=16 RATES=3e-4 WARMUP=20 bash benchmarks/build_sweep.sh   # reduced check on a CPU
#
# A finished variant is not rebuilt (the cache is keyed by its settings), and
# an interrupted one resumes, so the sweep picks up where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

DEVICE=${DEVICE:-cuda}
STEPS=${STEPS:-4000}
BATCH=${BATCH:-32}
SEQ=${SEQ:-512}
WALKS=${WALKS:-960}
RATES=${RATES:-"3e-4 1e-3"}
SHARES=${SHARES:-"0 0.2"}
WARMUP=${WARMUP:-3500}  # copy_warmup_steps (0: none)

for lr in $RATES; do
  for share in $SHARES; do
    sets=(--set "learning_rate=$lr" --set "copy_share=$share" --set "batch_size=$BATCH" --set "seq_len=$SEQ"
          --set "train_steps=$STEPS" --set "warmup_steps=100" --set "walk_episodes=$WALKS"
          --set "copy_warmup_steps=$WARMUP")
    prism-gym model build --device "$DEVICE" "${sets[@]}" > /dev/null
    python - "$lr" "$share" "${sets[@]}" <<'PY'
import json
import sys

from prism_gym.agents.default_model import model_dir
from prism_gym.cli.model import build_settings

lr, share, sets = sys.argv[1], sys.argv[2], sys.argv[4::2]
path = model_dir(build_settings(0, sets))
info = json.loads((path / "build.json").read_text())
copy = info["copy_test"]
print(f"lr {lr:>6} copy_share {share:>4}: copy test {copy['first']:.2f} -> {copy['repeat']:.2f} nats, "
      f"final loss {info['final_loss']:.3f}, {info['trained_tokens'] / 1e6:.1f} M tokens, "
      f"{info['build_seconds']:.0f} s on {info['device']}  {path}")
PY
  done
done
