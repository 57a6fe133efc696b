"""The ``io`` body rewriter: which calls are the libraries' (imports, shadowing, ambiguity) and the flags of IO left
as it is (DM313, DM314, DM316, DM318)."""

from __future__ import annotations

from functools import partial

from . import tools

check_noop = partial(tools.check_noop, phases=("io",))
check_transformed = partial(tools.check_transformed, phases=("io",), path="pkg/mod.py")
DO = "from doeff_migrate.runtime import do\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


io = partial(tools.check_transformed, phases=("io",))


def test_h5py_and_lmdb_handles_are_flagged_dm316():
    result = check_transformed(
        "import h5py\nimport lmdb\n" + DO + "\n@do\ndef f(p):\n    env = lmdb.open(p)\n    return env\n",
        "import h5py\nimport lmdb\n" + DO + "\n@do\ndef f(p):\n"
        "    # doeff-migrate: DM316: `lmdb.open(...)` left as it is: the handle it opens is read and written by the code after it\n"
        "    env = lmdb.open(p)\n    return env\n",
    )
    assert codes(result) == ["DM316"]


def test_explicit_cache_call_is_flagged_dm313():
    result = check_transformed(
        DO + "\n@do\ndef f(embed_cache, text):\n    hit = embed_cache.get(text)\n    return hit\n",
        DO + "\n@do\ndef f(embed_cache, text):\n"
        "    # doeff-migrate: DM313: cache.get/cache.set on a cache object in effectful code\n"
        "    hit = embed_cache.get(text)\n    return hit\n",
    )
    assert codes(result) == ["DM313"]


def test_noqa_suppresses_an_io_flag():
    check_noop("import wandb\n" + DO + "\n@do\ndef f():\n    wandb.init()  # noqa: DM301\n")


def test_io_through_alternatively_imported_name_is_left_and_flagged_dm318():
    result = io(
        "try:\n    import cupy as np\nexcept ImportError:\n    import numpy as np\nfrom doeff_migrate.runtime import do\n"
        "\n@do\ndef evaluate():\n    np.save(\"w.npy\", np.arange(3))\n    return 1\n",
        "try:\n    import cupy as np\nexcept ImportError:\n    import numpy as np\nfrom doeff_migrate.runtime import do\n"
        "\n@do\ndef evaluate():\n"
        "    # doeff-migrate: DM318: `np.save(...)` left as it is: the name is bound to `cupy.save` or `numpy.save` depending on how the module was loaded\n"
        "    np.save(\"w.npy\", np.arange(3))\n    return 1\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM318"]


def test_io_in_a_nested_default_or_class_body_is_flagged_dm314():
    result = io(
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\n@do\ndef f(path):\n"
        "    def helper(a=np.load(path)):\n        return a\n    class Box:\n        data = np.load(path)\n    return helper(), Box.data\n",
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\n@do\ndef f(path):\n"
        "    # doeff-migrate: DM314: `numpy.load(...)` in a nested function's defaults or decorators inside effectful code: left as it is, where `yield` cannot go\n"
        "    def helper(a=np.load(path)):\n        return a\n"
        "    # doeff-migrate: DM314: `numpy.load(...)` in a class body inside effectful code: left as it is, where `yield` cannot go\n"
        "    class Box:\n        data = np.load(path)\n    return helper(), Box.data\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM314", "DM314"]


def test_shadowed_library_name_is_not_the_library():
    check_noop("import numpy as np\n" + DO + "\n@do\ndef f(np, path):\n    return np.load(path)\n")


def test_unimported_name_that_looks_like_a_library_is_not_touched():
    check_noop(DO + "\n@do\ndef f(path):\n    return torch.load(path)\n")


def test_unresolvable_star_import_is_left_alone():
    check_noop("from numpy import *\n" + DO + "\n@do\ndef f(p):\n    return load(p)\n")
