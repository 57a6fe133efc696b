"""Property checks over generated pinjected modules: no crash, compilable output, idempotence."""

from __future__ import annotations

import keyword

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doeff_migrate.codemod.api import MigrationError, ProjectIndex, migrate_source

NAMES = st.sampled_from(["a", "b", "cfg", "logger", "fetch", "a_fetch", "helper", "x", "y", "items"])
PARAM = st.tuples(st.sampled_from(["", "_", "__"]), NAMES, st.booleans()).map(
    lambda t: f"{t[0]}{t[1]}" + ("=1" if t[2] else "")
)
EXPR = st.sampled_from(
    [
        "1",
        "x",
        "a + b",
        "helper(x)",
        "fetch(1)",
        "[helper(i) for i in range(3)]",
        "lambda v: helper(v)",
        "cfg['k']",
        "(yield 1)",
    ]
)
AWAITED = st.sampled_from(
    ["await a_fetch(1)", "await asyncio.sleep(0)", "await asyncio.gather(a_fetch(1), a_fetch(2))", "[await a_fetch(i) for i in x]"]
)


@st.composite
def functions(draw) -> str:
    decorator = draw(st.sampled_from(["@injected", "@instance", "@injected(protocol=object)", "@injected\n@staticmethod", ""]))
    is_async = draw(st.booleans())
    params = draw(st.lists(PARAM, max_size=4, unique_by=lambda p: p.lstrip("_").split("=")[0]))
    ordered = sorted(params, key=lambda p: "=" in p)  # defaults last
    slash = draw(st.booleans()) and ordered
    cut = draw(st.integers(0, len(ordered)))
    parts = ordered[:cut] + (["/"] if slash and cut else []) + ordered[cut:]
    body = draw(st.lists(EXPR if not is_async else st.one_of(EXPR, AWAITED), min_size=1, max_size=4))
    extra = draw(st.sampled_from(["", "    async with x:\n        pass\n" if is_async else "", "    for i in x:\n        y = i\n"]))
    name = draw(st.sampled_from(["f", "g", "helper", "a_fetch", "fetch", "cfg"]))
    lines = [f"{decorator}\n" if decorator else "", f"{'async ' if is_async else ''}def {name}({', '.join(parts)}):\n"]
    lines += [f"    v{i} = {e}\n" for i, e in enumerate(body)]
    lines.append(extra)
    lines.append("    return 0\n")
    return "".join(lines)


@st.composite
def modules(draw) -> str:
    parts = ["import asyncio\nfrom pinjected import IProxy, Injected, design, injected, instance\n\n"]
    parts += [f + "\n\n" for f in draw(st.lists(functions(), min_size=1, max_size=4))]
    parts += draw(
        st.lists(
            st.sampled_from(
                [
                    "__design__ = design(a=1, fetch=lambda u: u, helper=helper)\n",
                    "base = design(x=1)\n__design__ = base + design(y=2)\n",
                    "main: IProxy = f(1)\n",
                    "pair = Injected.mzip(cfg, Injected.by_name('a'))\n",
                    "with design(a=2):\n    inner: IProxy = f(2)\n",
                    "total = Injected.bind(lambda a, b: a + b, b='x')\n",
                    "odd: IProxy = cfg.method(1)\n",
                    "new_c = injected(object)\n",
                ]
            ),
            max_size=3,
        )
    )
    return "".join(parts)


def _compiles(code: str) -> bool:
    compile(code, "<migrated>", "exec", dont_inherit=True)
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules())
def test_never_crashes_output_compiles_and_second_run_changes_nothing(source):
    try:
        compile(source, "<generated>", "exec", dont_inherit=True)
    except SyntaxError:
        return  # only valid Python is in scope here; invalid input is test_bad_input's job
    try:
        first = migrate_source(source, path="gen.py")
    except MigrationError as exc:  # pragma: no cover - would be a bug in a transform
        raise AssertionError(f"refused valid input: {exc}\n{source}") from None
    assert _compiles(first.code)
    second = migrate_source(first.code, path="gen.py", index=ProjectIndex.from_sources({"gen.py": first.code}))
    assert second.code == first.code, f"not idempotent:\n--- input\n{source}\n--- first\n{first.code}\n--- second\n{second.code}"


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_arbitrary_text_either_migrates_or_is_refused_cleanly(text):
    source = "from pinjected import injected\n" + text
    try:
        result = migrate_source(source, path="any.py")
    except MigrationError:
        return
    assert _compiles(result.code) if result.changed else result.code == source


def test_keyword_names_are_not_generated():
    assert not any(keyword.iskeyword(n) for n in ["a", "b", "cfg", "logger", "fetch", "a_fetch", "helper", "x", "y", "items"])
