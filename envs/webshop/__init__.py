"""WebShop: a native, pure-Python re-implementation of the text interface of
the WebShop shopping site (princeton-nlp/WebShop, ``WebAgentTextEnv``).

Pieces, one job each:

- :mod:`.fuzz`       token-set fuzzy matching with thefuzz's semantics
- :mod:`.pos`        noun extraction for the type reward (spaCy or the shipped tagger)
- :mod:`.reward`     the original reward as a pure function
- :mod:`.analysis`   search analysis (Lucene English analyser equivalent)
- :mod:`.search`     BM25 index (bm25s format), built once, memory-mapped
- :mod:`.catalogue`  on-disk product and goal store shared by all processes
- :mod:`.generator`  deterministic synthetic products and instructions
- :mod:`.original`   loaders for the original data files
- :mod:`.goals`      price caps, goal synthesis order and splits
- :mod:`.site`       one shared (catalogue, index, goals) per process
- :mod:`.engine`     per-session page state machine and page texts
- :mod:`.expert`     the oracle policy
- :mod:`.env`        the Gymnasium env ``prism_gym/WebShop-v0``
"""
