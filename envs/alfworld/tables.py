"""Vocabularies and compatibility tables of the original ALFWorld.

Type names are THOR's CamelCase names (``ButterKnife``); the text game shows
them lowercased (``butterknife``).
"""
from __future__ import annotations

TASK_TYPES = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)
# The original's numeric task-type ids (config files select task types by id).
TASK_TYPE_IDS = {name: i for i, name in enumerate(TASK_TYPES, start=1)}

# Goal templates: (template A, template B); no final period (the grammar adds it).
GOAL_TEMPLATES = {
    "pick_and_place_simple": ("put a {obj} in {recep}", "put some {obj} on {recep}"),
    "look_at_obj_in_light": ("look at {obj} under the {toggle}", "examine the {obj} with the {toggle}"),
    "pick_clean_then_place_in_recep": ("put a clean {obj} in {recep}", "clean some {obj} and put it in {recep}"),
    "pick_heat_then_place_in_recep": ("put a hot {obj} in {recep}", "heat some {obj} and put it in {recep}"),
    "pick_cool_then_place_in_recep": ("put a cool {obj} in {recep}", "cool some {obj} and put it in {recep}"),
    "pick_two_obj_and_place": ("put two {obj} in {recep}", "find two {obj} and put them in {recep}"),
}

# Which room types host which task type.
TASK_ROOMS = {
    "pick_and_place_simple": ("kitchen", "livingroom", "bedroom", "bathroom"),
    "pick_two_obj_and_place": ("kitchen", "livingroom", "bedroom", "bathroom"),
    "look_at_obj_in_light": ("livingroom", "bedroom"),
    "pick_clean_then_place_in_recep": ("kitchen", "bathroom"),
    "pick_heat_then_place_in_recep": ("kitchen",),
    "pick_cool_then_place_in_recep": ("kitchen",),
}

ROOM_TYPES = ("kitchen", "livingroom", "bedroom", "bathroom")

_SURFACE = (
    "AlarmClock Apple BaseballBat BasketBall Book Bowl Box Bread ButterKnife CD Candle CellPhone Cloth "
    "CreditCard Cup DishSponge Egg Fork Glassbottle HandTowel Kettle KeyChain Knife Ladle Laptop Lettuce Mug "
    "Newspaper Pan PaperTowel Pen Pencil PepperShaker Plate Pot Potato RemoteControl SaltShaker SoapBar "
    "SoapBottle Spatula Spoon SprayBottle Statue TennisRacket TissueBox ToiletPaper ToiletPaperRoll Tomato "
    "Vase Watch WateringCan WineBottle"
)
_SEAT = "BasketBall Book Box CellPhone Cloth CreditCard KeyChain Laptop Newspaper Pillow RemoteControl"
_PAN = "Apple ButterKnife DishSponge Egg Fork Knife Ladle Lettuce Potato Spatula Spoon Tomato"

# Receptacle type -> object types it can contain (sliced variants left out).
CAN_CONTAIN: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in {
    "ArmChair": _SEAT,
    "BathtubBasin": "Cloth DishSponge HandTowel SoapBar",
    "Bed": "BaseballBat BasketBall Book CellPhone Laptop Newspaper Pillow TennisRacket",
    "Bowl": "Apple ButterKnife CD Candle CellPhone Cloth CreditCard DishSponge Egg Fork KeyChain Knife Ladle "
            "Lettuce Mug PaperTowel Pen Pencil Potato RemoteControl Spatula Spoon Tomato Watch",
    "Box": "AlarmClock Book CD Candle CellPhone Cloth CreditCard DishSponge Glassbottle KeyChain Mug PaperTowel "
           "Pen Pencil RemoteControl Statue TissueBox Vase Watch",
    "Cabinet": "Book Bowl Box CD Candle Cloth Cup DishSponge Glassbottle HandTowel Kettle Ladle Mug Newspaper Pan "
               "PepperShaker Plate Plunger Pot SaltShaker SoapBar SoapBottle SprayBottle TissueBox ToiletPaper "
               "ToiletPaperRoll Vase WateringCan WineBottle",
    "Cart": "Candle Cloth DishSponge HandTowel Mug PaperTowel Plunger SoapBar SoapBottle SprayBottle Statue "
            "TissueBox ToiletPaper ToiletPaperRoll Vase",
    "CoffeeMachine": "Mug",
    "CoffeeTable": _SURFACE,
    "CounterTop": _SURFACE,
    "DiningTable": _SURFACE,
    "SideTable": _SURFACE,
    "Cup": "ButterKnife Fork Spoon",
    "Desk": "AlarmClock BasketBall Book Bowl Box CD Candle CellPhone Cloth CreditCard Cup Glassbottle KeyChain "
            "Laptop Mug Newspaper Pen Pencil Plate RemoteControl SoapBottle SprayBottle Statue TennisRacket "
            "TissueBox ToiletPaper ToiletPaperRoll Vase Watch WateringCan WineBottle",
    "Drawer": "Book ButterKnife CD Candle CellPhone Cloth CreditCard DishSponge Fork HandTowel KeyChain Knife Ladle "
              "Newspaper Pen Pencil PepperShaker RemoteControl SaltShaker SoapBar SoapBottle Spatula Spoon "
              "SprayBottle TissueBox ToiletPaper ToiletPaperRoll Watch WateringCan",
    "Dresser": "AlarmClock BasketBall Book Bowl Box CD Candle CellPhone Cloth CreditCard Cup Glassbottle KeyChain "
               "Laptop Mug Newspaper Pen Pencil Plate RemoteControl SprayBottle Statue TennisRacket TissueBox "
               "ToiletPaper ToiletPaperRoll Vase Watch WateringCan WineBottle",
    "Fridge": "Apple Bowl Bread Cup Egg Glassbottle Lettuce Mug Pan Plate Pot Potato Tomato WineBottle",
    "GarbageCan": "Apple Bread CD Cloth DishSponge Egg HandTowel Lettuce Newspaper PaperTowel Pen Pencil Potato "
                  "SoapBar SoapBottle SprayBottle TissueBox ToiletPaper ToiletPaperRoll Tomato WineBottle",
    "HandTowelHolder": "HandTowel",
    "LaundryHamper": "Cloth",
    "Microwave": "Apple Bowl Bread Cup Egg Glassbottle Mug Plate Potato Tomato",
    "Mug": "ButterKnife Fork KeyChain Knife Pen Pencil Spoon Watch",
    "Ottoman": _SEAT,
    "Sofa": _SEAT,
    "Pan": _PAN,
    "Pot": _PAN,
    "Plate": "AlarmClock Apple Book ButterKnife CD Candle CellPhone Cloth CreditCard DishSponge Egg Fork "
             "Glassbottle KeyChain Knife Ladle Lettuce Mug PaperTowel Pen Pencil Potato Spatula Spoon TissueBox "
             "Tomato Watch",
    "Safe": "CD CellPhone CreditCard KeyChain Statue Vase Watch",
    "Shelf": "AlarmClock Book Bowl Box CD Candle CellPhone Cloth CreditCard Cup DishSponge Glassbottle HandTowel "
             "Kettle KeyChain Mug Newspaper PaperTowel Pen Pencil PepperShaker Plate Pot RemoteControl SaltShaker "
             "SoapBar SoapBottle SprayBottle Statue TissueBox ToiletPaper ToiletPaperRoll Vase Watch WateringCan "
             "WineBottle",
    "SinkBasin": "Apple Bowl ButterKnife Cloth Cup DishSponge Egg Fork Glassbottle HandTowel Kettle Knife Ladle "
                 "Lettuce Mug Pan Plate Pot Potato SoapBar Spatula Spoon Tomato",
    "StoveBurner": "Kettle Pan Pot",
    "TVStand": "TissueBox",
    "Toaster": "",
    "Toilet": "Candle Cloth DishSponge HandTowel Newspaper PaperTowel SoapBar SoapBottle SprayBottle TissueBox "
              "ToiletPaper ToiletPaperRoll",
    "ToiletPaperHanger": "ToiletPaper ToiletPaperRoll",
    "TowelHolder": "Towel",
}.items()}

STATIC_RECEPTACLES = frozenset(
    "ArmChair BathtubBasin Bed Cabinet Cart CoffeeMachine CoffeeTable CounterTop Desk DiningTable Drawer Dresser "
    "Fridge GarbageCan HandTowelHolder LaundryHamper Microwave Ottoman Safe Shelf SideTable SinkBasin Sofa "
    "StoveBurner TVStand Toaster Toilet ToiletPaperHanger TowelHolder".split())
MOVABLE_RECEPTACLES = frozenset("Bowl Box Cup Mug Pan Plate Pot".split())
OPENABLE = frozenset("Fridge Cabinet Microwave Drawer Safe Box".split())
HEATABLE = frozenset("Apple Bread Cup Egg Mug Plate Potato Tomato".split())
COOLABLE = frozenset("Apple Bowl Bread Cup Egg Lettuce Mug Pan Plate Pot Potato Tomato WineBottle".split())
CLEANABLE = frozenset(("Apple Bowl ButterKnife Cloth Cup DishSponge Egg Fork Kettle Knife Ladle Lettuce Mug Pan "
                       "Plate Pot Potato SoapBar Spatula Spoon Tomato").split())
TOGGLEABLE = frozenset("DeskLamp FloorLamp".split())
SLICEABLE = frozenset("Apple Bread Egg Lettuce Potato Tomato".split())
SLICING_TOOLS = frozenset("Knife ButterKnife".split())

# Every object type a static receptacle can hold: these can be picked up.
PICKUPABLE = frozenset(t for r, ts in CAN_CONTAIN.items() if r in STATIC_RECEPTACLES for t in ts) | frozenset(
    {"Towel", "Pillow", "Laptop", "BaseballBat", "TennisRacket", "Plunger"})

# Where the handcoded expert looks first and where the generator puts things most often.
LIKELY_RECEPTACLES: dict[str, tuple[str, ...]] = {
    "Apple": ("Fridge", "CounterTop", "DiningTable", "GarbageCan"),
    "Bread": ("CounterTop", "DiningTable", "Fridge"),
    "Egg": ("Fridge", "CounterTop", "DiningTable", "GarbageCan"),
    "Lettuce": ("Fridge", "CounterTop", "DiningTable"),
    "Potato": ("Fridge", "CounterTop", "DiningTable", "GarbageCan"),
    "Tomato": ("Fridge", "CounterTop", "DiningTable"),
    "Mug": ("CoffeeMachine", "CounterTop", "Cabinet", "Shelf", "Desk", "DiningTable"),
    "Cup": ("CounterTop", "Cabinet", "DiningTable", "Fridge"),
    "Plate": ("Cabinet", "CounterTop", "DiningTable"),
    "Bowl": ("Cabinet", "CounterTop", "DiningTable", "Shelf"),
    "Pan": ("StoveBurner", "Cabinet", "CounterTop"),
    "Pot": ("StoveBurner", "Cabinet", "CounterTop"),
    "Kettle": ("StoveBurner", "CounterTop", "Cabinet"),
    "Knife": ("CounterTop", "DiningTable", "Drawer"),
    "ButterKnife": ("CounterTop", "DiningTable", "Drawer"),
    "Fork": ("Drawer", "CounterTop", "DiningTable"),
    "Spoon": ("Drawer", "CounterTop", "DiningTable"),
    "Spatula": ("CounterTop", "Drawer", "DiningTable"),
    "Ladle": ("CounterTop", "Drawer", "DiningTable"),
    "SoapBar": ("CounterTop", "Toilet", "BathtubBasin", "SinkBasin"),
    "Cloth": ("CounterTop", "BathtubBasin", "Cabinet"),
    "DishSponge": ("CounterTop", "SinkBasin", "Cabinet"),
    "ToiletPaper": ("ToiletPaperHanger", "CounterTop", "Toilet", "Cabinet"),
    "HandTowel": ("HandTowelHolder",),
    "Towel": ("TowelHolder",),
    "CellPhone": ("Bed", "Desk", "SideTable", "Dresser"),
    "Book": ("Bed", "Desk", "Shelf", "SideTable"),
    "Laptop": ("Bed", "Desk", "Sofa"),
    "Pillow": ("Bed", "Sofa", "ArmChair"),
    "RemoteControl": ("CoffeeTable", "Sofa", "SideTable", "TVStand"),
    "KeyChain": ("SideTable", "Dresser", "CoffeeTable", "Drawer"),
    "CreditCard": ("SideTable", "Desk", "Dresser", "CoffeeTable"),
}

# Where the generator puts desk and floor lamps (look tasks need a lamp inside a receptacle).
LAMP_RECEPTACLES = ("SideTable", "Desk", "Dresser", "DiningTable", "CoffeeTable", "Shelf", "TVStand")

# Scene split: valid_unseen uses held-out layouts.
UNSEEN_SCENES = frozenset({10, 219, 308, 424} | set(range(1, 7)) | set(range(201, 207))
                          | set(range(301, 307)) | set(range(401, 407)))

# Original split sizes after filtering.
SPLIT_SIZES = {"train": 3553, "valid_seen": 140, "valid_unseen": 134, "pretrain": 3553}

# Task-type mix of the original train split (games per type), used as sampling weights.
TASK_TYPE_WEIGHTS = {
    "pick_and_place_simple": 790,
    "look_at_obj_in_light": 308,
    "pick_clean_then_place_in_recep": 650,
    "pick_heat_then_place_in_recep": 459,
    "pick_cool_then_place_in_recep": 533,
    "pick_two_obj_and_place": 813,
}

HELP_TEXT = (
    "Available commands:\n"
    "  look:                             look around your current location\n"
    "  inventory:                        check your current inventory\n"
    "  go to (receptacle):               move to a receptacle\n"
    "  open (receptacle):                open a receptacle\n"
    "  close (receptacle):               close a receptacle\n"
    "  take (object) from (receptacle):  take an object from a receptacle\n"
    "  move (object) to (receptacle):  place an object in or on a receptacle\n"
    "  examine (something):              examine a receptacle or an object\n"
    "  use (object):                     use an object\n"
    "  heat (object) with (receptacle):  heat an object using a receptacle\n"
    "  clean (object) with (receptacle): clean an object using a receptacle\n"
    "  cool (object) with (receptacle):  cool an object using a receptacle\n"
    "  slice (object) with (object):     slice an object using a sharp object\n"
)  # the original keeps the grammar's trailing newline (its leading one is stripped)

DIALECTS = ("2.1.1", "2.1.2", "2.1.3")
DEFAULT_DIALECT = "2.1.2"


def normalize_dialect(dialect: str) -> str:
    """Map a dialect name to ``"2.1.1"`` or ``"2.1.2"`` (2.1.3 has the 2.1.2 text)."""
    d = str(dialect)
    if d not in DIALECTS:
        raise ValueError(f"unknown ALFWorld text version {dialect!r}; choose one of {', '.join(DIALECTS)}")
    return "2.1.1" if d == "2.1.1" else "2.1.2"


def normalize_task_types(task_types) -> tuple[str, ...]:
    """Task types given by name or by the original's id (1-6), in canonical order."""
    if task_types is None:
        return TASK_TYPES
    if isinstance(task_types, (str, int)):
        task_types = [task_types]
    chosen = set()
    for t in task_types:
        if isinstance(t, int) or (isinstance(t, str) and t.isdigit()):
            i = int(t)
            if not 1 <= i <= len(TASK_TYPES):
                raise ValueError(f"task type id {i} is out of range 1-{len(TASK_TYPES)}")
            chosen.add(TASK_TYPES[i - 1])
        elif t in TASK_TYPE_IDS:
            chosen.add(t)
        else:
            raise ValueError(f"unknown ALFWorld task type {t!r}; known: {', '.join(TASK_TYPES)}")
    if not chosen:
        raise ValueError("task_types is empty")
    return tuple(t for t in TASK_TYPES if t in chosen)
