#!/usr/bin/env bash
# The leaderboard's tiny track: every method on both envs, 3 seeds, the tiny
# preset (128 evaluation episodes per split). Resumable and incremental: a
# finished cell is skipped; each cell that finishes has its result.json copied
# to leaderboard/runs/, is submitted as a leaderboard entry, the leaderboard is
# rendered, and the three are committed (those paths only), so a run that is
# stopped (a session's end) loses at most the cell in progress.
#
#   bash benchmarks/tiny_track.sh                 # the whole matrix
#   METHODS="prism random" ENVS=webshop SEEDS="0" bash benchmarks/tiny_track.sh
#   EXTRA="--set rl.algorithm=gigpo" METHODS="prism random" bash benchmarks/tiny_track.sh
#
# The algorithm is part of a run's id (alfworld-prism-gigpo-tiny-s0), so GiGPO
# cells sit next to the GRPO ones.
#
# A matrix spread over several sessions should run one code version throughout
# (leaderboard rows group by it): install the commit it started from in an
# environment of its own and name that environment's commands in BENCH and
# BENCH_PYTHON. Submitting and rendering use the checkout's own `prism-gym`, so
# every commit's rendered leaderboard is the one this checkout's code renders.
#   BENCH=/path/env/bin/prism-gym BENCH_PYTHON=/path/env/bin/python bash benchmarks/tiny_track.sh
set -euo pipefail
cd "$(dirname "$0")/.."

METHODS=${METHODS:-"prism random difficulty rl-only sft-then-rl sft-only"}
ENVS=${ENVS:-"alfworld webshop"}
SEEDS=${SEEDS:-"0 1 2"}
RUNS=${RUNS:-runs/tiny-track}
EXTRA=${EXTRA:-}
TAG=${TAG:-}
COMMIT=${COMMIT:-1}
BENCH=${BENCH:-prism-gym}
BENCH_PYTHON=${BENCH_PYTHON:-python}

# Fail before the first cell, not after it: both commands must run (an editable
# install that points elsewhere leaves `prism-gym` unable to import).
"$BENCH" --help >/dev/null || { echo "BENCH=$BENCH does not run" >&2; exit 1; }
prism-gym --help >/dev/null || { echo "this checkout's prism-gym does not run (submitting needs it)" >&2; exit 1; }

for env in $ENVS; do
  for seed in $SEEDS; do
    for method in $METHODS; do
      root="$RUNS${TAG:+-$TAG}"
      # shellcheck disable=SC2086
      id=$("$BENCH" bench --router "$method" --env "$env" --seed "$seed" $EXTRA --validate-only \
           | "$BENCH_PYTHON" -c "import json,sys; from prism_gym.runner.presets import RunConfig; print(RunConfig.from_dict(json.load(sys.stdin)[0]).run_id())")
      run_dir="$root/$id"
      board="leaderboard/runs/${TAG:+$TAG-}$id"
      # Done means submitted: the result copied to the board and an entry that names it.
      if [[ -f "$board/result.json" ]] && grep -qF "\"run_dir\": \"$board\"" leaderboard/entries/*.json; then
        echo "done: $board"
        continue
      fi
      echo "== $env $method seed $seed -> $run_dir"
      # shellcheck disable=SC2086
      "$BENCH" bench --router "$method" --env "$env" --seed "$seed" $EXTRA --run-dir "$run_dir" --resume --quiet
      # A cell whose bench finished but whose submission did not resumes here at once.
      mkdir -p "$board"
      cp "$run_dir/result.json" "$board/result.json"
      cp "$run_dir/curves.png" "$run_dir/curves.json" "$board/" 2>/dev/null || true
      prism-gym leaderboard submit "$board"
      prism-gym leaderboard render
      if [[ "$COMMIT" == 1 ]]; then
        rendered=(leaderboard/README.md leaderboard/index.html leaderboard/pareto.png)
        # Another commit in this checkout may hold the index lock for a moment: retry, never lose the cell.
        for attempt in 1 2 3 4 5 6; do
          if git add "$board" leaderboard/entries "${rendered[@]}" &&
             git commit -q -m "Tiny track: $id${TAG:+ ($TAG)}" -- "$board" leaderboard/entries "${rendered[@]}"; then
            break
          fi
          [[ $attempt == 6 ]] && { echo "could not commit $id; its files are in $board" >&2; exit 1; }
          sleep 10
        done
      fi
    done
  done
done
