"""WebShop site engine: exact page texts, transitions, clickables, parsing."""
from __future__ import annotations

import json

import pytest

from prism_gym.envs.webshop.engine import Session, parse_action

INSTR = "i need a blue console table, and price lower than 60.00 dollars"


def _product(asin, title, options=None, price_tag="$19.99", price=19.99, description="A table.",
             bullets=("Solid wood", "Easy assemble")):
    return {"asin": asin, "name": title, "Title": title, "Price": price_tag, "price": price,
            "options": options or {}, "Description": description, "BulletPoints": list(bullets),
            "Attributes": ["solid wood"], "query": "console tables", "Rating": "N.A.",
            "product_category": "Home & Kitchen › Furniture › Tables", "category": "furniture"}


class FakeSite:
    """Just what a Session reads: ``products[row]`` and ``search(query)``."""

    def __init__(self, products, hits):
        self.products, self.hits, self.queries = products, hits, []

    def search(self, query):
        self.queries.append(query)
        return list(self.hits)


@pytest.fixture()
def site():
    products = [_product(f"B00000000{i}", f"Product {i}") for i in range(12)]
    products[0] = _product("B09QKP7XQL", "Rustic Console Table", price_tag="$10.5 to $22.0", price=15.0,
                           options={"color": ["blue", "natural black"], "size": ["12 inch (pack of 1)", "14 inch"]})
    return FakeSite(products, hits=list(range(12)))


def _goal(**kw):
    goal = {"instruction_text": INSTR, "asin": "B09QKP7XQL", "query": "console tables",
            "product_category": "Home & Kitchen › Furniture › Tables", "name": "Rustic Console Table",
            "attributes": ["solid wood"], "goal_options": ["blue"], "price_upper": 60.0, "product_row": 0,
            "category": "furniture"}
    goal.update(kw)
    return goal


def test_search_page_text_and_actions(site):
    s = Session(site, _goal())
    assert s.observation == f"WebShop [SEP] Instruction: [SEP] {INSTR} [SEP] Search"
    assert s.available_actions() == {"has_search_bar": True, "clickables": ["search"]}


def test_results_pages_and_pagination(site):
    s = Session(site, _goal())
    assert s.step("search[Console Table]")
    assert site.queries == ["console table"]  # the argument is lowercased
    assert s.observation.startswith(
        f"Instruction: [SEP] {INSTR} [SEP] Back to Search [SEP] Page 1 (Total results: 12) [SEP] Next > [SEP] "
        "B09QKP7XQL [SEP] Rustic Console Table [SEP] $10.5 to $22.0 [SEP] B000000001 [SEP] Product 1 [SEP] $19.99")
    assert s.observation.count("[SEP] B0000") == 9  # 10 per page
    acts = s.available_actions()
    assert acts["has_search_bar"] is False
    assert acts["clickables"][:3] == ["back to search", "next >", "b09qkp7xql"]
    assert s.step("click[Next >]")
    assert "Page 2 (Total results: 12) [SEP] < Prev [SEP] Next > [SEP] B0000000010 [SEP] Product 10" in s.observation
    assert s.available_actions()["clickables"][:3] == ["back to search", "< prev", "next >"]
    assert s.step("click[next >]")  # Next > also on the last page: leads to an empty page
    assert s.observation == (f"Instruction: [SEP] {INSTR} [SEP] Back to Search [SEP] "
                             "Page 3 (Total results: 12) [SEP] < Prev [SEP] Next >")
    assert s.step("click[< prev]") and s.step("click[< prev]")
    assert s.page_no == 1 and not s.step("click[< prev]")  # no < Prev on page 1


def test_item_page_options_subpages_and_back(site):
    s = Session(site, _goal())
    s.step("search[table]")
    assert s.step("click[b09qkp7xql]")
    assert s.observation == (
        f"Instruction: [SEP] {INSTR} [SEP] Back to Search [SEP] < Prev [SEP] color [SEP] blue [SEP] natural black "
        "[SEP] size [SEP] 12 inch (pack of 1) [SEP] 14 inch [SEP] Rustic Console Table [SEP] Price: $10.5 to $22.0 "
        "[SEP] Rating: N.A. [SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now")
    assert s.available_actions()["clickables"] == [
        "back to search", "< prev", "description", "features", "reviews", "buy now",
        "blue", "natural black", "12 inch (pack of 1)", "14 inch"]
    assert s.step("click[natural black]") and s.step("click[blue]")  # a later click overrides
    assert s.options == {"color": "blue"}
    assert s.step("click[description]")
    assert s.observation == f"Instruction: [SEP] {INSTR} [SEP] Back to Search [SEP] < Prev [SEP] A table."
    assert s.available_actions()["clickables"] == ["back to search", "< prev"]
    assert s.step("click[< prev]") and s.options == {"color": "blue"}  # sub-page -> item: options kept
    assert s.step("click[features]")
    assert s.observation.endswith("< Prev [SEP] Solid wood [SEP] Easy assemble")
    s.step("click[< prev]")
    assert s.step("click[reviews]")
    assert s.observation == f"Instruction: [SEP] {INSTR} [SEP] Back to Search [SEP] < Prev"
    s.step("click[< prev]")
    assert s.step("click[< prev]")  # item -> results: options and product cleared
    assert s.page == "results" and s.options == {} and s.product_row is None
    assert s.step("click[back to search]")
    assert s.page == "search" and s.keywords == [] and s.visited == set()


def test_done_page_text_and_reward(site):
    s = Session(site, _goal(), show_attrs=True)
    s.step("search[table]")
    s.step("click[b09qkp7xql]")
    assert "Reviews [SEP] Attributes [SEP] Buy Now" in s.observation
    s.step("click[blue]")
    assert s.step("click[buy now]")
    assert s.done and s.available_actions() == {"has_search_bar": False, "clickables": []}
    assert s.observation == (
        "Thank you for shopping with us! [SEP] Your code: [SEP] None [SEP] (Paste it in your MTurk interface.) "
        '[SEP] Purchased [SEP] asin [SEP] B09QKP7XQL [SEP] options [SEP] {"color": "blue"} [SEP] attrs [SEP] None '
        "[SEP] category [SEP] None [SEP] query [SEP] None [SEP] product category [SEP] None [SEP] Target [SEP] asin "
        "[SEP] options [SEP] attrs [SEP] price upper [SEP] instuction text [SEP] category [SEP] product category "
        "[SEP] query [SEP] Goal [SEP] None [SEP] Reward [SEP] Your score (min 0.0, max 1.0) [SEP] "
        f"{s.reward!r} [SEP] Reward Details [SEP] None")
    assert s.reward == 1.0
    assert s.step("search[again]")  # search works from every page, even the done page


def test_done_page_reward_repr_and_empty_options(site):
    s = Session(site, _goal(goal_options=["blue", "14 inch"]))
    s.step("search[table]"), s.step("click[b09qkp7xql]"), s.step("click[buy now]")
    # (1 attr + 0 options + price) / (1 + 2 + 1) with r_type 1
    assert s.reward == 0.5 and "options [SEP] {} [SEP]" in s.observation and s.observation.count("0.5") == 1


def test_shared_option_value_last_name_wins():
    product = _product("B000000ZZZ", "Shoe", options={"color": ["black", "white"], "lace color": ["black"]})
    s = Session(FakeSite([product], [0]), _goal(product_row=0))
    s.step("search[shoe]"), s.step("click[b000000zzz]")
    assert s.available_actions()["clickables"][-2:] == ["black", "white"]
    s.step("click[black]")
    assert s.options == {"lace color": "black"}


def test_empty_description_adds_no_segment():
    product = _product("B000000ZZZ", "Shoe", description="")
    s = Session(FakeSite([product], [0]), _goal(product_row=0))
    s.step("search[shoe]"), s.step("click[b000000zzz]"), s.step("click[description]")
    assert s.observation == f"Instruction: [SEP] {INSTR} [SEP] Back to Search [SEP] < Prev"


@pytest.mark.parametrize("action, parsed", [
    ("search[red shoes]", ("search", "red shoes")),
    ("click[Buy Now]", ("click", "buy now")),
    ("click[buy now] trailing", ("click", "buy now")),
    ("search[]", ("search[]", None)),
    ("click[a][b]", ("click[a]", "b")),
    ("noaction", ("noaction", None)),
])
def test_parse_action(action, parsed):
    assert parse_action(action) == parsed


@pytest.mark.parametrize("action", ["search[]", "click[search]", "click[nothing]", "Search[x]", "click[a][b]",
                                    "", "buy now", "click[< prev]"])
def test_invalid_actions_are_noops(site, action):
    s = Session(site, _goal())
    before = (s.observation, s.page, dict(s.clickables))
    assert s.step(action) is False
    assert (s.observation, s.page, dict(s.clickables)) == before


def test_done_json_uses_standard_separators(site):
    s = Session(site, _goal())
    s.step("search[t]"), s.step("click[b09qkp7xql]"), s.step("click[14 inch]"), s.step("click[blue]")
    s.step("click[buy now]")
    assert json.dumps({"size": "14 inch", "color": "blue"}) in s.observation
