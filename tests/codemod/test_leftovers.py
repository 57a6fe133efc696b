"""Pinjected names left in plain code after the rewrite (codemod/transforms/leftovers.py, codemod/imports.py)."""

from __future__ import annotations

from textwrap import dedent

from doeff_migrate.codemod.api import ProjectIndex, migrate_source
from doeff_migrate.runtime import Pure, do
from doeff_migrate.runtime.expressions import expr
from doeff_migrate.runtime.pinjected_types import Injected, IProxy

from .tools import check_noop, check_transformed


def test_injected_used_as_a_type_in_plain_code_comes_from_the_runtime():
    check_transformed(
        """\
        from pinjected import Injected, injected

        def is_lazy(x) -> bool:
            return isinstance(x, Injected)

        @injected
        def f(k, /, x):
            return is_lazy(x), k
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding
        from doeff_migrate.runtime.pinjected_types import Injected

        def is_lazy(x) -> bool:
            return isinstance(x, Injected)

        @function_binding
        @do
        def f(x):
            k = yield Ask("k")
            return is_lazy(x), k
        """,
    )


def test_injected_used_as_api_keeps_the_pinjected_import():
    # ``Injected.pure(x).proxy`` in a plain helper is pinjected's API with no runtime counterpart, not a type
    # test: it stays (and is flagged).
    result = check_transformed(
        """\
        from pinjected import Injected

        def lazy(x):
            return Injected.pure(x).proxy
        """,
        """\
        from pinjected import Injected

        # doeff-migrate: DM135: plain function builds pinjected objects (`Injected.pure(...)`) that now mix with @do programs: port it by hand
        def lazy(x):
            return Injected.pure(x).proxy
        """,
    )
    assert [f.code for f in result.flags] == ["DM135"]


def test_type_only_imports_that_nothing_uses_any_more_are_removed_with_their_block():
    check_transformed(
        """\
        from typing import TYPE_CHECKING
        from pinjected import design

        if TYPE_CHECKING:
            from pinjected import Design

        __design__: Design = design(lr=0.1)
        """,
        """\
        from typing import TYPE_CHECKING

        __design__ = {"lr": 0.1}
        """,
    )


def test_type_only_import_still_used_in_an_annotation_stays():
    check_noop(
        """\
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from pinjected import Design

        def describe(d: "Design") -> str:
            return "design"
        """,
    )


def test_the_runtime_types_answer_for_programs_and_not_for_values():
    @do
    def program():
        return 1

    for value in (program(), Pure(1), expr(Pure(2)).real):
        assert isinstance(value, Injected) and isinstance(value, IProxy)
    for value in (1, "Ada", None, [Pure(1)]):
        assert not isinstance(value, Injected) and not isinstance(value, IProxy)
    assert IProxy[int] is IProxy


def migrate(files: dict[str, str], path: str = "app/main.py"):
    sources = {p: dedent(s) for p, s in files.items()}
    return migrate_source(sources[path], path=path, index=ProjectIndex.from_sources(sources))


def flag_above(code: str, line_text: str) -> list[str]:
    """The codes of the ``# doeff-migrate`` comments right above ``line_text`` (which must be unchanged)."""
    lines = code.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == line_text.strip())
    codes = []
    i = at - 1
    while i >= 0 and lines[i].strip().startswith("@"):  # the flag sits above the decorators
        i -= 1
    while i >= 0 and lines[i].strip().startswith("# doeff-migrate: "):
        codes.append(lines[i].strip().split(":")[1].strip())
        i -= 1
    return codes


def _migrate(files: dict[str, str], path: str):
    files = {p: dedent(s) for p, s in files.items()}
    return migrate_source(files[path], path=path, index=ProjectIndex.from_sources(files))


def test_pinjected_api_inside_a_plain_function_is_flagged_dm135():
    result = migrate({"app/main.py": """
        from pinjected import design, injected

        @injected
        def train(lr, /, epochs):
            return ["train", lr, epochs]

        def make_job_lr():
            return train(injected("alt_lr"))

        def make_job(n):
            return train(n)

        job3 = make_job_lr()
        __design__ = design(lr=0.1, alt_lr=0.5)
    """})
    assert flag_above(result.code, "def make_job_lr():") == ["DM135"], result.code
    assert flag_above(result.code, "def make_job(n):") == [], result.code


def test_with_design_inside_a_plain_function_is_flagged_dm135():
    # pinjected scopes what is built under the block to its design; the migrated calls inside the
    # function would run with the module's env instead, so the helper is left for a hand port.
    result = migrate({
        "app/__init__.py": "",
        "app/main.py": """
            from pinjected import design, injected, instance

            @instance
            def base():
                return 1

            @injected
            def f(base, /, x):
                return base + x

            def scoped():
                with design(base=10):
                    return f(1)

            main = f(2)
        """,
    })
    assert flag_above(result.code, "def scoped():") == ["DM135"], result.code
    assert "with design(base=10):" in result.code
    assert [f.code for f in result.flags] == ["DM135"]


def test_star_import_of_pinjected_is_migrated():
    """``from pinjected import *`` makes the decorators visible."""
    result = _migrate(
        {"app/__init__.py": "", "app/lib.py": """\
            from pinjected import *

            @injected
            def helper(base, /, x):
                return base + x
        """},
        "app/lib.py",
    )
    assert "@function_binding\n@do\ndef helper(x):\n    base = yield Ask(\"base\")" in result.code
    assert "pinjected" not in result.code  # the star import goes with the last use of its names


def test_star_import_of_pinjected_stays_while_its_names_are_used():
    result = _migrate(
        {"app/__init__.py": "", "app/lib.py": """            # the API of pinjected
            from pinjected import *
            import os

            @injected
            def helper(base, /, x):
                return base + x

            @instance
            def client():
                return {"rows": [1, 2, 3]}

            start: IProxy = Injected.pure(1)
            main: IProxy = client["rows"][start:]
        """},
        "app/lib.py",
    )
    # A proxy in slice bounds stays pinjected (DM108): its `IProxy` still comes from the star import.
    assert "from pinjected import *\n" in result.code
    assert "# doeff-migrate: DM108" in result.code
    assert "@do\ndef helper(x):" in result.code


def test_star_import_of_pinjected_is_removed_with_its_comment_kept():
    check_transformed(
        """\
        # the API of pinjected
        from pinjected import *
        import os

        @injected
        def helper(base, /, x):
            return os.sep + base + x
        """,
        """\
        # the API of pinjected
        import os
        from doeff_migrate.runtime import Ask, do, function_binding

        @function_binding
        @do
        def helper(x):
            base = yield Ask("base")
            return os.sep + base + x
        """,
    )


def test_pinjected_api_through_a_project_facade_is_flagged_and_its_dependents_too():
    """``from app.di import injected``: the module stays pinjected (DM122), callers DM117."""
    files = {
        "app/__init__.py": "",
        "app/di.py": "from pinjected import injected, design, IProxy\n",
        "app/lib.py": """\
            from app.di import injected

            @injected
            def helper(base, /, x):
                return base + x
        """,
        "app/main.py": """\
            from pinjected import IProxy, design, injected

            @injected
            def run(helper, /, x):
                return helper(x) * 2
        """,
    }
    lib = _migrate(files, "app/lib.py")
    assert [f.code for f in lib.flags] == ["DM122"]
    assert "@injected\ndef helper(base, /, x):" in lib.code
    main = _migrate(files, "app/main.py")
    assert [f.code for f in main.flags] == ["DM117"]


def test_only_string_annotations_count_as_uses_of_a_pinjected_import():
    """A string that is not an annotation (a key, ``Ask("design")``) does not keep ``design`` imported; a
    string annotation keeps ``Design``."""
    result = _migrate(
        {"app/__init__.py": "", "app/lib.py": """\
            from pinjected import Design, design, injected

            @injected
            def helper(base, /, x, d: "Design | None" = None):
                return {"design": base + x}
        """},
        "app/lib.py",
    )
    assert result.code.startswith("from pinjected import Design\n")
