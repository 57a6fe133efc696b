"""runtime/compat.py behaves as the pinjected 0.2.252 utilities it stands for, checked against real pinjected."""

from __future__ import annotations

import asyncio
import logging
import pickle
import subprocess
import sys
import threading

import pytest
from pinjected.compatibility import task_group as pinjected_task_group
from pinjected.di import util as pinjected_util

from doeff_migrate.runtime import compat


def test_task_group_and_exception_group_are_pinjected_s_on_this_python():
    assert compat.TaskGroup is pinjected_task_group.TaskGroup is asyncio.TaskGroup
    assert compat.CompatibleExceptionGroup is pinjected_task_group.CompatibleExceptionGroup is ExceptionGroup


def test_task_group_runs_tasks_and_groups_their_errors():
    async def fail(message):
        raise ValueError(message)

    async def run():
        results = []
        async with compat.TaskGroup() as tg:
            tasks = [tg.create_task(asyncio.sleep(0, i)) for i in range(3)]
        results.append([t.result() for t in tasks])
        try:
            async with compat.TaskGroup() as tg:
                tg.create_task(fail("boom"))
        except compat.CompatibleExceptionGroup as group:
            results.append([str(e) for e in group.exceptions])
        return results

    assert asyncio.run(run()) == [[0, 1, 2], ["boom"]]


def _outcome(check, value):
    try:
        return ("ok", check(value))
    except RuntimeError as error:
        cause = error.__cause__
        return ("raised", str(error), type(cause).__name__, type(cause.src).__name__, str(cause.src), isinstance(cause, BaseException))
    except Exception as error:  # noqa: BLE001 (the error type itself is compared)
        return ("raised", type(error).__name__, str(error))


VALUES = {
    "picklable nested dict": {"a": 1, "b": {"c": [1, 2], "d": "x"}},
    "unpicklable nested leaf": {"a": 1, "b": {"lock": threading.Lock(), "ok": 2}},
    "unpicklable top-level leaf": {"f": threading.Lock()},
    "picklable non-dict": (1, "k"),
    "unpicklable non-dict": (threading.Lock(),),
}


@pytest.mark.parametrize("name", list(VALUES))
def test_check_picklable_has_pinjected_s_outcome(name):
    value = VALUES[name]
    assert _outcome(compat.check_picklable, value) == _outcome(pinjected_util.check_picklable, value)


def test_check_picklable_logs_the_failing_leaves(caplog):
    with caplog.at_level(logging.ERROR, logger="doeff_migrate.runtime.compat"):
        with pytest.raises(RuntimeError, match="this object is not picklable. check the error messages above."):
            compat.check_picklable({"a": 1, "b": {"lock": threading.Lock(), "ok": 2}})
    first, second = (r.getMessage() for r in caplog.records)
    assert first.startswith("Failed to pickle target: {'b': {'lock': (<Failure: ")
    assert "'ok'" not in first and "'a'" not in first
    assert "EncodedFile pickling error" in second


def test_error_with_trace_survives_pickling_and_shows_the_trace():
    error = compat.ErrorWithTrace(ValueError("bad"), "Traceback ...")
    again = pickle.loads(pickle.dumps(error))
    assert (type(again.src), str(again.src), again.trace) == (ValueError, "bad", "Traceback ...")
    assert str(again) == str(pinjected_util.ErrorWithTrace(ValueError("bad"), "Traceback ...")) == "bad\n Traceback ..."


_FALLBACK_RUN = """
import asyncio, importlib, sys
del asyncio.TaskGroup  # Python 3.10 has none: the fallback task group is defined
module = importlib.import_module(sys.argv[1])

async def fail(message):
    await asyncio.sleep(0)
    raise ValueError(message)

async def run():
    async with module.TaskGroup() as tg:
        tasks = [tg.create_task(asyncio.sleep(0, i)) for i in range(3)]
    out = [[t.result() for t in tasks]]
    try:
        async with module.TaskGroup() as tg:
            tg.create_task(fail("boom"))
            tg.create_task(asyncio.sleep(0, "fine"))
    except module.CompatibleExceptionGroup as group:
        error = group
    group_type = module.CompatibleExceptionGroup
    out.append([
        group_type is ExceptionGroup, issubclass(group_type, Exception), type(error.__cause__).__name__,
        [f"{type(e).__name__}: {e}" for e in error.exceptions],
    ])
    return out

print(asyncio.run(run()))
"""


def test_fallback_task_group_before_python_3_11_is_pinjected_s():
    def run(name):
        done = subprocess.run([sys.executable, "-c", _FALLBACK_RUN, name], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    expected = run("pinjected.compatibility.task_group")
    assert expected == "[[0, 1, 2], [False, True, 'ValueError', ['ValueError: boom']]]\n"
    assert run("doeff_migrate.runtime.compat") == expected
