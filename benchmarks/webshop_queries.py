"""What WebShop policies search for and buy: one row per run, from its
evaluation episodes (``RUN/eval/trajectories/test.jsonl``).

    python benchmarks/webshop_queries.py runs/tiny-track-adm/webshop-*

Columns: the mean number of words of the episode's first query, how many
episodes search with one word first, how many click a product and how many
end with ``buy now``, how many option clicks (size, colour, ...) all episodes
make, the mean score, and the most frequent first queries. The score of a
purchase rewards the product's type, attributes and price, and its options
only when they were selected; the query decides which products are on the
page, so how long and how well chosen it is shows in the score.
"""
from __future__ import annotations

import argparse
import re
import statistics
from collections import Counter
from pathlib import Path

from prism_gym.cli.show import trajectory_files
from prism_gym.records import Trajectory, read_trajectories

# Buttons of WebShop's pages (envs/webshop/engine.py); any other click on a
# product page selects an option.
BUTTONS = {"search", "back to search", "next >", "< prev", "description", "features", "reviews",
           "attributes", "buy now"}
CLICK = re.compile(r"^click\[(.*)\]$")
SEARCH = re.compile(r"^search\[(.*)\]$")
RESULTS_PAGE = re.compile(r"Page \d+ \(Total results: \d+\)")


def click_kind(action: str, observation: str) -> str | None:
    """"button", "product" (a result on a results page) or "option" (any other
    click on a product page); None if the action is not a click."""
    m = CLICK.match(action)
    if not m:
        return None
    if m.group(1).strip().lower() in BUTTONS:
        return "button"
    return "product" if RESULTS_PAGE.search(observation) else "option"


def summarise(episodes: list[Trajectory]) -> dict:
    words, one_word, product, bought, options = [], 0, 0, 0, 0
    first_queries: Counter[str] = Counter()
    for ep in episodes:
        queries = [m.group(1) for t in ep.turns if (m := SEARCH.match(t.action))]
        if queries:
            n = len(queries[0].split())
            words.append(n)
            one_word += n == 1
            first_queries[queries[0]] += 1
        kinds = [click_kind(t.action, t.observation) for t in ep.turns]
        product += "product" in kinds
        options += kinds.count("option")
        bought += any(t.action == "click[buy now]" for t in ep.turns)
    return {"episodes": len(episodes), "query_words": statistics.mean(words) if words else 0.0,
            "one_word": one_word, "product": product, "bought": bought, "options": options,
            "score": statistics.mean(ep.score for ep in episodes) if episodes else 0.0,
            "top": first_queries.most_common(2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (or trajectories files)")
    args = parser.parse_args(argv)
    print("| run | episodes | words in the first query | one-word first query | clicked a product | bought "
          "| option clicks | score | most frequent first queries |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for run in args.runs:
        try:
            (path,) = trajectory_files(run, None if run.is_file() else "test")
        except ValueError:  # a run still in progress has no evaluation episodes yet
            print(f"| {run.name} | no WebShop test episodes | | | | | | | |")
            continue
        s = summarise(read_trajectories(path))
        top = ", ".join(f"`search[{q}]` x{n}" for q, n in s["top"])
        print(f"| {run.name} | {s['episodes']} | {s['query_words']:.2f} | {s['one_word']} | {s['product']} | "
              f"{s['bought']} | {s['options']} | {s['score']:.1f} | {top} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
