"""Package layout: the top-level folders envs/, routers/, algorithms/, agents/,
trackers/ and arbiters/ import as prism_gym.envs, prism_gym.routers,
prism_gym.algorithms, prism_gym.agents, prism_gym.trackers and prism_gym.arbiters.

pyproject.toml cannot list sub-packages of a remapped folder without naming each
one by hand, so this file finds them; everything else lives in pyproject.toml.
"""
from setuptools import find_packages, setup

MAPPED = {"prism_gym": "prism_gym", "prism_gym.envs": "envs",
          "prism_gym.routers": "routers", "prism_gym.algorithms": "algorithms",
          "prism_gym.agents": "agents", "prism_gym.trackers": "trackers",
          "prism_gym.arbiters": "arbiters"}


def _packages():
    found = []
    for name, folder in MAPPED.items():
        found.append(name)
        found += [f"{name}.{sub}" for sub in find_packages(folder)]
    return found


setup(
    packages=_packages(),
    package_dir=MAPPED,
    package_data={"": ["*.json", "*.json.gz", "*.txt", "*.md", "*.jinja"],
                  # the built default model, shipped so that every user starts from the same weights
                  "prism_gym.agents": ["default_model_weights/*"]},
    include_package_data=True,
)
