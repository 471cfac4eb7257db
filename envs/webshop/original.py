"""Loaders for the original WebShop data files (user-provided, never bundled).

A data directory holds the files of the upstream setup script:

- ``items_shuffle.json`` (1,181,436 products, about 5.5 GB) or
  ``items_shuffle_1000.json``: a JSON list of scraped products. The full file
  is preferred when both are present.
- ``items_ins_v2.json`` / ``items_ins_v2_1000.json`` (the one matching the
  product file): asin -> ``{"attributes": [...], "instruction": ...,
  "instruction_attributes": [...]}``.
- ``items_human_ins.json``: asin -> human annotation records (human goals).
- ``human_goals.json`` (optional): processed human instructions in goal
  order; when present the build checks the goal order against it.

The product list is parsed as a stream, one product at a time, and written
straight to the on-disk table, so the raw JSON text and the parsed catalogue
never coexist in memory. Load-time processing follows the original exactly
(dropped rows, ``Title``/``Description``/``BulletPoints``, price parsing and
price tags, lowercased options with ``/`` -> `` | ``, ``Attributes`` or
``DUMMY_ATTR``, lowercased query). Prices of ranges are drawn from
``random.Random(seed)`` in product order and price caps from a second
generator seeded with ``f"{seed}-caps"`` in goal order (the original uses the
unseeded global RNG for both). Goals are then put in the original's order:
``random.seed(233); random.shuffle(goals)``.
"""
from __future__ import annotations

import json
import random
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterator

from prism_gym.envs.webshop.catalogue import TableWriter, product_price_tag
from prism_gym.envs.webshop.goals import option_combinations, price_cap, synthetic_option_text

PRODUCT_FILES = ("items_shuffle.json", "items_shuffle_1000.json")
GOAL_SOURCES = ("human", "synthetic")
_NON_PRICE = re.compile(r"[^\d.]")


def data_files(data_dir) -> dict[str, Path]:
    """The original files found in ``data_dir`` (a clear error when products are missing)."""
    if data_dir is None:
        raise ValueError("catalogue='original' needs data_dir, the folder with items_shuffle*.json")
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"WebShop data_dir {root} is not a directory")
    found: dict[str, Path] = {}
    for name in PRODUCT_FILES:
        if (root / name).exists():
            found["products"] = root / name
            break
    else:
        raise FileNotFoundError(f"no product file in {root}: expected one of {', '.join(PRODUCT_FILES)}")
    suffix = "_1000" if found["products"].name.endswith("_1000.json") else ""
    for key, name in (("attributes", f"items_ins_v2{suffix}.json"), ("human", "items_human_ins.json"),
                      ("human_goals", "human_goals.json")):
        if (root / name).exists():
            found[key] = root / name
    if "attributes" not in found:
        raise FileNotFoundError(f"no attribute file in {root}: expected items_ins_v2{suffix}.json")
    return found


def data_fingerprint(data_dir) -> list:
    """(name, size, mtime) of each file: a changed file means a rebuilt catalogue."""
    return [(key, str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns)
            for key, path in sorted(data_files(data_dir).items())]


def iter_json_array(path, chunk_size: int = 1 << 20) -> Iterator:
    """Yield the elements of a top-level JSON array without reading the whole file."""
    decoder = json.JSONDecoder()
    with open(path, encoding="utf-8") as fh:
        buffer, pos = fh.read(chunk_size), 0
        eof = False

        def fill():
            nonlocal buffer, pos, eof
            more = fh.read(chunk_size)
            eof = not more
            buffer, pos = buffer[pos:] + more, 0

        def skip_space():
            nonlocal pos
            while True:
                while pos < len(buffer) and buffer[pos] in " \t\r\n":
                    pos += 1
                if pos < len(buffer) or eof:
                    return
                fill()

        skip_space()
        if pos >= len(buffer) or buffer[pos] != "[":
            raise ValueError(f"{path}: expected a JSON list of products")
        pos += 1
        skip_space()
        if pos < len(buffer) and buffer[pos] == "]":
            return
        while True:
            skip_space()
            while True:
                try:
                    item, end = decoder.raw_decode(buffer, pos)
                    break
                except json.JSONDecodeError as exc:
                    if eof:
                        raise ValueError(f"{path}: not valid JSON near character {exc.pos}: {exc.msg}") from None
                    fill()
            pos = end
            yield item
            skip_space()
            if pos >= len(buffer):
                raise ValueError(f"{path}: the JSON list is not closed (file cut off?)")
            if buffer[pos] == ",":
                pos += 1
            elif buffer[pos] == "]":
                return
            else:
                raise ValueError(f"{path}: expected ',' or ']' between products")


def parse_pricing(pricing) -> list[float]:
    """``"$10.50 - $22.00"`` -> ``[10.5, 22.0]`` (at most two values); empty -> ``[]``."""
    if not pricing:
        return []
    values = []
    for piece in str(pricing).split("$")[1:]:
        digits = _NON_PRICE.sub("", piece)
        try:
            values.append(float(Decimal(digits)))
        except InvalidOperation:
            continue  # a piece without a number
    return values[:2]


def draw_price(pricing: list[float], rng: random.Random) -> float:
    if not pricing:
        return 100.0
    if len(pricing) == 1:
        return pricing[0]
    return rng.uniform(*pricing[:2])


def process_product(raw: dict, attributes: dict) -> dict:
    """One raw product -> the original's processed layout (without the drawn price)."""
    asin = raw["asin"]
    small = raw.get("small_description", "")
    pricing = parse_pricing(raw.get("pricing"))
    options: dict[str, list[str]] = {}
    custom = raw.get("customization_options")
    if custom:
        for name, contents in custom.items():
            if contents is None:
                continue
            options[name.lower()] = [c["value"].strip().replace("/", " | ").lower() for c in contents]
    entry = attributes.get(asin) or {}
    images = raw.get("images") or [None]
    return {
        "asin": asin,
        "name": raw["name"],
        "Title": raw["name"],
        "query": str(raw.get("query", "")).lower().strip(),
        "category": raw.get("category", ""),
        "product_category": raw.get("product_category", ""),
        "Description": raw.get("full_description") or "",
        "BulletPoints": small if isinstance(small, list) else [small],
        "Reviews": [],
        "Rating": "N.A.",
        "Attributes": entry["attributes"] if "attributes" in entry else ["DUMMY_ATTR"],
        "options": options,
        "pricing": pricing or [100.0],
        "Price": product_price_tag(pricing),
        "MainImage": images[0],
    }


def human_goals(product: dict, records: list, cap_rng: random.Random) -> list[dict]:
    goals = []
    for record in records:
        attrs = record.get("instruction_attributes") or []
        if not attrs:
            continue  # the original skips annotations without attributes
        upper, price_text = price_cap(product["price"], cap_rng)
        goals.append(_goal(product, record["instruction"].strip(".") + price_text, attrs, upper,
                           list(record.get("instruction_options") or [])))
    return goals


def synthetic_goals(product: dict, entry: dict, cap_rng: random.Random) -> list[dict]:
    if not entry.get("instruction"):
        return []
    attrs = entry.get("instruction_attributes") or []
    if not attrs:
        return []
    upper, price_text = price_cap(product["price"], cap_rng)  # once per product
    return [_goal(product, f"{entry['instruction']}{synthetic_option_text(combo)}{price_text}", attrs, upper, combo)
            for combo in option_combinations(product["options"])]


def _goal(product, text, attrs, upper, goal_options) -> dict:
    return {"asin": product["asin"], "category": product["category"], "query": product["query"],
            "name": product["Title"], "product_category": product["product_category"], "instruction_text": text,
            "attributes": list(attrs), "price_upper": upper, "goal_options": goal_options}


def processed_human_instruction(text: str) -> str:
    """The form ``human_goals.json`` lists: lowercase, quotes removed, price suffix cut."""
    text = text.split(", and price lower than")[0]
    return text.lower().replace('"', "").replace("'", "")


def build_original(data_dir, goal_source: str = "human", num_products: int | None = None, seed: int = 0):
    """A builder for :func:`prism_gym.envs.webshop.catalogue.build_once`."""
    if goal_source not in GOAL_SOURCES:
        raise ValueError(f"goal_source must be one of {', '.join(GOAL_SOURCES)}, not {goal_source!r}")
    if num_products is not None and int(num_products) < 1:
        raise ValueError(f"num_products must be at least 1, not {num_products}")
    files = data_files(data_dir)
    if goal_source == "human" and "human" not in files:
        raise FileNotFoundError(f"goal_source='human' needs items_human_ins.json in {data_dir}")

    def build(tmp: Path) -> dict:
        from prism_gym.envs.webshop.search import build_index, product_document
        from prism_gym.envs.webshop.site import write_shuffled_goals
        from prism_gym.envs.webshop.catalogue import Table
        from prism_gym.fileio import read_json

        attributes = read_json(files["attributes"])
        human = read_json(files["human"]) if goal_source == "human" else {}
        price_rng, cap_rng = random.Random(seed), random.Random(f"{seed}-caps")
        products = TableWriter(tmp / "products.jsonl")
        goals = TableWriter(tmp / "goals.unordered.jsonl")
        seen: set[str] = set()
        skipped = 0
        for i, raw in enumerate(iter_json_array(files["products"])):
            if num_products is not None and i >= int(num_products):
                break  # the original slices the raw list before processing
            asin = raw.get("asin")
            if not isinstance(asin, str) or asin == "nan" or len(asin) > 10 or asin in seen:
                skipped += 1
                continue
            seen.add(asin)
            product = process_product(raw, attributes)
            product["price"] = draw_price(parse_pricing(raw.get("pricing")), price_rng)
            row = products.append(product)
            made = (human_goals(product, human.get(asin, []), cap_rng) if goal_source == "human"
                    else synthetic_goals(product, attributes.get(asin) or {}, cap_rng))
            for goal in made:
                goal["product_row"] = row
                goals.append(goal)
        products.close()
        goals.close()
        del attributes, human, seen
        write_shuffled_goals(tmp)
        meta = {"kind": "original", "goal_source": goal_source, "seed": seed, "num_products": num_products,
                "n_products": len(products), "skipped_rows": skipped,
                "files": {k: str(v) for k, v in files.items()}}
        goal_table = Table(tmp / "goals.jsonl", cache_size=1)
        meta["n_goals"] = len(goal_table)
        if goal_source == "human" and "human_goals" in files:
            listed = read_json(files["human_goals"])
            ours = [processed_human_instruction(g["instruction_text"]) for g in goal_table]
            n = min(len(listed), len(ours))
            meta["human_goals_check"] = {"compared": n, "mismatches": sum(a != b for a, b in zip(ours, listed))}
        meta["index"] = build_index((product_document(p) for p in Table(tmp / "products.jsonl", cache_size=1)),
                                    tmp / "index")
        return meta

    return build
