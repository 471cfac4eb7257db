"""Noun extraction for the type reward.

The original keeps the tokens of a product title whose spaCy part-of-speech is
``NOUN`` or ``PROPN`` (it also lists ``PNOUN``, which is not a spaCy tag).
Two backends:

- :class:`SpacyNouns`: spaCy with an installed model (``en_core_web_sm`` by
  default, the upstream choice since May 2024; ``en_core_web_lg`` before).
- :class:`LexiconNouns`: a deterministic tagger that ships with the package and
  needs no download. It tokenises like spaCy on titles (whitespace, then
  punctuation split off) and calls a token a noun unless it is a number, a
  function word, or a known adjective / verb / colour / size word, or has an
  adjective or adverb suffix. It is an approximation: titles where spaCy tags
  a word differently (for example a colour used as a noun, or a participle
  used as a noun) can give a different ``title_score``, which moves the
  reward only through the four values of ``r_type``.

:func:`get_noun_extractor` picks spaCy when a model loads, else the lexicon
tagger; ``PRISM_GYM_WEBSHOP_POS=lexicon|spacy`` forces a backend.
"""
from __future__ import annotations

import functools
import os
import re
from typing import Callable, Protocol

POS_NOUN_TAGS = ("PNOUN", "NOUN", "PROPN")  # as in the original (PNOUN never occurs)


class NounExtractor(Protocol):
    name: str

    def __call__(self, text: str) -> list[str]:
        """The lowercased noun tokens of ``text``, in order, duplicates kept."""


class SpacyNouns:
    """spaCy backend: ``[t.text.lower() for t in nlp(text) if t.pos_ in POS_NOUN_TAGS]``."""

    def __init__(self, model: str = "en_core_web_sm", nlp: Callable | None = None):
        if nlp is None:
            import spacy  # optional dependency

            nlp = spacy.load(model)
        self.nlp = nlp
        self.name = f"spacy:{model}"

    def __call__(self, text: str) -> list[str]:
        return [t.text.lower() for t in self.nlp(text) if t.pos_ in POS_NOUN_TAGS]


# Words the lexicon tagger never calls nouns. Grouped by why.
_FUNCTION_WORDS = """
a an the and or nor but if then than so as at by for from in into of off on onto out over per to up upon
with within without via vs versus about above across after against along among around before behind below
beneath beside besides between beyond down during except inside near outside since through throughout
till toward towards under underneath until unlike
i me my mine we us our ours you your yours he him his she her hers it its they them their theirs
this that these those who whom whose which what whatever whichever each every either neither both all any
some such no not only own same other another more most less least much many few several
is are was were be been being am do does did done has have had having can could may might must shall
should will would also just very too quite really still even ever never always again
""".split()

_ADJECTIVES = """
new old big small large little long short tall wide narrow thick thin heavy light lightweight high low
deep shallow soft hard firm smooth rough warm cool cold hot dry wet fresh clean clear dark bright pure
natural organic healthy sweet sour spicy salty savory bitter mild strong extra super ultra premium
deluxe classic modern vintage retro casual formal elegant cute sexy comfortable comfy durable
portable adjustable foldable washable waterproof breathable stretchy stretch slim loose fitted fit
regular plus mini micro compact full half double single triple quad multi multiple universal
professional perfect ideal great best good better fine nice beautiful pretty lovely fancy simple
easy quick fast slow real true genuine original authentic official premium compatible wireless
electric electronic digital smart automatic manual rechargeable cordless handheld outdoor indoor
daily everyday gluten free sugar non vegan kosher keto halal dairy fat low-fat zero unscented
scented fragrance-free hypoallergenic sensitive oily combination normal dry anti long-lasting
lasting matte glossy shiny metallic sparkly solid striped floral plaid printed polka dotted
men mens women womens woman's men's women's girls boys kids baby toddler adult unisex ladies
ready instant frozen dried roasted raw whole ground sliced diced crunchy creamy chewy crispy
black white red blue green yellow orange purple pink brown gray grey beige ivory navy teal
khaki maroon olive silver golden gold tan cream turquoise multicolor multicolored rose
small medium large x-large xx-large xl xxl xs s m l one-size
""".split()

_VERBS = """
make makes made get gets got use uses used fits fit holds hold keeps keep helps help provides provide
includes include included including features feature designed made built suitable perfect works work
""".split()

_NOT_NOUNS = frozenset(_FUNCTION_WORDS) | frozenset(_ADJECTIVES) | frozenset(_VERBS)

# Adjective / adverb / participle endings; words that end so but are nouns are listed after.
_NON_NOUN_SUFFIXES = ("ly", "ous", "ful", "ive", "able", "ible", "less", "ish", "ed", "ing", "al", "ic", "ary", "y")
_SUFFIX_EXCEPTIONS = frozenset("""
bed shed seed feed sled reed needle clothing bedding lighting packaging seasoning dressing stuffing ring string
king spring wing ceiling ping pudding frosting icing topping filling coating flooring railing siding
serving servings stocking stockings legging leggings earring earrings wedding housing mounting fitting
fittings tubing wiring charging decal pedal petal crystal metal medal pedestal cereal oatmeal meal
animal tool signal manual journal canal scandal vial dial opal panal jewelry jewellery battery batteries
body boy toy key tray spray display holiday birthday day way highway bay jersey turkey honey money
monkey hockey jockey chimney trolley pulley valley alley alloy lady baby candy jerky berry cherry
strawberry blueberry raspberry cranberry pantry laundry gallery pottery cutlery accessory accessories
library dictionary party entry country category factory memory story history army navy ivory diary
ability facility utility mobility city capacity quality activity security variety beauty duty
therapy energy galaxy pony puppy teddy hobby lobby belly jelly rally tally bully fly sky cozy
dummy mummy tummy gummy gummies mic tic music fabric plastic ceramic acrylic tunic logic graphic
graphics electronics mechanic clinic picnic attic arctic basic basics tropic cosmetic cosmetics
handbag bag ed shading heading reading painting paintings drawing clipping bowling fishing hunting
camping hiking racing cycling running swimming training building buildings trimming sting sling
wedge bridge table tables cable cables vegetable vegetables turntable stable drive drives olive olives
adhesive detective sedative hive archive
""".split())

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?|[^\sA-Za-z0-9]")


def _is_noun(token: str) -> bool:
    word = token.lower()
    if not any(c.isalpha() for c in word):
        return False  # numbers, punctuation
    if any(c.isdigit() for c in word):
        return True  # model codes such as "x200" or "4k" behave like proper nouns
    if len(word) < 2 or word in _NOT_NOUNS:
        return False
    if word in _SUFFIX_EXCEPTIONS or len(word) < 5:
        return True
    return not word.endswith(_NON_NOUN_SUFFIXES)


class LexiconNouns:
    """The shipped fallback tagger (see the module docstring)."""

    name = "lexicon"

    def __call__(self, text: str) -> list[str]:
        return [tok.lower() for tok in _TOKEN.findall(text) if _is_noun(tok)]


@functools.lru_cache(maxsize=None)
def get_noun_extractor(backend: str | None = None) -> NounExtractor:
    """``"spacy"``, ``"lexicon"`` or ``None`` (spaCy when a model loads, else lexicon)."""
    backend = backend or os.environ.get("PRISM_GYM_WEBSHOP_POS") or "auto"
    if backend == "lexicon":
        return LexiconNouns()
    if backend.startswith("spacy"):
        model = backend.partition(":")[2] or "en_core_web_sm"
        return SpacyNouns(model)
    if backend != "auto":
        raise ValueError(f"unknown noun extractor {backend!r}; use 'spacy', 'spacy:<model>' or 'lexicon'")
    if not spacy_model_installed("en_core_web_sm"):
        return LexiconNouns()  # without importing spaCy, which alone takes seconds
    try:
        return SpacyNouns()
    except Exception:  # noqa: BLE001  (a broken spaCy or model install)
        return LexiconNouns()


def spacy_model_installed(model: str) -> bool:
    """Whether spaCy and the model package are importable (checked without importing)."""
    import importlib.util

    return importlib.util.find_spec("spacy") is not None and importlib.util.find_spec(model) is not None
