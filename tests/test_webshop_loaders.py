"""Loaders for the original WebShop files, on small files in the original
format written by the tests."""
from __future__ import annotations

import json
import random

import pytest

from prism_gym.envs.webshop.engine import Session
from prism_gym.envs.webshop.expert import Expert
from prism_gym.envs.webshop.original import iter_json_array, parse_pricing, processed_human_instruction
from prism_gym.envs.webshop.site import get_site


def raw_product(asin, name, query="Console tables", pricing="$19.99", options=None, small=None, **kw):
    product = {
        "name": name, "asin": asin, "query": query, "category": "garden",
        "product_category": "Home & Kitchen › Furniture › Living Room Furniture › Tables",
        "pricing": pricing, "customization_options": options if options is not None else "",
        "full_description": f"{name}. Sturdy and simple.", "small_description": small or [f"{name} bullet", "more"],
        "images": ["https://img/1.jpg"], "average_rating": 4.5, "total_reviews": 10, "brand": "Acme",
        "product_information": {"x": 1}, "seller_id": "s", "list_price": "", "aplus_present": False,
    }
    product.update(kw)
    return product


PRODUCTS = [
    raw_product("B000000001", "Wooden Console Table with Drawers", pricing="$10.50 - $22.00",
                options={"Color": [{"value": "Blue", "image": None}, {"value": "Natural/Black", "image": None}],
                         "Size": [{"value": " 12 inch ", "image": None}], "Style": None}),
    raw_product("B000000002", "Glass Coffee Table", pricing="", small="One bullet as a string"),
    raw_product("nan", "Bad Asin"),
    raw_product("B0000000033333", "Too Long Asin"),
    raw_product("B000000001", "Duplicate Of The First"),
    raw_product("B000000004", "Metal Shoe Rack", query="  Shoe RACKS ", pricing="$877.80"),
    raw_product("B000000005", "Floor Lamp Bright", pricing="$45.00"),
]
ATTRIBUTES = {
    "B000000001": {"attributes": ["solid wood", "storage space"], "instruction": "Find me solid wood console tables",
                   "instruction_attributes": ["solid wood"]},
    "B000000002": {"attributes": ["tempered glass"]},
    "B000000004": {"attributes": ["metal frame"], "instruction": "Find me metal shoe racks",
                   "instruction_attributes": ["metal frame"]},
}
HUMAN = {
    "B000000001": [
        {"asin": "B000000001", "instruction": "i want a blue wooden console table with drawers.",
         "attributes": ["solid wood"], "options": ["color: blue"], "instruction_attributes": ["solid wood"],
         "instruction_options": ["blue"], "assignment_id": "a", "worker_id": "w"},
        {"asin": "B000000001", "instruction": "skipped: no attributes", "instruction_attributes": [],
         "instruction_options": [], "attributes": [], "options": [], "assignment_id": "b", "worker_id": "w"},
    ],
    "B000000005": [
        {"asin": "B000000005", "instruction": 'i need a "bright" floor lamp', "instruction_attributes": ["bright"],
         "instruction_options": [], "attributes": [], "options": [], "assignment_id": "c", "worker_id": "w"},
    ],
    "B000000099": [{"asin": "B000000099", "instruction": "not in the catalogue", "instruction_attributes": ["x"],
                    "instruction_options": []}],
}


@pytest.fixture()
def data_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "items_shuffle_1000.json").write_text(json.dumps(PRODUCTS, indent=1, ensure_ascii=False), encoding="utf-8")
    (d / "items_ins_v2_1000.json").write_text(json.dumps(ATTRIBUTES), encoding="utf-8")
    (d / "items_human_ins.json").write_text(json.dumps(HUMAN), encoding="utf-8")
    return d


def test_streaming_parser_handles_any_chunking(tmp_path):
    items = [{"a": "x]" * i, "b": [1, {"c": "},"}]} for i in range(30)]
    path = tmp_path / "list.json"
    path.write_text(" \n[ " + ",\n ".join(json.dumps(x) for x in items) + " ]\n", encoding="utf-8")
    for chunk in (1, 3, 7, 64, 1 << 20):
        assert list(iter_json_array(path, chunk_size=chunk)) == items
    (tmp_path / "empty.json").write_text("[]")
    assert list(iter_json_array(tmp_path / "empty.json")) == []
    (tmp_path / "cut.json").write_text('[{"a": 1}, {"b"')
    with pytest.raises(ValueError, match="not valid JSON"):
        list(iter_json_array(tmp_path / "cut.json", chunk_size=4))
    (tmp_path / "dict.json").write_text('{"a": 1}')
    with pytest.raises(ValueError, match="expected a JSON list"):
        list(iter_json_array(tmp_path / "dict.json"))


def test_parse_pricing():
    assert parse_pricing("$877.80") == [877.8]
    assert parse_pricing("$10.50 - $22.00") == [10.5, 22.0]
    assert parse_pricing("$1,299.00") == [1299.0]
    assert parse_pricing("") == [] and parse_pricing(None) == []
    assert parse_pricing("$1 $2 $3") == [1.0, 2.0]


def test_load_products_and_human_goals(data_dir, tmp_path):
    site = get_site(catalogue="original", data_dir=data_dir, goal_source="human", seed=7, cache_dir=tmp_path / "c")
    assert site.meta["n_products"] == 4 and site.meta["skipped_rows"] == 3
    rows = {site.products[i]["asin"]: site.products[i] for i in range(len(site.products))}
    first = rows["B000000001"]
    assert first["Title"] == "Wooden Console Table with Drawers" and first["name"] == first["Title"]
    assert first["options"] == {"color": ["blue", "natural | black"], "size": ["12 inch"]}
    assert first["pricing"] == [10.5, 22.0] and first["Price"] == "$10.5 to $22.0"
    assert 10.5 <= first["price"] <= 22.0
    assert first["Attributes"] == ["solid wood", "storage space"] and first["query"] == "console tables"
    assert first["BulletPoints"] == ["Wooden Console Table with Drawers bullet", "more"]
    assert "brand" not in first and "seller_id" not in first
    second = rows["B000000002"]
    assert second["Price"] == "$100.0" and second["price"] == 100.0 and second["BulletPoints"] == ["One bullet as a string"]
    assert rows["B000000004"]["query"] == "shoe racks" and rows["B000000004"]["Price"] == "$877.8"
    assert rows["B000000005"]["Attributes"] == ["DUMMY_ATTR"]
    # Two human goals (one annotation has no attributes; one asin is not loaded), in seed-233 order.
    assert len(site.goals) == 2
    unshuffled = ["i want a blue wooden console table with drawers", 'i need a "bright" floor lamp']
    random.Random(233).shuffle(unshuffled)
    texts = [site.goals[i]["instruction_text"] for i in range(2)]
    assert [t.split(", and price lower than")[0] for t in texts] == unshuffled
    lamp = next(site.goals[i] for i in range(2) if "lamp" in site.goals[i]["instruction_text"])
    # 45.0: thresholds above are 50, 60, 70, 80; the cap is the max of two of them.
    assert lamp["price_upper"] in (60.0, 70.0, 80.0)
    assert lamp["instruction_text"].endswith(f", and price lower than {lamp['price_upper']:.2f} dollars")
    assert lamp["goal_options"] == [] and lamp["weight"] == 1
    assert processed_human_instruction(lamp["instruction_text"]) == "i need a bright floor lamp"


def test_synthetic_goals_and_expert(data_dir, tmp_path):
    site = get_site(catalogue="original", data_dir=data_dir, goal_source="synthetic", cache_dir=tmp_path / "c")
    goals = [site.goals[i] for i in range(len(site.goals))]
    # Product 1: 2 colours x 1 size = 2 goals; the shoe rack (no options) 1 goal; no instruction: none.
    assert len(goals) == 3
    texts = sorted(g["instruction_text"] for g in goals)
    assert texts[0].startswith("Find me metal shoe racks")  # 877.8: thresholds 880-910 lie above, so a cap applies
    assert ("Find me solid wood console tables with color: blue, and size: 12 inch, and price lower than"
            in " ".join(texts))
    table_goals = [g for g in goals if g["asin"] == "B000000001"]
    assert {g["goal_options"]["color"] for g in table_goals} == {"blue", "natural | black"}
    weights = {g["asin"]: g["weight"] for g in goals}
    assert weights["B000000001"] == pytest.approx(0.5) and weights["B000000004"] == 1.0
    expert = Expert()
    for goal in goals:  # every target is findable in this small catalogue
        session = Session(site, goal)
        for _ in range(10):
            session.step(expert.next_action(session))
            if session.done:
                break
        assert session.done and session.site.products[session.product_row]["asin"] == goal["asin"]
        assert session.reward_info["r_price"] is True


def test_human_goals_json_order_check(data_dir, tmp_path):
    site = get_site(catalogue="original", data_dir=data_dir, seed=1, cache_dir=tmp_path / "c")
    listed = [processed_human_instruction(site.goals[i]["instruction_text"]) for i in range(len(site.goals))]
    (data_dir / "human_goals.json").write_text(json.dumps(listed))
    rebuilt = get_site(catalogue="original", data_dir=data_dir, seed=1, cache_dir=tmp_path / "c")
    assert rebuilt is not site  # a new file is a new fingerprint
    assert rebuilt.meta["human_goals_check"] == {"compared": 2, "mismatches": 0}


def test_num_products_slices_raw_list(data_dir, tmp_path):
    site = get_site(catalogue="original", data_dir=data_dir, num_products=2, cache_dir=tmp_path / "c")
    assert len(site.products) == 2 and len(site.goals) == 1


def test_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="needs data_dir"):
        get_site(catalogue="original", cache_dir=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no product file"):
        get_site(catalogue="original", data_dir=tmp_path / "empty", cache_dir=tmp_path)


def test_cache_root_expands_a_home_relative_setting(monkeypatch, tmp_path):
    from pathlib import Path

    from prism_gym.fileio import cache_root

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PRISM_GYM_CACHE", "~/pg-cache")
    assert cache_root() == tmp_path / "pg-cache"
    monkeypatch.delenv("PRISM_GYM_CACHE")
    assert cache_root() == Path(str(tmp_path)) / ".cache" / "prism-gym"
