"""pinjected utilities used directly (the injected_utils / pinjected_openai patterns) behave as under real pinjected.

Each project runs with pinjected 0.2.252 and, migrated (codemod/transforms/pinjected_utilities.py, whose
counterparts are runtime/compat.py), with pinjected unimportable (harness.assert_same_behaviour): results and
stdout must be identical, and no pinjected import may be left.
"""

from __future__ import annotations

import pytest

from .harness import assert_same_behaviour

INIT = {"app/__init__.py": ""}

PROJECTS: dict[str, tuple[dict[str, str], list[str]]] = {
    # pinjected_openai/whisper.py: a task group imported in the body of an async injected function.
    "task_group_in_async_injected": ({**INIT, "app/main.py": """\
        import asyncio

        from pinjected import IProxy, design, injected

        @injected
        async def a_transcribe_all(transcribe, /, chunks):
            from pinjected.compatibility.task_group import TaskGroup

            async def task(i, chunk):
                await asyncio.sleep(0.01 * (len(chunks) - i))
                text = transcribe(chunk)
                print("chunk", i, text)
                return text

            async with TaskGroup() as tg:
                tasks = [tg.create_task(task(i, c)) for i, c in enumerate(chunks)]
            return " ".join(t.result() for t in tasks)

        __design__ = design(transcribe=str.upper)
        main: IProxy = a_transcribe_all(["a", "bc", "def"])
        """}, ["app.main.main"]),
    # injected_utils/pickling.py, progress.py: a module-level task group, its errors caught as a group.
    "task_group_errors": ({**INIT, "app/main.py": """\
        from pinjected import IProxy, design, injected
        from pinjected.compatibility.task_group import CompatibleExceptionGroup, TaskGroup

        async def checked(limit, x):
            if x > limit:
                raise ValueError(f"{x} > {limit}")
            return x * 2

        @injected
        async def a_run_batch(limit, /, xs):
            try:
                async with TaskGroup() as tg:
                    tasks = [tg.create_task(checked(limit, x)) for x in xs]
                return [t.result() for t in tasks]
            except CompatibleExceptionGroup as group:
                print("failed:", sorted(str(e) for e in group.exceptions))
                return None

        __design__ = design(limit=3)
        ok: IProxy = a_run_batch([1, 2, 3])
        failing: IProxy = a_run_batch([1, 5, 2])
        """}, ["app.main.ok", "app.main.failing"]),
    # injected_utils/cached_function.py: cache keys checked with check_picklable before they are stored;
    # picklability_checker.py: expressions are told apart with ``isinstance(x, Expr)``.
    "check_picklable_keys": ({**INIT, "app/checks.py": """\
        import threading

        from pinjected.di.expr_util import Expr
        from pinjected.di.util import check_picklable

        def key_status(key):
            try:
                check_picklable(key)
                return "picklable"
            except RuntimeError as e:
                cause = e.__cause__
                return f"{e} ({type(cause).__name__}: {type(cause.src).__name__}: {cause.src})"
            except AttributeError as e:
                return f"AttributeError: {e}"

        def statuses():
            keys = [{"a": 1, "b": {"c": [2]}}, {"a": 1, "b": {"lock": threading.Lock()}}, (threading.Lock(),)]
            return [key_status(k) for k in keys]

        def expressions(values):
            return [isinstance(v, Expr) for v in values]
        """, "app/main.py": """\
        from pinjected import IProxy, design, injected

        from app.checks import expressions, statuses

        @injected
        def report(label, /):
            print(label)
            return statuses(), expressions([1, "x", None, {"k": 2}])

        __design__ = design(label="keys")
        main: IProxy = report()
        """}, ["app.main.main"]),
}


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_pinjected_utilities_behave_as_in_pinjected(tmp_path, name):
    files, targets = PROJECTS[name]
    assert_same_behaviour(tmp_path, files, targets)
