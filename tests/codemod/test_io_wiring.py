"""The ``io`` phase's entry-point wiring: ``run(p)`` runs under the package's handlers, with recorders inside them
(DM321)."""

from __future__ import annotations

from functools import partial

from . import tools

check_transformed = partial(tools.check_transformed, phases=("io",), path="pkg/mod.py")
DO = "from doeff_migrate.runtime import do\n"
io = partial(tools.check_transformed, phases=("io",))


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


NP_TRAIN = "@do\ndef train(n):\n    return np.load(\"w.npy\") * n\n\n"


def test_entry_points_get_the_package_handlers_and_scripts_install_them():
    result = check_transformed(
        "import numpy as np\n" + DO.replace("do\n", "Program, do, run\n") + """
@do
def load(path):
    return np.load(path)

main: Program = load("a.npy")

if __name__ == "__main__":
    print(run(load("a.npy")))
""",
        "import numpy as np\n" + DO.replace("do\n", "Program, do, run\n")
        + "from pkg.effects_handlers import HANDLERS, LoadNumpyArray, with_effect_handlers\n" + """
@do
def load(path):
    return (yield LoadNumpyArray(path))

main: Program = load("a.npy")

__doeff_handlers__ = HANDLERS

if __name__ == "__main__":
    print(run(with_effect_handlers(load("a.npy"))))
""",
    )
    assert any(need.spec is None for need in result.effects)  # the module itself is needed for HANDLERS


def test_run_of_a_variable_inside_a_function_is_wired_with_the_recorder_inside():
    tools.check_transformed(
        "import numpy as np\nfrom doeff_migrate.runtime import do, run\n\n@do\ndef train(n):\n    return np.load(\"w.npy\") * n\n\n"
        "def main():\n    prog = train(2)\n    print(run(prog, handlers=[]))\n",
        "import numpy as np\nfrom doeff_migrate.runtime import do, run, with_handlers\n"
        "from pkg.effects_handlers import HANDLERS, LoadNumpyArray, recording_handlers, with_effect_handlers\n\n"
        "@do\ndef train(n):\n    return (yield LoadNumpyArray(\"w.npy\")) * n\n\n"
        "def main():\n    prog = train(2)\n    print(run(with_effect_handlers(with_handlers([*recording_handlers()], prog)), handlers=[]))\n\n\n"
        "__doeff_handlers__ = HANDLERS\n",
        path="pkg/mod.py", phases=("io", "recording"),
    )


def test_recording_wired_before_io_moves_inside_the_handlers():
    after_recording = tools.migrate_source(
        "import numpy as np\nfrom doeff_migrate.runtime import do, run\n\n@do\ndef train(n):\n    return np.load(\"w.npy\") * n\n\n"
        "if __name__ == \"__main__\":\n    run(train(2))\n", path="pkg/mod.py", phases=("recording",)).code
    assert "run(train(2), handlers=[*recording_handlers()])" in after_recording
    after_io = tools.migrate_source(after_recording, path="pkg/mod.py", phases=("io",)).code
    assert "run(with_effect_handlers(with_handlers([*recording_handlers()], train(2))), handlers=[])" in after_io


def test_users_own_recorder_first_in_the_stack_moves_inside_the_handlers():
    io(
        "import numpy as np\nfrom doeff_migrate.runtime import RecordingHandler, do, run\n\n" + NP_TRAIN
        + "if __name__ == \"__main__\":\n    run(train(2), handlers=[RecordingHandler(\"a.jsonl\"), print])\n",
        "import numpy as np\nfrom doeff_migrate.runtime import RecordingHandler, do, run, with_handlers\n"
        "from pkg.effects_handlers import HANDLERS, LoadNumpyArray, with_effect_handlers\n\n"
        "@do\ndef train(n):\n    return (yield LoadNumpyArray(\"w.npy\")) * n\n\n__doeff_handlers__ = HANDLERS\n\n"
        "if __name__ == \"__main__\":\n"
        "    run(with_effect_handlers(with_handlers([RecordingHandler(\"a.jsonl\")], train(2))), handlers=[print])\n",
        path="pkg/mod.py",
    )


def test_users_own_recorder_after_another_handler_is_left_and_flagged_dm321():
    result = io(
        "import numpy as np\nfrom doeff_migrate.runtime import RecordingHandler, do, run\n\n" + NP_TRAIN
        + "if __name__ == \"__main__\":\n    run(train(2), handlers=[print, RecordingHandler(\"a.jsonl\")])\n",
        "import numpy as np\nfrom doeff_migrate.runtime import RecordingHandler, do, run\n"
        "from pkg.effects_handlers import HANDLERS, LoadNumpyArray\n\n"
        "@do\ndef train(n):\n    return (yield LoadNumpyArray(\"w.npy\")) * n\n\n__doeff_handlers__ = HANDLERS\n\n"
        "if __name__ == \"__main__\":\n"
        "    # doeff-migrate: DM321: run(...) builds its own RecordingHandler/ReplayHandler after other handlers: the package's handlers are not installed here\n"
        "    run(train(2), handlers=[print, RecordingHandler(\"a.jsonl\")])\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM321"]
