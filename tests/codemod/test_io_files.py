"""The ``io`` phase's whole-file ``with open(...)`` blocks: reads and writes of the whole file become effects; other
``open`` uses are flagged (DM303)."""

from __future__ import annotations

from functools import partial

from . import tools

check_transformed = partial(tools.check_transformed, phases=("io",), path="pkg/mod.py")
DO = "from doeff_migrate.runtime import do\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


check_noop = partial(tools.check_noop, phases=("io",))


def specs(result):
    return {need.spec.effect: need.spec for need in result.effects if need.spec is not None}


io = partial(tools.check_transformed, phases=("io",))


def test_whole_file_text_and_bytes_reads_and_writes_become_effects():
    result = check_transformed(
        DO + """
@do
def f(p, q, data):
    with open(p, encoding="utf-8") as fh:
        text = fh.read()
    with open(q, "wb") as fh:
        fh.write(data)
    with open(p, mode="rb") as fh:
        return fh.read()
""",
        (DO + "from pkg.effects_handlers import HANDLERS, ReadBytes, ReadText, WriteBytes\n" + """
@do
def f(p, q, data):
    text = yield ReadText(p, options={"encoding": "utf-8"})
    yield WriteBytes(q, data)
    return (yield ReadBytes(p))
""") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )
    assert codes(result) == []
    found = specs(result)
    assert set(found) == {"ReadText", "WriteBytes", "ReadBytes"}
    assert not any(s.is_stub for s in found.values())
    assert found["ReadText"].helpers[0].startswith("def _read_text(path, options):\n    with open(path, \"r\", **options)")


def test_json_and_pickle_through_a_whole_file_open_become_effects():
    result = check_transformed(
        "import json\nimport pickle\n" + DO + """
@do
def f(p, obj):
    with open(p) as src:
        cfg = json.load(src)
    with open(p + ".json", "w") as dst:
        json.dump(obj, dst, indent=2)
    with open(p + ".pkl", "wb") as dst:
        pickle.dump(obj, dst)
    with open(p + ".pkl", "rb") as src:
        back = pickle.load(src)
    return cfg, back
""",
        ("import json\nimport pickle\n" + DO + "from pkg.effects_handlers import HANDLERS, ReadJson, ReadPickle, WriteJson, WritePickle\n" + """
@do
def f(p, obj):
    cfg = yield ReadJson(p)
    yield WriteJson(p + ".json", obj, dump_options={"indent": 2})
    yield WritePickle(p + ".pkl", obj)
    back = yield ReadPickle(p + ".pkl")
    return cfg, back
""") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )
    assert codes(result) == []


def test_open_blocks_of_other_shapes_are_flagged_never_guessed():
    # the handle used after the block, appended to, read line by line, or passed elsewhere: all stay
    for body in (
        "    with open(p) as fh:\n        text = fh.read()\n    return fh.name\n",
        "    with open(p, 'a') as fh:\n        fh.write(p)\n",
        "    with open(p) as fh:\n        first = fh.readline()\n        rest = fh.read()\n",
        "    with open(p) as fh:\n        return fh.read(10)\n",
        "    with open(p, 'w') as fh:\n        fh.write(fh.name)\n",
        "    with open(p) as fh:\n        data = pickle.load(fh)\n",  # text mode for pickle
        "    with open(p, buffering=1) as fh:\n        return fh.read()\n",
    ):
        result = tools.migrate_source(
            "import pickle\n" + DO + "\n@do\ndef f(p):\n" + body, path="pkg/mod.py", phases=("io",)
        )
        assert "DM303" in codes(result), body
        assert "with open(" in result.code, body
        assert not any(e in result.code for e in ("ReadText", "WriteText", "ReadPickle")), body


def test_a_shadowed_open_is_not_the_builtin():
    check_noop(DO + "from myio import open\n\n@do\ndef f(p):\n    with open(p) as fh:\n        return fh.read()\n")


def test_open_other_than_a_whole_file_read_or_write_is_flagged_dm303():
    result = check_transformed(
        DO + "\n@do\ndef f(p):\n    with open(p) as fh:\n        return fh.readline()\n",
        DO + "\n@do\ndef f(p):\n"
        "    # doeff-migrate: DM303: `open(...)` left as it is: only whole-file `with open(...)` reads and writes are moved\n"
        "    with open(p) as fh:\n        return fh.readline()\n",
    )
    assert codes(result) == ["DM303"]


def test_whole_file_write_of_a_computed_value_stays_a_with_open():
    source = (
        "from doeff_migrate.runtime import do\n\n@do\ndef write_report(rows):\n"
        "    with open(\"report.txt\", \"w\") as f:\n        f.write(render(rows))\n    return 1\n"
    )
    result = tools.migrate_source(source, path="pkg/mod.py", phases=("io",))
    assert "with open(\"report.txt\", \"w\") as f:" in result.code and "WriteText" not in result.code
    assert codes(result) == ["DM303"]


def test_whole_file_write_of_a_name_or_literal_is_moved():
    io(
        "import json\nfrom doeff_migrate.runtime import do\n\n@do\ndef save(text, obj):\n"
        "    with open(\"a.txt\", \"w\") as f:\n        f.write(text)\n"
        "    with open(\"b.json\", \"w\") as f:\n        json.dump({\"obj\": obj, \"n\": [1, 2]}, f, indent=2)\n",
        "import json\nfrom doeff_migrate.runtime import do\nfrom pkg.effects_handlers import HANDLERS, WriteJson, WriteText\n\n"
        "@do\ndef save(text, obj):\n    yield WriteText(\"a.txt\", text)\n"
        "    yield WriteJson(\"b.json\", {\"obj\": obj, \"n\": [1, 2]}, dump_options={\"indent\": 2})\n\n\n__doeff_handlers__ = HANDLERS\n",
        path="pkg/mod.py",
    )
