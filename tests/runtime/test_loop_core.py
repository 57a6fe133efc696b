"""The interpreter's loop: its step functions stay small and readable, sub-programs run in pooled
runners without changing what programs see, and tail resumes are recognised exactly."""

import inspect
import threading
import weakref

import pytest

from doeff_migrate.runtime import (
    Ask,
    EffectBase,
    Resume,
    ResumeThrow,
    do,
    handler,
    reader,
    run,
)
from doeff_migrate.runtime import interpreter
from doeff_migrate.runtime.errors import UnhandledEffect
from doeff_migrate.runtime.handlers import NativeHandler
from doeff_migrate.runtime.stack import RUNNER_POOL_SIZE

LOOP_STEPS = ("_drive", "_to_generator_handler", "_native_redirect", "_resume", "_control", "_unwind")


@pytest.mark.parametrize("name", LOOP_STEPS)
def test_each_step_of_the_loop_fits_in_sixty_lines(name):
    lines, _ = inspect.getsourcelines(getattr(interpreter, name))
    assert len(lines) <= 60, f"{name} is {len(lines)} lines"


@pytest.mark.parametrize("name", LOOP_STEPS)
def test_the_steps_name_their_locals(name):
    code = getattr(interpreter, name).__code__
    assert [v for v in code.co_varnames if len(v) == 1] == []


def test_perform_site_location_reads_the_published_segment_not_frame_locals():
    source = inspect.getsource(interpreter.perform_site_location)
    for frame_access in ("f_locals", "_getframe", "f_back", "currentframe"):
        assert frame_access not in source


class Where(EffectBase):
    pass


class _SiteReporter(NativeHandler):
    types = (Where,)
    name = "site_reporter"

    def handle(self, effect, segment):
        return interpreter.perform_site_location()


def test_perform_site_location_names_the_sub_program_that_performed_the_effect():
    @do
    def inner():
        return (yield Where())

    @do
    def outer():
        return (yield inner())

    site = run(_SiteReporter()(outer()))
    line = inner.__wrapped__.__code__.co_firstlineno + 2
    assert site.endswith(f":{line} in inner"), site


# --- sub-programs through runners -------------------------------------------------------------


class Boom(EffectBase):
    pass


def test_an_exception_raised_in_a_sub_program_reaches_the_caller_try_block():
    @do
    def failing():
        yield Ask("x")
        raise ValueError("deep")

    @do
    def caller():
        try:
            yield failing()
        except ValueError as err:
            return f"caught {err}"
        return "not raised"

    assert run(reader(env={"x": 1})(caller())) == "caught deep"


def test_an_exception_raised_before_a_sub_program_yields_reaches_the_caller():
    @do
    def failing_at_once():
        raise KeyError("first step")
        yield

    @do
    def caller():
        try:
            yield failing_at_once()
        except KeyError:
            return "caught"

    assert run(caller()) == "caught"


def test_an_exception_thrown_into_a_waiting_sub_program_can_be_handled_there():
    @handler
    def explode(effect: Boom, k):
        return (yield ResumeThrow(k, ValueError("thrown")))

    @do
    def recovering():
        try:
            yield Boom()
        except ValueError:
            return "recovered inside"

    @do
    def caller():
        return (yield recovering())

    assert run(explode(caller())) == "recovered inside"


def test_an_aborted_block_closes_the_sub_programs_inside_it_outermost_first():
    closed = []

    @handler
    def abort(effect: Boom, k):
        return "aborted"

    @do
    def inner():
        try:
            yield Boom()
        finally:
            closed.append("inner")

    @do
    def middle():
        try:
            return (yield inner())
        finally:
            closed.append("middle")

    assert run(abort(middle())) == "aborted"
    assert closed == ["middle", "inner"]


def test_a_sub_program_return_value_is_not_kept_alive_by_an_idle_runner():
    class Payload:
        pass

    refs = []

    @do
    def make():
        payload = Payload()
        refs.append(weakref.ref(payload))
        return payload
        yield

    @do
    def caller():
        yield make()
        return "done"

    assert run(caller()) == "done"
    assert refs[0]() is None


def test_recursion_deeper_than_the_runner_pool_returns_every_level():
    @do
    def depth(n):
        if n == 0:
            return 0
        return (yield depth(n - 1)) + 1

    levels = RUNNER_POOL_SIZE + 500
    assert run(depth(levels)) == levels
    assert run(depth(levels)) == levels


def test_an_unhandled_effect_names_the_sub_program_that_performed_it():
    @do
    def inner():
        yield Boom()

    @do
    def outer():
        yield inner()

    with pytest.raises(UnhandledEffect) as info:
        run(outer())
    assert "in inner" in str(info.value)


def test_runs_on_several_threads_at_once_keep_their_own_runners():
    @do
    def leaf(i):
        return (yield Ask("x")) + i

    @do
    def many(offset):
        total = 0
        for i in range(2000):
            total += yield leaf(i)
        return total + offset

    results = {}

    def worker(offset):
        results[offset] = run(reader(env={"x": 1})(many(offset)))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = sum(1 + i for i in range(2000))
    assert results == {n: expected + n for n in range(4)}


# --- tail resumes -------------------------------------------------------------------------------


class Ping(EffectBase):
    pass


def _sites(h):
    return bool(h.tail_offsets), h.tail_only


def test_assigned_resume_returned_at_once_is_a_tail_resume():
    @handler
    def assigned(effect: Ping, k):
        r = yield Resume(k, 1)
        return r

    @handler
    def annotated(effect: Ping, k):
        r: int = yield Resume(k, 1)
        return r

    assert _sites(assigned) == (True, True)
    assert _sites(annotated) == (True, True)


def test_a_resume_whose_result_is_used_is_not_a_tail_resume():
    @handler
    def post_processed(effect: Ping, k):
        r = yield Resume(k, 1)
        return r + 1

    @handler
    def other_name(effect: Ping, k):
        r = yield Resume(k, 1)
        s = r
        return s

    assert _sites(post_processed) == (False, False)
    assert _sites(other_name) == (False, False)


def test_an_assignment_seen_outside_the_handler_is_not_a_tail_resume():
    seen = None

    @handler
    def sets_nonlocal(effect: Ping, k):
        nonlocal seen
        seen = yield Resume(k, 1)
        return seen

    @handler
    def guarded(effect: Ping, k):
        try:
            r = yield Resume(k, 1)
            return r
        finally:
            pass

    assert _sites(sets_nonlocal) == (False, False)
    assert _sites(guarded) == (False, False)

    @do
    def program():
        return (yield Ping()) * 10

    assert run(sets_nonlocal(program())) == 10
    assert seen == 10


def test_tail_only_is_false_when_the_handler_yields_elsewhere_too():
    @handler
    def mixed(effect: Ping, k):
        extra = yield Ask("x")
        if extra:
            return (yield Resume(k, extra))
        r = yield Resume(k, 0)
        return r * 2

    has_sites, tail_only = _sites(mixed)
    assert has_sites and not tail_only


def test_tail_and_non_tail_resumes_give_the_block_result_back():
    @handler
    def tail(effect: Ping, k):
        r = yield Resume(k, 2)
        return r

    @handler
    def non_tail(effect: Ping, k):
        r = yield Resume(k, 2)
        return ("wrapped", r)

    @do
    def block():
        return (yield Ping()) + 1

    assert run(tail(block())) == 3
    assert run(non_tail(block())) == ("wrapped", 3)


def test_yielding_none_is_a_bad_yield_in_a_main_program_and_in_a_re_entrant_call():
    @do
    def yields_none():
        yield None

    with pytest.raises(TypeError, match="may only yield effects or programs"):
        run(yields_none())

    @do
    def calls_it():
        try:
            interpreter.run_reentrant(yields_none())
        except TypeError as err:
            return str(err)
        return "no error"
        yield

    assert "may only yield effects or programs" in run(calls_it())


def test_a_handler_body_whose_first_step_yields_none_gets_the_bad_yield_error_there():
    @handler
    def confused(effect: Ping, k):
        try:
            yield None
        except TypeError as err:
            return (yield Resume(k, str(err)))

    @do
    def program():
        return (yield Ping())

    assert "may only yield effects or programs" in run(confused(program()))


# --- state()'s Get/Put answered in the send step (Segment.state_store) ---------------------------


def test_get_and_put_of_any_key_under_state_answer_as_the_state_handler_does():
    from doeff_migrate.runtime import Get, Put, state

    @do
    def inner():
        yield Put(("pair", 1), "tuple key")
        yield Put(7, "int key")
        yield Put("x", (yield Get("x")) + 1)
        return (yield Get("x")), (yield Get(("pair", 1))), (yield Get(7)), (yield Get("never put"))

    @do
    def outer():
        yield Put("x", 40)
        first = yield inner()
        return first, (yield Get("x"))

    assert run(state()(outer())) == ((41, "tuple key", "int key", None), 41)


def test_an_unhashable_state_key_raises_at_the_yield_where_the_program_can_catch_it():
    from doeff_migrate.runtime import Get, Put, state

    @do
    def program():
        caught = []
        for effect in (Get([1]), Put({}, 1)):
            try:
                yield effect
            except TypeError as err:
                caught.append(str(err))
        return caught

    assert run(state()(program())) == ["unhashable type: 'list'", "unhashable type: 'dict'"]


def test_a_handler_between_the_program_and_state_sees_the_get_and_put_it_takes():
    from doeff_migrate.runtime import Get, Pass, Put, state

    seen = []

    @handler
    def spy_puts(effect: Put, k):
        seen.append(("put", effect.key, effect.value))
        yield Pass(effect, k)

    @handler
    def fixed_gets(effect: Get, k):
        seen.append(("get", effect.key))
        return (yield Resume(k, 100))

    @do
    def program():
        yield Put("x", 1)
        return (yield Get("x"))

    assert run(state()(spy_puts(program()))) == 1
    assert seen == [("put", "x", 1)]
    seen.clear()
    assert run(state()(fixed_gets(program()))) == 100
    assert seen == [("get", "x")]


def test_a_re_entrant_call_and_a_spawned_task_read_the_state_of_their_run():
    from doeff_migrate.runtime import Gather, Get, Put, Spawn, state

    @do
    def read():
        return (yield Get("x"))

    @do
    def program():
        yield Put("x", 5)
        task = yield Spawn(read())
        spawned = (yield Gather(task))[0]
        return interpreter.run_reentrant(read()), spawned

    assert run(state()(program())) == (5, 5)
