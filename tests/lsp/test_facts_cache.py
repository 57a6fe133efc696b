"""Project facts stored across server starts (``codemod/analysis/facts_cache.py``): the same facts as a fresh
analysis, a changed file or another tool is a miss, and a damaged cache is a miss that is then rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from doeff_migrate.codemod.analysis import Config, ProjectFacts, analyze
from doeff_migrate.codemod.analysis.facts_cache import FactsCache, facts_from_json, facts_to_json

PROVIDERS = '''
from doeff_migrate.runtime import do, handler, Ask, EffectBase, Resume


class Fetch(EffectBase):
    pass


@handler
def fetch_handler(effect, k):
    if isinstance(effect, Fetch):
        return (yield Resume(k, 1))


@do
def load():
    url = yield Ask("url")
    return url

env = {"url": "x"}
'''
USER = '''
from doeff_migrate.runtime import do, Ask


@do
def run():
    token = yield Ask("token")
    return token
'''


def read_facts(path: str, source: str):
    return analyze(source, path, Config()).facts


def make_project(root: Path) -> dict[str, str]:
    package = root / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    files = {str(package / "providers.py"): PROVIDERS, str(package / "user.py"): USER}
    for path, text in files.items():
        Path(path).write_text(text)
    return files


def scan(root: Path, cache: FactsCache) -> ProjectFacts:
    project = ProjectFacts([root])
    project.scan(cache.reader(read_facts))
    cache.save()
    return project


def facts_of(project: ProjectFacts) -> dict:
    return {path: facts_to_json(facts) for path, facts in project._files.items()}


def test_a_second_start_takes_every_file_from_the_cache_with_the_same_facts(tmp_path):
    files = make_project(tmp_path)
    first = FactsCache(tmp_path)
    fresh = scan(tmp_path, first)
    assert (first.hits, first.misses) == (0, 2)
    second = FactsCache(tmp_path)
    cached = scan(tmp_path, second)
    assert (second.hits, second.misses) == (2, 0)
    assert facts_of(cached) == facts_of(fresh) == {p: facts_to_json(read_facts(p, t)) for p, t in files.items()}
    assert cached.binds("url") and cached.declares_effect("Fetch") and cached.is_do_function("pkg.providers", "load")
    assert [h.name for h in cached.handlers_for("Fetch")] == ["fetch_handler"]
    assert (tmp_path / ".doeff-migrate-cache" / ".gitignore").exists()


def test_a_changed_file_is_analysed_again(tmp_path):
    make_project(tmp_path)
    scan(tmp_path, FactsCache(tmp_path))
    (tmp_path / "pkg" / "user.py").write_text(USER + '\nenv = {"token": "t"}\n')
    cache = FactsCache(tmp_path)
    project = scan(tmp_path, cache)
    assert (cache.hits, cache.misses) == (1, 1)
    assert project.binds("token")


def test_another_tool_is_a_miss(tmp_path):
    make_project(tmp_path)
    scan(tmp_path, FactsCache(tmp_path, fingerprint=lambda: "tool-a"))
    cache = FactsCache(tmp_path, fingerprint=lambda: "tool-b")
    scan(tmp_path, cache)
    assert (cache.hits, cache.misses) == (0, 2)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: "not json {",
        lambda data: json.dumps([1, 2]),
        lambda data: json.dumps({**data, "format": 99}),
        lambda data: json.dumps({**data, "files": "nope"}),
        lambda data: json.dumps({**data, "files": {p: "x" for p in data["files"]}}),
        lambda data: json.dumps({**data, "files": {p: [e[0], {"bound_keys": 3}] for p, e in data["files"].items()}}),
        lambda data: json.dumps({**data, "files": {p: [e[0], {**e[1], "handlers": [["h", [], "p", "1", False]]}] for p, e in data["files"].items()}}),
        lambda data: "",
    ],
)
def test_a_damaged_cache_is_a_miss_and_is_rewritten(tmp_path, damage):
    files = make_project(tmp_path)
    scan(tmp_path, FactsCache(tmp_path))
    stored = FactsCache(tmp_path).file
    stored.write_text(damage(json.loads(stored.read_text())))
    cache = FactsCache(tmp_path)
    project = scan(tmp_path, cache)
    assert cache.hits == 0 and cache.misses == 2
    assert facts_of(project) == {p: facts_to_json(read_facts(p, t)) for p, t in files.items()}
    again = FactsCache(tmp_path)
    scan(tmp_path, again)
    assert (again.hits, again.misses) == (2, 0)


def test_an_unwritable_cache_folder_is_only_a_miss(tmp_path):
    make_project(tmp_path)
    (tmp_path / ".doeff-migrate-cache").write_text("a file where the folder would be")
    cache = FactsCache(tmp_path)
    project = scan(tmp_path, cache)
    assert cache.misses == 2 and project.binds("url")


def test_facts_survive_the_json_form():
    facts = read_facts("/p/pkg/providers.py", PROVIDERS)
    back = facts_from_json(json.loads(json.dumps(facts_to_json(facts))))
    assert back == facts and back.handlers == facts.handlers
    assert facts_from_json(None) is None and facts_to_json(None) is None
