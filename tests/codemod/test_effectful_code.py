"""Effectful-code detection and name resolution through the file's imports, shared by the compute, io and recording
phases."""

from __future__ import annotations

from functools import partial

from . import tools

check_noop = partial(tools.check_noop, phases=("compute",))
HEAD = "import ray\nfrom doeff_migrate.runtime import do\n"
io = partial(tools.check_transformed, phases=("io",))


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


def test_a_local_named_ray_is_not_rays():
    check_noop(HEAD + """
@do
def f(ray, x):
    return ray.get(x)
""")


def test_do_of_another_library_is_not_effectful_code():
    check_noop("import ray\nfrom mylib import do\n\n@do\ndef f(x):\n    return ray.get(x)\n")


def test_async_def_under_do_is_not_effectful_code():
    tools.check_noop(
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\n@do\nasync def load(path):\n    return np.load(path)\n",
        path="pkg/mod.py", phases=("compute", "io", "recording"),
    )


def test_import_rebound_by_an_assignment_is_not_the_library():
    result = io(
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\nnp = object()\n\n@do\ndef f():\n    return np.load(\"w.npy\")\n",
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\nnp = object()\n\n@do\ndef f():\n"
        "    # doeff-migrate: DM318: `np.load(...)` left as it is: the name is bound to `numpy.load` or to another object depending on how the module was loaded\n"
        "    return np.load(\"w.npy\")\n",
        path="pkg/mod.py",
    )
    assert codes(result) == ["DM318"]
