"""WebShop env: catalogue build, search, expert, Gymnasium contract, vector envs."""
from __future__ import annotations

import numpy as np
import pytest

from prism_gym.envs.webshop import generator
from prism_gym.envs.webshop.analysis import analyze
from prism_gym.envs.webshop.env import SEARCH_PLACEHOLDER, WebShopEnv
from prism_gym.envs.webshop.engine import Session
from prism_gym.envs.webshop.expert import Expert, instruction_query
from prism_gym.envs.webshop.search import SearchIndex, build_index
from prism_gym.envs.webshop.site import get_site
from prism_gym.records import Task

N = 2000  # 1600 goals: test 500, dev 1000, train 100; 400 pretrain goals


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("webshop-cache"))


@pytest.fixture(scope="session")
def site(cache):
    return get_site(n_products=N, cache_dir=cache)


def make_env(cache, **kw):
    return WebShopEnv(n_products=N, cache_dir=cache, **kw)


# -- catalogue ---------------------------------------------------------------------------
def test_generated_catalogue_layout(site):
    assert site.meta["n_products"] == N and len(site.products) == N
    assert len(site.goals) == 1600 and len(site.pretrain_goals) == 400
    categories = {site.products[i]["category"] for i in range(200)}
    assert categories == {"beauty", "food", "fashion", "furniture", "electronics"}
    asins = [site.products[i]["asin"] for i in range(N)]
    assert len(set(asins)) == N and all(len(a) == 10 for a in asins)
    for i in range(0, N, 97):
        product = site.products[i]
        low = product["pricing"][0]
        assert low <= product["price"] <= product["pricing"][-1]
        values = [v for vs in product["options"].values() for v in vs]
        assert len(values) == len(set(values)) and all(v == v.lower() for v in values)


def test_generator_is_deterministic_and_prefix_stable():
    assert generator.generate_product(123, seed=5) == generator.generate_product(123, seed=5)
    assert generator.generate_product(123, seed=5) != generator.generate_product(123, seed=6)
    assert len({generator.make_asin(i, 0) for i in range(20000)}) == 20000


def test_goal_pools_are_disjoint_and_ordered(site):
    main_rows = {site.goals[i]["product_row"] for i in range(len(site.goals))}
    pretrain_rows = {g["product_row"] for g in site.pretrain_goals}
    assert not main_rows & pretrain_rows
    assert all(generator.is_pretrain_product(r) for r in pretrain_rows)
    assert [len(site.split_indices(s)) for s in ("test", "dev", "train", "pretrain")] == [500, 1000, 100, 400]


def test_site_is_shared_and_cached(site, cache):
    assert get_site(n_products=N, cache_dir=cache) is site
    env_a, env_b = make_env(cache), make_env(cache)
    assert env_a.site is env_b.site is site


# -- search --------------------------------------------------------------------------------
def test_bm25_matches_bm25s_lucene_scores(tmp_path):
    import bm25s

    docs = ["red cotton shirt for men", "blue cotton shirt", "wooden console table with drawers",
            "red wine glass set", "shirt shirt shirt red", "console gaming"]
    build_index(docs, tmp_path / "ix")
    ours = SearchIndex(tmp_path / "ix")
    ref = bm25s.BM25(k1=0.9, b=0.4, method="lucene")
    ref.index([analyze(d) for d in docs], show_progress=False)
    for query in ("red shirt", "console table", "cotton", "shirt red red"):
        rows, values = ours.scores(query)
        expected = ref.get_scores(analyze(query))
        got = np.zeros(len(docs), np.float32)
        got[rows] = values
        np.testing.assert_allclose(got, expected, rtol=1e-5)
    # The files are bm25s's own format: bm25s loads them and scores alike.
    loaded = bm25s.BM25.load(str(tmp_path / "ix"), mmap=True, show_progress=False)
    np.testing.assert_allclose(loaded.get_scores(analyze("red shirt")), ref.get_scores(analyze("red shirt")),
                               rtol=1e-5)
    assert ours.search("red shirt")[0] in (0, 4)
    assert ours.search("unknownword") == [] and ours.search("the of and") == []


def test_search_top50_and_tie_order(tmp_path):
    build_index(["same words here"] * 80 + ["other"], tmp_path / "ix")
    ix = SearchIndex(tmp_path / "ix")
    assert ix.search("same words") == list(range(50))  # ties: catalogue order, top-50 cut


def test_analysis():
    assert analyze("Women's Running Shoes, the BEST 12.5 inch") == ["women", "run", "shoe", "best", "12.5", "inch"]


# -- expert --------------------------------------------------------------------------------
def test_instruction_query():
    assert instruction_query("i need a red shirt that is soft with red color, and price lower than 30.00 dollars") \
        == "red shirt that is soft with red color"
    assert instruction_query("Find me soft, cotton shirts with color: red, and size: large, and price lower than "
                             "30.00 dollars") == "soft, cotton shirts"


@pytest.mark.parametrize("split", ["test", "dev", "train", "pretrain"])
def test_expert_wins_every_generated_goal(site, split):
    expert = Expert()
    for index in site.split_indices(split):
        session = Session(site, site.goal(split, index))
        for _ in range(10):
            action = expert.next_action(session)
            assert session.step(action), action
            if session.done:
                break
        assert session.reward == 1.0, (split, index, session.reward_info)


def test_expert_recovers_from_detours(site):
    expert = Expert()
    session = Session(site, site.goal("test", 7))
    for detour in ("search[some unrelated words]", "click[next >]"):
        session.step(detour)
    other = session.page_rows()[0] if session.page_rows() else None
    if other is not None and other != session.goal["product_row"]:
        session.step(f"click[{site.products[other]['asin'].lower()}]")
        session.step("click[description]")
    for _ in range(15):
        session.step(expert.next_action(session))
        if session.done:
            break
    assert session.reward == 1.0


# -- Gymnasium contract ------------------------------------------------------------------------
def test_check_env(cache):
    import warnings

    import gymnasium
    from gymnasium.utils.env_checker import check_env

    from prism_gym.envs import register_gymnasium_envs

    register_gymnasium_envs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker's warnings count as failures
        check_env(gymnasium.make("prism_gym/WebShop-v0", n_products=N, cache_dir=cache).unwrapped)


def test_reset_info_contract(cache):
    env = make_env(cache, split="test", expert_actions=True)
    obs, info = env.reset(seed=0, options={"split": "test", "instance": "12"})
    task = info["task"]
    assert isinstance(task, Task) and task.env == "webshop" and task.split == "test" and task.instance == "12"
    assert task.task_type in generator.CATEGORY_NAMES and task.goal == info["instruction"]
    assert obs == f"WebShop [SEP] Instruction: [SEP] {task.goal} [SEP] Search"
    assert info["admissible_actions"] == [SEARCH_PLACEHOLDER]
    assert info["won"] is False and info["score"] == 0.0 and info["is_action_valid"] is True
    assert info["expert_action"].startswith("search[")
    assert info["available_actions"] == {"has_search_bar": True, "clickables": ["search"]}
    obs2, info2 = env.reset(options={"task": task})
    assert obs2 == obs and info2["task"] == task
    _, info3 = env.reset(options={"goal_idx": 12})
    assert info3["task"] == task
    from dataclasses import replace

    obs4, _ = env.reset(options={"task": replace(task, env="prism_gym/WebShop-v0")})  # the env id names it too
    assert obs4 == obs
    with pytest.raises(ValueError, match="belongs to env 'alfworld'"):
        env.reset(options={"task": replace(task, env="alfworld")})


def test_seeded_reset_is_deterministic(cache):
    env = make_env(cache, split="dev")
    first = [env.reset(seed=s)[1]["task"] for s in range(5)]
    assert first == [env.reset(seed=s)[1]["task"] for s in range(5)]
    assert all(500 <= int(t.instance) < 1500 for t in first)


def test_expert_episode_and_rewards(cache):
    for mode, expected in (("dense", 1.0), ("sparse_success", 10.0), ("scaled", 10.0)):
        env = make_env(cache, split="test", expert_actions=True, reward_mode=mode)
        _, info = env.reset(options={"instance": 3})
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, info = env.step(info["expert_action"])
            total += reward
            done = terminated or truncated
        assert terminated and not truncated and total == expected
        assert info["won"] is True and info["score"] == 100.0 and info["task_score"] == 1.0
        assert info["asin_purchased"] == env.site.products[env.session.goal["product_row"]]["asin"]
        assert info["reward_components"]["r_type"] == 1.0
        # Steps after the purchase change nothing.
        obs_after, reward, terminated, truncated, info = env.step("search[more]")
        assert reward == 0.0 and terminated and info["is_action_valid"] is False


def test_invalid_action_and_truncation(cache):
    env = make_env(cache, split="test", max_steps=3)
    obs, _ = env.reset(options={"instance": 0})
    obs1, reward, terminated, truncated, info = env.step("click[nothing]")
    assert obs1 == obs and reward == 0.0 and not terminated and not truncated
    assert info["is_action_valid"] is False
    _, _, _, truncated, info = env.step("search[shirt]")
    assert info["is_action_valid"] is True and not truncated
    assert all(a.startswith("click[") for a in info["admissible_actions"])
    _, _, terminated, truncated, _ = env.step("click[next >]")
    assert truncated and not terminated


def test_bad_options_raise_clear_errors(cache):
    with pytest.raises(ValueError, match="unknown WebShop split"):
        make_env(cache, split="nope")
    with pytest.raises(ValueError, match="reward_mode"):
        make_env(cache, reward_mode="nope")
    env = make_env(cache, split="test")
    with pytest.raises(ValueError, match="not in split"):
        env.reset(options={"split": "test", "instance": "700"})
    with pytest.raises(ValueError, match="integer"):
        env.reset(options={"instance": "abc"})
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"instanse": 3})
    env.reset(options={"instance": 0})
    with pytest.raises(TypeError, match="string"):
        env.step(None)
    with pytest.raises(ValueError, match="unknown catalogue"):
        get_site(catalogue="nope")
    with pytest.raises(ValueError, match="goal_source must be one of human, synthetic"):
        make_env(cache, goal_source="humans")


def test_list_tasks(cache):
    from prism_gym.plugins import get_registry

    spec = get_registry().env("webshop")
    tasks = spec.list_tasks("test", limit=5, n_products=N, cache_dir=cache)
    assert [t.instance for t in tasks] == ["0", "1", "2", "3", "4"]
    assert all(t.split == "test" and t.env == "webshop" and t.goal for t in tasks)
    pretrain = spec.list_tasks("pretrain", n_products=N, cache_dir=cache)
    test_goals = {t.goal for t in spec.list_tasks("test", n_products=N, cache_dir=cache)}
    assert len(pretrain) == 400 and not test_goals & {t.goal for t in pretrain}
    assert spec.id == "prism_gym/WebShop-v0" and spec.eval_splits == ("test",)


def test_gymnasium_make_and_vector_envs_share_the_site(cache, site):
    import gymnasium

    from prism_gym.envs import register_gymnasium_envs

    register_gymnasium_envs()
    kwargs = dict(n_products=N, cache_dir=cache, split="test", expert_actions=True)
    vec = gymnasium.make_vec("prism_gym/WebShop-v0", num_envs=3, vectorization_mode="sync", **kwargs)
    try:
        sites = {id(e.unwrapped.site) for e in vec.envs}
        assert sites == {id(site)}
        obs, infos = vec.reset(seed=1)
        assert len(obs) == 3 and all(o.startswith("WebShop [SEP]") for o in obs)
        obs, rewards, terminated, truncated, infos = vec.step(list(infos["expert_action"]))
        assert all(o.startswith("Instruction:") for o in obs)
    finally:
        vec.close()


@pytest.mark.slow
def test_async_vector_env(cache, site):
    import gymnasium

    from prism_gym.envs import register_gymnasium_envs

    register_gymnasium_envs()
    vec = gymnasium.make_vec("prism_gym/WebShop-v0", num_envs=2, vectorization_mode="async",
                             n_products=N, cache_dir=cache, split="test", expert_actions=True)
    try:
        first, infos = vec.reset(seed=2)
        assert all(o.startswith("WebShop [SEP] Instruction:") for o in first)
        seen = []
        for _ in range(10):
            obs, rewards, terminated, truncated, infos = vec.step(list(infos["expert_action"]))
            assert isinstance(obs, tuple) and all(isinstance(o, str) for o in obs)
            seen.append(obs)
            if terminated.all():
                break
        # fresh observations come back from the workers through shared memory
        assert seen[0] != first and all("Back to Search" in o for o in seen[0])
        assert terminated.all() and (rewards == 1.0).all()
    finally:
        vec.close()


def test_any_text_shared_memory_roundtrip():
    from gymnasium.vector.utils import shared_memory as shm

    from prism_gym.envs.webshop.env import AnyText

    space = AnyText(max_length=50)
    memory = shm.create_shared_memory(space, n=2)
    shm.write_to_shared_memory(space, 1, "Café ☕ [SEP] 𝔘nicode", memory)
    shm.write_to_shared_memory(space, 0, "", memory)
    assert shm.read_from_shared_memory(space, memory, n=2) == ("", "Café ☕ [SEP] 𝔘nicode")
    assert space.contains("any <text> at all ✓") and not space.contains(3) and not space.contains("x" * 51)


def test_expert_buys_best_hit_when_target_is_not_findable():
    def product(asin, title):
        return {"asin": asin, "name": title, "Title": title, "Price": "$5.0", "price": 5.0, "options": {},
                "Description": "", "BulletPoints": [""], "Attributes": ["x"], "query": "q", "Rating": "N.A.",
                "product_category": "A › B", "category": "food"}

    class Unfindable:
        products = [product("B00000000T", "Target Tea"), {**product("B00000000O", "Other Tea"), "Attributes": ["y"]}]

        def search(self, query):
            return [1]  # the target (row 0) is never among the hits

    goal = {"instruction_text": "i need target tea", "asin": "B00000000T", "query": "q", "name": "Target Tea",
            "product_category": "A › B", "attributes": ["x"], "goal_options": [], "price_upper": 10.0,
            "product_row": 0, "category": "food"}
    session, expert = Session(Unfindable(), goal), Expert()
    actions = []
    while not session.done and len(actions) < 10:
        actions.append(expert.next_action(session))
        assert session.step(actions[-1])
    assert actions == ["search[target tea]", "click[b00000000o]", "click[buy now]"]
    assert session.reward < 1.0


def _build_in_child(cache_dir, queue):
    from prism_gym.envs.webshop.catalogue import build_once
    from prism_gym.envs.webshop.site import _build_generated, catalogue_dir

    meta = build_once(catalogue_dir(n_products=300, cache_dir=cache_dir), _build_generated(300, 0))
    queue.put(meta["n_goals"])


def test_concurrent_builders_share_one_build(tmp_path):
    import multiprocessing as mp

    root = tmp_path / "cache"
    stale = root / "webshop" / f".generated-v{generator.GENERATOR_VERSION}-n300-s0.tmp-999999"
    stale.mkdir(parents=True)  # left behind by a builder that died
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_build_in_child, args=(str(root), queue)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert sorted(queue.get(timeout=5) for _ in procs) == [240, 240, 240]
    leftovers = [p.name for p in (root / "webshop").iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert get_site(n_products=300, cache_dir=root).meta["n_goals"] == 240


def test_noisy_expert_is_seeded_and_varied(cache):
    def play(seed, noise):
        env = make_env(cache, split="dev", expert_actions=True, expert_noise=noise, max_steps=15)
        _, info = env.reset(seed=seed)
        actions, done = [], False
        while not done:
            actions.append(info["expert_action"])
            _, _, terminated, truncated, info = env.step(actions[-1])
            done = terminated or truncated
        return actions, info["task_score"]

    runs = [play(seed, 0.3) for seed in range(12)]
    assert runs == [play(seed, 0.3) for seed in range(12)]  # same seeds, same episodes
    clean = [play(seed, 0.0) for seed in range(12)]
    assert all(score == 1.0 for _, score in clean)
    assert sum(len(a) for a, _ in runs) > sum(len(a) for a, _ in clean)  # detours cost steps
    with pytest.raises(ValueError, match="expert_noise"):
        make_env(cache, expert_noise=1.5)
