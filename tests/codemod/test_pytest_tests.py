"""``@injected_pytest`` -> a program plus a plain pytest function (codemod/transforms/pytest_tests.py)."""

from __future__ import annotations

from .tools import check_transformed

TEST_PATH = "test_example.py"  # a test module: the recording phase leaves its runs alone


def test_async_test_with_an_inline_design_becomes_a_program_and_a_plain_test():
    check_transformed(
        """\
        from pinjected import design
        from pinjected.test import injected_pytest

        @injected_pytest(design(factor=5))
        async def test_factor(factor, client):
            assert factor == 5
            await client.close()
        """,
        """\
        from doeff_migrate.runtime import Ask, Await, do
        from doeff_migrate.runtime.testing import run_injected_test

        @do
        def _test_factor():
            factor = yield Ask("factor")
            client = yield Ask("client")
            assert factor == 5
            yield Await(client.close())


        def test_factor():
            run_injected_test(_test_factor(), __name__, {"factor": 5})

        __doeff_requires__ = {"_test_factor": ("factor", "client")}
        """,
        path=TEST_PATH,
    )


def test_bare_decorator_and_empty_parentheses_run_with_the_module_env_only():
    check_transformed(
        """\
        from pinjected.test import injected_pytest

        @injected_pytest
        def test_a(logger):
            logger.info("a")

        @injected_pytest()
        def test_b(tmp_path):
            assert tmp_path
        """,
        """\
        from doeff_migrate.runtime import Ask, do
        from doeff_migrate.runtime.testing import run_injected_test

        @do
        def _test_a():
            logger = yield Ask("logger")
            logger.info("a")


        def test_a():
            run_injected_test(_test_a(), __name__)

        @do
        def _test_b():
            tmp_path = yield Ask("tmp_path")
            assert tmp_path


        def test_b():
            run_injected_test(_test_b(), __name__)

        __doeff_requires__ = {"_test_a": ("logger",), "_test_b": ("tmp_path",)}
        """,
        path=TEST_PATH,
    )


def test_override_keyword_and_design_sums_are_translated():
    check_transformed(
        """\
        from pinjected import design
        from pinjected.test import injected_pytest

        base = design(factor=2)

        @injected_pytest(override=base + design(offset=1))
        def test_sum(factor, offset):
            assert factor + offset == 3
        """,
        """\
        from doeff_migrate.runtime import Ask, do
        from doeff_migrate.runtime.testing import run_injected_test

        base = {"factor": 2}

        @do
        def _test_sum():
            factor = yield Ask("factor")
            offset = yield Ask("offset")
            assert factor + offset == 3


        def test_sum():
            run_injected_test(_test_sum(), __name__, base | {"offset": 1})

        __doeff_requires__ = {"_test_sum": ("factor", "offset")}
        """,
        path=TEST_PATH,
    )


def test_override_computed_by_project_code_is_passed_as_it_is():
    check_transformed(
        """\
        from pinjected.test import injected_pytest
        from fixtures import make_design

        @injected_pytest(make_design())
        def test_it(logger):
            assert logger
        """,
        """\
        from fixtures import make_design
        from doeff_migrate.runtime import Ask, do
        from doeff_migrate.runtime.testing import run_injected_test

        @do
        def _test_it():
            logger = yield Ask("logger")
            assert logger


        def test_it():
            run_injected_test(_test_it(), __name__, make_design())
        """,
        path=TEST_PATH,
    )


def test_marks_above_the_decorator_go_on_the_plain_test():
    check_transformed(
        """\
        import pytest
        from pinjected.test import injected_pytest

        @pytest.mark.slow
        @injected_pytest
        def test_marked(factor):
            assert factor
        """,
        """\
        import pytest
        from doeff_migrate.runtime import Ask, do
        from doeff_migrate.runtime.testing import run_injected_test

        @do
        def _test_marked():
            factor = yield Ask("factor")
            assert factor


        @pytest.mark.slow
        def test_marked():
            run_injected_test(_test_marked(), __name__)

        __doeff_requires__ = {"_test_marked": ("factor",)}
        """,
        path=TEST_PATH,
    )


def test_injected_function_dependencies_are_called_as_programs():
    check_transformed(
        """\
        from pinjected import injected
        from pinjected.test import injected_pytest

        @injected
        async def a_double(factor, /, x):
            return x * factor

        @injected_pytest
        async def test_double(a_double):
            assert await a_double(2) == 4
        """,
        """\
        from doeff_migrate.runtime import Ask, do, function_binding
        from doeff_migrate.runtime.testing import run_injected_test

        @function_binding
        @do
        def a_double(x):
            factor = yield Ask("factor")
            return x * factor

        @do
        def _test_double():
            assert (yield a_double(2)) == 4


        def test_double():
            run_injected_test(_test_double(), __name__)

        __doeff_requires__ = {"_test_double": ("factor", "a_double")}
        """,
        path=TEST_PATH,
    )


def test_test_method_in_a_class_stays_flagged():
    check_transformed(
        """\
        from pinjected.test import injected_pytest

        class TestGroup:
            @injected_pytest
            def test_in_class(self, factor):
                assert factor
        """,
        """\
        from pinjected.test import injected_pytest

        class TestGroup:
            # doeff-migrate: DM109: pinjected runner/IDE/test machinery: port this by hand
            @injected_pytest
            def test_in_class(self, factor):
                assert factor
        """,
        path=TEST_PATH,
    )


def test_override_imported_from_a_module_the_index_cannot_read_is_passed_as_it_is():
    check_transformed(
        """\
        from pinjected.test import injected_pytest
        from settings import TEST_DESIGN

        @injected_pytest(TEST_DESIGN)
        def test_it(logger):
            assert logger
        """,
        """\
        from settings import TEST_DESIGN
        from doeff_migrate.runtime import Ask, do
        from doeff_migrate.runtime.testing import run_injected_test

        @do
        def _test_it():
            logger = yield Ask("logger")
            assert logger


        def test_it():
            run_injected_test(_test_it(), __name__, TEST_DESIGN)
        """,
        path=TEST_PATH,
    )

