"""The ``io`` phase's movable calls: catalogued checkpoint/array/HTTP calls become declared effects with complete
handlers; other shapes are flagged (DM314, DM320)."""

from __future__ import annotations

from functools import partial

from . import tools

check_noop = partial(tools.check_noop, phases=("io",))
check_transformed = partial(tools.check_transformed, phases=("io",), path="pkg/mod.py")
DO = "from doeff_migrate.runtime import do\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


def effects(result) -> list[str]:
    return [need.spec.effect for need in result.effects if need.spec is not None]


io = partial(tools.check_transformed, phases=("io",))


def test_checkpoint_calls_become_declared_effects_with_keywords_as_options():
    result = check_transformed(
        "import numpy as np\nimport torch\n" + DO + """
@do
def evaluate(path, out):
    model = torch.load(path, map_location="cpu")
    arr = np.load(path)
    np.save(out, arr)
    return model
""",
        ("import numpy as np\nimport torch\n" + DO + "from pkg.effects_handlers import HANDLERS, LoadNumpyArray, LoadTorchCheckpoint, SaveNumpyArray\n" + """
@do
def evaluate(path, out):
    model = yield LoadTorchCheckpoint(path, options={"map_location": "cpu"})
    arr = yield LoadNumpyArray(path)
    yield SaveNumpyArray(out, arr)
    return model
""") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )
    assert effects(result) == ["LoadTorchCheckpoint", "LoadNumpyArray", "SaveNumpyArray"]
    assert {need.directory.replace("\\", "/").rsplit("/", 1)[-1] for need in result.effects} == {"pkg"}


def test_http_call_becomes_a_declared_effect():
    check_transformed(
        "import requests\n" + DO + "\n@do\ndef fetch(url):\n    return requests.get(url, timeout=5).json()\n",
        ("import requests\n" + DO + "from pkg.effects_handlers import HANDLERS, RequestsGet\n"
        "\n@do\ndef fetch(url):\n    return (yield RequestsGet(url, options={\"timeout\": 5})).json()\n") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )


def test_pickle_load_of_a_file_object_moves_and_h5py_is_flagged_dm316():
    result = check_transformed(
        "import pickle\nimport h5py\n" + DO + "\n@do\ndef f(fh, p):\n    x = pickle.load(fh)\n    d = h5py.File(p)\n    return x, d\n",
        ("import pickle\nimport h5py\n" + DO + "from pkg.effects_handlers import HANDLERS, LoadPickle\n\n@do\ndef f(fh, p):\n"
        "    x = yield LoadPickle(fh)\n"
        "    # doeff-migrate: DM316: `h5py.File(...)` left as it is: the handle it opens is read and written by the code after it\n"
        "    d = h5py.File(p)\n    return x, d\n") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )
    assert codes(result) == ["DM316"]
    assert effects(result) == ["LoadPickle"]


def test_movable_call_with_another_shape_is_flagged_dm314():
    result = check_transformed(
        "import torch\n" + DO + "\n@do\ndef f(args):\n    return torch.load(*args)\n",
        "import torch\n" + DO + "\n@do\ndef f(args):\n"
        "    # doeff-migrate: DM314: `torch.load(...)` left as it is: the codemod moves it only with exactly 1 positional argument(s) (path) and plain keywords\n"
        "    return torch.load(*args)\n",
    )
    assert codes(result) == ["DM314"]


def test_movable_call_in_a_comprehension_is_flagged_dm314():
    result = check_transformed(
        "import numpy as np\n" + DO + "\n@do\ndef f(ps):\n    return [np.load(p) for p in ps]\n",
        "import numpy as np\n" + DO + "\n@do\ndef f(ps):\n"
        "    # doeff-migrate: DM314: `numpy.load(...)` inside a comprehension or lambda, where `yield` cannot go\n"
        "    return [np.load(p) for p in ps]\n",
    )
    assert codes(result) == ["DM314"]
    assert result.effects == []


def test_non_io_numpy_calls_are_not_touched():
    check_noop("import numpy as np\n" + DO + "\n@do\ndef f(n):\n    return np.zeros(n).sum()\n")


def test_npz_archive_load_is_left_and_flagged_dm320():
    result = io(
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\n@do\ndef f(p):\n"
        "    with np.load(p) as data:\n        a = data[\"a\"]\n    z = np.load(\"z.npz\")\n    return a, z\n",
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\n@do\ndef f(p):\n"
        "    # doeff-migrate: DM320: np.load of an .npz archive (or used as a context manager): left as it is, its NpzFile cannot be recorded\n"
        "    with np.load(p) as data:\n        a = data[\"a\"]\n"
        "    # doeff-migrate: DM320: np.load of an .npz archive (or used as a context manager): left as it is, its NpzFile cannot be recorded\n"
        "    z = np.load(\"z.npz\")\n    return a, z\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM320", "DM320"]
