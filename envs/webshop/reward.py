"""The original WebShop reward, as a pure function.

Inputs use the original's internal dict layout:

- ``goal``: ``query``, ``product_category``, ``name`` (the target's title),
  ``attributes`` (list of str), ``goal_options`` (a list of option values for
  human goals, a dict ``name -> value`` for synthetic goals), ``price_upper``.
- ``product``: the processed product, ``query``, ``product_category``,
  ``name``, ``Title``, ``BulletPoints`` (list of str), ``Description``,
  ``Attributes`` (list of str).
- ``options``: the selected options, ``{option name: value}``.
- ``price``: the product's drawn (hidden) price.

::

    R = r_type * (n_attr_matched + n_opt_matched + r_price) / (|attributes| + |goal_options| + 1)

Success is ``R == 1.0``; a run's score is the mean ``R`` times 100.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from prism_gym.envs.webshop.fuzz import token_set_ratio
from prism_gym.envs.webshop.pos import get_noun_extractor

FUZZY_THRESHOLD = 85  # a match needs token_set_ratio(...) > 85

# The original's colour normalisation list, in its order: the first entry that is
# a substring of an option value replaces it ("natural black" -> "black").
COLOR_SET = (
    "alabaster", "apricot", "aqua", "ash", "asphalt", "azure", "banana", "beige", "black", "blue", "blush",
    "bordeaux", "bronze", "brown", "burgundy", "camel", "camo", "caramel", "champagne", "charcoal", "cheetah",
    "chestnut", "chocolate", "christmas", "coffee", "cognac", "copper", "coral", "cranberry", "cream", "crystal",
    "dark", "denim", "eggplant", "elephant", "espresso", "fuchsia", "gold", "granite", "grape", "graphite",
    "grass", "gray", "green", "grey", "heather", "indigo", "ivory", "ivy", "khaki", "lavender", "lemon",
    "leopard", "light", "lilac", "lime", "magenta", "maroon", "mauve", "merlot", "midnight", "mint", "mocha",
    "multicolor", "mushroom", "mustard", "natural", "navy", "nude", "olive", "orange", "peach", "pewter", "pink",
    "plum", "purple", "rainbow", "red", "rose", "royal", "rust", "sand", "sapphire", "seashell", "silver",
    "skull", "slate", "steel", "stone", "stonewash", "sunflower", "tan", "taupe", "teal", "tiger", "turquoise",
    "violet", "walnut", "wheat", "white", "wine", "yellow",
)

NounExtractor = Callable[[str], list]


def normalize_color(value: Any) -> Any:
    """The first COLOR_SET word contained in ``value``, else ``value`` unchanged.

    ``in`` is a substring test on strings and an equality test on the
    ``(name, value)`` tuples of synthetic goals, exactly as in the original."""
    for color in COLOR_SET:
        if color in value:
            return color
    return value


def get_type_reward(product: dict, goal: dict, nouns: NounExtractor | None = None) -> dict:
    """``r_type`` in {0, 0.1, 0.5, 1} and its inputs."""
    nouns = nouns or get_noun_extractor()
    query_match = product["query"] == goal["query"]
    product_parts = {x.strip() for x in product["product_category"].split("›")}
    goal_parts = {x.strip() for x in goal["product_category"].split("›")}
    category_match = len(product_parts & goal_parts) >= 2
    product_nouns = nouns(product["name"])
    goal_nouns = nouns(goal["name"])
    if not goal_nouns:
        title_score = 0.2
    else:
        # The denominator counts duplicates, as in the original.
        title_score = len(set(product_nouns) & set(goal_nouns)) / len(goal_nouns)
    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return {"r_type": r_type, "query_match": query_match, "category_match": category_match,
            "title_score": title_score}


def get_attribute_reward(product: dict, goal: dict) -> tuple[float | None, int]:
    """(fraction of goal attributes matched, number matched)."""
    goal_attrs = goal["attributes"]
    title = product["Title"].lower()
    bullets = " ".join(product["BulletPoints"]).lower()
    description = product["Description"].lower()
    matched = 0
    for g_attr in goal_attrs:
        if any(token_set_ratio(p_attr, g_attr) > FUZZY_THRESHOLD for p_attr in product["Attributes"]):
            matched += 1
        elif g_attr in title or g_attr in bullets or g_attr in description:
            matched += 1
    # The original divides unguarded; goals always carry attributes there.
    return (matched / len(goal_attrs) if goal_attrs else None), matched


def get_option_reward(purchased_options: Iterable, goal_options: Iterable) -> tuple[float | None, int]:
    """(fraction of goal options matched, number matched); each goal option counts once."""
    purchased = [normalize_color(o) for o in purchased_options]
    wanted = [normalize_color(o) for o in goal_options]
    matched = 0
    for g_option in wanted:
        if any(token_set_ratio(p_option, g_option) > FUZZY_THRESHOLD for p_option in purchased):
            matched += 1
    return (matched / len(wanted) if wanted else None), matched


def get_reward(goal: dict, product: dict, options: dict, price: float, verbose: bool = False,
               nouns: NounExtractor | None = None):
    """The reward of buying ``product`` with ``options`` at ``price`` for ``goal``.

    Returns ``R``; with ``verbose=True`` returns ``(R, info)`` where ``info``
    holds ``r_type``, ``query_match``, ``category_match``, ``title_score``,
    ``r_att``, ``w_att``, ``r_option`` and ``w_option`` (when the goal has
    options), ``r_price``, ``w_price`` and the counts ``num_attr_matches``,
    ``num_option_matches``. ``nouns`` overrides the noun extractor."""
    type_info = get_type_reward(product, goal, nouns)
    price_upper = goal["price_upper"]
    r_price = (price <= price_upper) if price_upper > 0 else None
    r_att, n_att = get_attribute_reward(product, goal)
    goal_options = goal["goal_options"]
    goal_option_items = list(goal_options.items()) if isinstance(goal_options, dict) else list(goal_options)
    r_option, n_opt = get_option_reward(list(options.values()), goal_option_items)
    denominator = len(goal["attributes"]) + len(goal_options) + 1
    total = (n_att + n_opt + (r_price or 0)) / denominator * type_info["r_type"]
    if not verbose:
        return total
    info = {
        "r_type": type_info["r_type"], "r_att": r_att, "w_att": len(goal["attributes"]) / denominator,
        "query_match": type_info["query_match"], "category_match": type_info["category_match"],
        "title_score": type_info["title_score"], "num_attr_matches": n_att, "num_option_matches": n_opt,
    }
    if r_option is not None:
        info["r_option"] = r_option
        info["w_option"] = len(goal_options) / denominator
    if r_price is not None:
        info["r_price"] = r_price
        info["w_price"] = 1 / denominator
    return total, info
