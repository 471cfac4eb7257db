"""A deterministic generator of WebShop-like products and instructions.

Product ``i`` of seed ``s`` depends only on ``(s, i)``, so a catalogue of N
products is a prefix of every larger one with the same seed, and any size
from a few products to millions can be generated in one streaming pass.
Products use the original's internal layout (``Title``, ``Description``,
``BulletPoints``, ``Attributes``, ``options``, ``Price``, ``pricing``,
``query``, ``product_category``, ``category`` ...) plus ``price``, the drawn
price the reward uses, so every other module treats generated and original
catalogues alike.

Each product also gets one instruction in one of the original's two styles:
human-like (free text, ``goal_options`` a list of values) or synthetic
(``... with color: x, and size: y``, ``goal_options`` a dict), both with the
original price-cap rule. Every generated goal is reachable: its attributes
are among the product's attributes, its options are values of the product's
option groups, and the cap is above the drawn price, so buying the target
with the goal's options scores 1.0.
"""
from __future__ import annotations

import functools
import random
from typing import Iterator

from prism_gym.envs.webshop import vocabulary as V
from prism_gym.envs.webshop.catalogue import product_price_tag
from prism_gym.envs.webshop.fuzz import token_set_ratio
from prism_gym.envs.webshop.goals import price_cap, synthetic_option_text
from prism_gym.envs.webshop.reward import FUZZY_THRESHOLD, normalize_color

GENERATOR_VERSION = 1
CATEGORY_NAMES = tuple(V.CATEGORIES)  # beauty, food, fashion, furniture, electronics
_ASIN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASIN_SPACE = 36 ** 8
_ASIN_MULTIPLIER = 2654435761  # coprime with 36, so index -> ASIN is a bijection


def make_asin(index: int, seed: int) -> str:
    """A unique 10-character ASIN (``B0`` + 8 base-36 digits) for product ``index``."""
    if not 0 <= index < _ASIN_SPACE:
        raise ValueError(f"product index {index} is out of range")
    n = (index * _ASIN_MULTIPLIER + seed * 7919 + 12345) % _ASIN_SPACE
    digits = []
    for _ in range(8):
        n, r = divmod(n, 36)
        digits.append(_ASIN_ALPHABET[r])
    return "B0" + "".join(reversed(digits))


def _brand(rng: random.Random) -> str:
    return "".join(rng.choice(V.BRAND_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _model_code(rng: random.Random) -> str:
    return "".join(rng.choice(_ASIN_ALPHABET) for _ in range(2)) + "-" + str(rng.randint(100, 9999))


@functools.lru_cache(maxsize=None)
def reachable_values(name: str, pool: tuple[str, ...]) -> tuple[str, ...]:
    """The values of ``pool`` that a synthetic goal ``(name, value)`` can match.

    The reward colour-normalises the bought value by substring
    (``camouflage`` -> ``camo``, ``rustic`` -> ``rust``) but a goal tuple only
    by equality, so such values could never satisfy a synthetic goal; the
    generator does not offer them."""
    return tuple(v for v in pool if token_set_ratio(normalize_color(v), (name, v)) > FUZZY_THRESHOLD)


def _options(rng: random.Random, groups) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    used: set[str] = set()
    for name, pool in groups:
        pool = reachable_values(name, pool)
        if rng.random() < 0.12:
            continue  # some products do not offer every option group
        values = [v for v in rng.sample(pool, min(len(pool), rng.randint(2, 5))) if v not in used]
        if len(values) >= 1:
            options[name] = values
            used.update(values)
    return options


def _pricing(rng: random.Random, lo: float, hi: float) -> tuple[list[float], float]:
    """(the listed prices, the drawn price)."""
    base = round(rng.uniform(lo, hi), 2)
    if rng.random() < 0.25:
        top = round(base * rng.uniform(1.1, 1.8), 2)
        return [base, top], rng.uniform(base, top)
    return [base], base


def generate_product(index: int, seed: int = 0) -> dict:
    """Product ``index`` of the catalogue with ``seed``, with its goal under ``"goal"``."""
    rng = random.Random(f"webshop-{GENERATOR_VERSION}-{seed}-{index}")
    category = CATEGORY_NAMES[rng.randrange(len(CATEGORY_NAMES))]
    root, attribute_pool, types = V.CATEGORIES[category]
    type_name, query, crumb_tail, groups, (lo, hi) = types[rng.randrange(len(types))]
    brand = _brand(rng)
    attributes = rng.sample(attribute_pool, rng.randint(3, 6))
    descriptor = rng.choice(V.DESCRIPTORS)
    title_attrs = " ".join(a.title() for a in attributes[:2])
    use = rng.choice(V.USES[category])
    title = f"{brand} {descriptor} {type_name} {title_attrs}, for {use.title()} - {_model_code(rng)}"
    description = rng.choice(V.DESCRIPTION_TEMPLATES).format(
        type=type_name.lower(), brand=brand, use=use, a1=attributes[0], a2=attributes[-1])
    bullets = []
    for attr in attributes[: rng.randint(3, len(attributes))]:
        bullets.append(rng.choice(V.BULLET_TEMPLATES).format(A=attr.capitalize(), A_up=attr.upper(),
                                                             detail=rng.choice(V.DETAILS)))
    options = _options(rng, groups)
    pricing, price = _pricing(rng, lo, hi)
    product = {
        "asin": make_asin(index, seed),
        "name": title,
        "Title": title,
        "query": query,
        "category": category,
        "product_category": f"{root} › {crumb_tail}",
        "Description": description,
        "BulletPoints": bullets,
        "Reviews": [],
        "Rating": "N.A.",
        "Attributes": attributes,
        "options": options,
        "pricing": pricing,
        "Price": product_price_tag(pricing),
        "price": price,
    }
    product["goal"] = _goal(rng, product, attributes, type_name)
    return product


def _goal(rng: random.Random, product: dict, attributes: list[str], type_name: str) -> dict:
    goal_attrs = rng.sample(attributes, rng.randint(1, min(3, len(attributes))))
    chosen = {name: rng.choice(values) for name, values in product["options"].items()}
    price_upper, price_text = price_cap(product["price"], rng)
    if rng.random() < 0.5:  # human-like style
        wanted = {k: v for k, v in chosen.items() if rng.random() < 0.85}
        phrases = []
        for name, value in wanted.items():
            phrases.append(f"{value} color" if name == "color" else f"size {value}" if name == "size"
                           else f"{value} {name}")
        attr_text = " and ".join(goal_attrs)
        noun = type_name.lower()
        article = "an" if noun[0] in "aeiou" else "a"
        text = f"{rng.choice(V.OPENERS_HUMAN)} {article} {noun} that is {attr_text}"
        if phrases:
            text += " with " + ", and ".join(phrases)
        goal_options: list[str] | dict[str, str] = list(wanted.values())
    else:  # synthetic style: every option group, names sorted
        wanted = {k: chosen[k] for k in sorted(chosen)}
        text = f"{rng.choice(V.OPENERS_SYNTHETIC)} {', '.join(goal_attrs)} {product['query']}"
        text += synthetic_option_text(wanted)
        goal_options = wanted
    return {
        "asin": product["asin"],
        "category": product["category"],
        "query": product["query"],
        "name": product["name"],
        "product_category": product["product_category"],
        "instruction_text": text + price_text,
        "attributes": goal_attrs,
        "price_upper": price_upper,
        "goal_options": goal_options,
    }


def is_pretrain_product(index: int) -> bool:
    """Every fifth product carries a goal of the ``pretrain`` pool instead."""
    return index % 5 == 4


def iter_products(n_products: int, seed: int = 0) -> Iterator[dict]:
    for i in range(n_products):
        yield generate_product(i, seed)
