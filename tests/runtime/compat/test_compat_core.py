"""`@do`, `Pure`, user effects and `run`: the same programs on doeff 0.8.0 and on the runtime."""

from dataclasses import dataclass

import pytest

from compat_harness import Scenarios, check_scenario, raised, returned

SCENARIOS = Scenarios()


def ping_effect(api):
    """A user effect: a frozen dataclass deriving from EffectBase[T], as migrated code declares them."""

    @dataclass(frozen=True)
    class Ping(api.EffectBase[int]):
        n: int

    return Ping


@SCENARIOS.add(returned(3, "built", "body ran"))
def do_call_is_lazy(api):
    @api.do
    def body():
        api.trace.append("body ran")
        return 3
        yield

    program = body()
    api.trace.append("built")
    return api.run(program)


@SCENARIOS.add(returned([6, 6], "body ran", "body ran"))
def do_program_is_rerunnable(api):
    Ping = ping_effect(api)

    @api.handler
    def double(effect: Ping, k):
        return (yield api.Resume(k, effect.n * 2))

    @api.do
    def body():
        api.trace.append("body ran")
        return (yield Ping(3))

    program = double(body())
    return [api.run(program), api.run(program)]


@SCENARIOS.add(returned(42))
def do_on_function_without_yield(api):
    @api.do
    def plain(x):
        return x * 2

    return api.run(plain(21))


@SCENARIOS.add(returned(True))
def do_call_is_a_program(api):
    @api.do
    def body():
        return 1
        yield

    return isinstance(body(), api.Program)


@SCENARIOS.add(raised("TypeError", "Exception"))
def do_on_async_def_is_refused(api):
    async def fetch():
        return 1

    api.do(fetch)


@SCENARIOS.add(returned(("sub", 5)))
def yield_program_binds_its_return_value(api):
    @api.do
    def sub(x):
        return ("sub", x)
        yield

    @api.do
    def main():
        return (yield sub(5))

    return api.run(main())


@SCENARIOS.add(returned(14, ("handled", 7)))
def yield_effect_binds_the_answer(api):
    Ping = ping_effect(api)

    @api.handler
    def answer(effect: Ping, k):
        api.trace.append(("handled", effect.n))
        return (yield api.Resume(k, effect.n * 2))

    @api.do
    def main():
        return (yield Ping(7))

    return api.run(answer(main()))


@SCENARIOS.add(returned(["a", "b"]))
def yield_from_sub_program_also_binds(api):
    @api.do
    def sub(x):
        return x
        yield

    @api.do
    def main():
        a = yield sub("a")
        b = yield from sub("b")
        return [a, b]

    return api.run(main())


@SCENARIOS.add(returned(5))
def run_pure(api):
    return api.run(api.Pure(5))


@SCENARIOS.add(returned(9))
def yield_pure_inside_program(api):
    @api.do
    def main():
        x = yield api.Pure(4)
        return x + 5

    return api.run(main())


@SCENARIOS.add(returned(1))
def run_bare_effect_under_handler(api):
    return api.run(api.reader(env={"x": 1})(api.Ask("x")))


@SCENARIOS.add(returned((True, False, True)))
def user_effects_compare_by_value(api):
    Ping = ping_effect(api)
    return (Ping(1) == Ping(1), Ping(1) == Ping(2), hash(Ping(1)) == hash(Ping(1)))


@SCENARIOS.add(returned(True))
def effect_is_alias_of_effect_base(api):
    Ping = ping_effect(api)
    return isinstance(Ping(1), api.Effect)


@SCENARIOS.add(raised("ValueError", "Exception", trace=("before",)))
def run_raises_the_original_exception(api):
    @api.do
    def main():
        api.trace.append("before")
        yield api.Pure(None)
        raise ValueError("boom")

    return api.run(main())


@SCENARIOS.add(raised("PipelineError", "Exception"))
def run_raises_user_exception_type(api):
    class PipelineError(Exception):
        pass

    @api.do
    def leaf():
        raise PipelineError("leaf failed")
        yield

    @api.do
    def main():
        return (yield leaf())

    return api.run(main())


@SCENARIOS.add(raised("UnhandledEffect", "RuntimeError", "Exception", trace=("before",)))
def unhandled_user_effect(api):
    Ping = ping_effect(api)

    @api.do
    def main():
        api.trace.append("before")
        value = yield Ping(1)
        api.trace.append("after")
        return value

    return api.run(main())


@SCENARIOS.add(raised("TypeError", "Exception"))
def run_on_the_function_instead_of_a_program(api):
    @api.do
    def main():
        return 1
        yield

    return api.run(main)


@SCENARIOS.add(returned(["ok"]))
def unhandled_effect_is_catchable_as_runtime_error(api):
    Ping = ping_effect(api)

    @api.do
    def main():
        return (yield Ping(1))

    try:
        api.run(main())
    except RuntimeError:
        return ["ok"]
    return ["not raised"]


@SCENARIOS.add(returned(10_000))
def deep_recursion_of_nested_do_calls(api):
    @api.do
    def nested(depth):
        if depth == 0:
            return 0
        return (yield nested(depth - 1)) + 1

    return api.run(nested(10_000))


@SCENARIOS.add(returned(sum(range(2_000))))
def many_effects_in_one_run(api):
    Ping = ping_effect(api)

    @api.handler
    def echo(effect: Ping, k):
        return (yield api.Resume(k, effect.n))

    @api.do
    def main():
        total = 0
        for i in range(2_000):
            total += yield Ping(i)
        return total

    return api.run(echo(main()))


@SCENARIOS.add(raised("TypeError", "Exception", trace=("before",)))
def yielding_a_plain_value_is_a_type_error(api):
    @api.do
    def main():
        api.trace.append("before")
        yield 42
        api.trace.append("after (never)")

    return api.run(main())


@SCENARIOS.add(raised("TypeError", "Exception"))
def handler_annotation_no_effect_can_match_is_refused(api):
    @api.handler
    def impossible(effect: str, k):
        return (yield api.Resume(k, None))

    @api.do
    def main():
        return 1
        yield

    return api.run(impossible(main()))


@SCENARIOS.add(returned(("outer", 7), ("nested run", 3)))
def run_is_reentrant_inside_a_handler(api):
    Ping = ping_effect(api)

    @api.do
    def inner(n):
        return n + 4
        yield

    @api.handler
    def computes(effect: Ping, k):
        api.trace.append(("nested run", effect.n))
        return (yield api.Resume(k, api.run(inner(effect.n))))

    @api.do
    def main():
        return ("outer", (yield Ping(3)))

    return api.run(computes(main()))


@SCENARIOS.add(returned(["Load:a", "Save:b"]))
def handler_annotated_with_a_base_class_handles_subclasses(api):
    @dataclass(frozen=True)
    class StorageOp(api.EffectBase[str]):
        key: str

    @dataclass(frozen=True)
    class Load(StorageOp):
        pass

    @dataclass(frozen=True)
    class Save(StorageOp):
        pass

    @api.handler
    def storage(effect: StorageOp, k):
        return (yield api.Resume(k, f"{type(effect).__name__}:{effect.key}"))

    @api.do
    def main():
        return [(yield Load("a")), (yield Save("b"))]

    return api.run(storage(main()))


@SCENARIOS.add(returned(6))
def do_function_made_into_a_handler(api):
    Ping = ping_effect(api)

    @api.do
    def triple(effect: Ping, k):
        return (yield api.Resume(k, effect.n * 3))

    @api.do
    def main():
        return (yield Ping(2))

    return api.run(api.handler(triple)(main()))


@SCENARIOS.add(returned((True, ["user_main", "user_leaf"])))
def raised_exception_is_the_same_object_with_user_frames(api):
    import traceback

    original = ValueError("leaf failed")

    @api.do
    def user_leaf():
        yield api.Pure(None)
        raise original

    @api.do
    def user_main():
        return (yield user_leaf())

    try:
        api.run(user_main())
    except ValueError as exc:
        frames = [frame.name for frame in traceback.extract_tb(exc.__traceback__)]
        return (exc is original, [name for name in frames if name.startswith("user_")])
    return "not raised"


@SCENARIOS.add(returned(("main", "Doc line.", (1, 2, {"c": 3}), (1, 5, {}))))
def do_keeps_the_function_signature_and_metadata(api):
    @api.do
    def main(a, b=2, **options):
        """Doc line."""
        return (a, b, options)
        yield

    return (main.__name__, main.__doc__, api.run(main(1, c=3)), api.run(main(1, b=5)))


@SCENARIOS.add(returned((11, 12)))
def do_on_methods_binds_self(api):
    class Counter:
        def __init__(self, start):
            self.start = start

        @api.do
        def plus(self, n):
            offset = yield api.Pure(n)
            return self.start + offset

    counter = Counter(10)
    return (api.run(counter.plus(1)), api.run(counter.plus(2)))


@SCENARIOS.add(returned((True, True)))
def unhandled_effect_message_names_the_effect(api):
    Ping = ping_effect(api)

    @api.do
    def main():
        return (yield Ping(1))

    try:
        api.run(main())
    except api.UnhandledEffect as exc:
        message = str(exc)
        return ("Ping" in message, isinstance(exc, RuntimeError))
    return "not raised"


@SCENARIOS.add(returned({"Ask": False, "Local": False, "Pure": True, "do call": True, "installed": True}))
def which_values_are_programs(api):
    @api.do
    def main():
        return 1
        yield

    values = {
        "Ask": api.Ask("x"),
        "Local": api.Local({}, main()),
        "Pure": api.Pure(1),
        "do call": main(),
        "installed": api.reader(env={})(main()),
    }
    return {name: isinstance(value, api.Program) for name, value in values.items()}


@SCENARIOS.add(returned((True, False, 1, True, False, "ValueError")))
def ok_and_err_api(api):
    ok, err = api.Ok(1), api.Err(ValueError("e"))
    return (ok.is_ok(), ok.is_err(), ok.value, err.is_err(), err.is_ok(), type(err.error).__name__)


@SCENARIOS.add(returned([("Ask", "x"), ("Put", "k", 2), ("Get", "k"), ("WriterTellEffect", "m")]))
def standard_effects_survive_pickling(api):
    import pickle

    def fields(effect):
        names = ("key", "value", "msg")
        return (type(effect).__name__, *(getattr(effect, n) for n in names if hasattr(effect, n)))

    effects = [api.Ask("x"), api.Put("k", 2), api.Get("k"), api.Tell("m")]
    return [fields(pickle.loads(pickle.dumps(effect))) for effect in effects]


@SCENARIOS.add(returned(4))
def plain_class_effect_calling_super_init(api):
    class Sleep(api.EffectBase):
        def __init__(self, seconds):
            super().__init__()
            self.seconds = seconds

    @api.handler
    def sleeper(effect: Sleep, k):
        return (yield api.Resume(k, effect.seconds * 2))

    @api.do
    def main():
        return (yield Sleep(2))

    return api.run(sleeper(main()))


@SCENARIOS.add(returned(20_000))
def twenty_thousand_non_tail_resumes_in_one_run(api):
    Ping = ping_effect(api)

    @api.handler
    def echo(effect: Ping, k):
        # Non-tail: every handler invocation waits for the rest of the block, so they nest.
        return (yield api.Resume(k, effect.n))

    @api.do
    def main():
        total = 0
        for _ in range(20_000):
            total += yield Ping(1)
        return total

    return api.run(echo(main()))


@SCENARIOS.add(raised("ValueError", "Exception", trace=(10_000,)))
def exception_unwinds_ten_thousand_nested_calls(api):
    unwound = []

    @api.do
    def nested(depth):
        if depth == 0:
            raise ValueError("at the bottom")
        try:
            return (yield nested(depth - 1))
        finally:
            unwound.append(depth)

    try:
        return api.run(nested(10_000))
    finally:
        api.trace.append(len(unwound))


@SCENARIOS.add(returned(5))
def effect_crosses_a_thousand_passing_handlers(api):
    Ping = ping_effect(api)

    def passing():
        @api.handler
        def forward(effect, k):
            return (yield api.Pass(effect, k))

        return forward

    @api.handler
    def echo(effect: Ping, k):
        return (yield api.Resume(k, effect.n))

    @api.do
    def main():
        return (yield Ping(5))

    return api.run(echo(api.with_handlers([passing() for _ in range(1_000)], main())))


@SCENARIOS.add(returned((True, True, 2)))
def returned_programs_and_effects_are_values_not_run(api):
    @api.do
    def sub():
        api.trace.append("sub ran (never)")
        return 5
        yield

    @api.do
    def returns_program():
        return sub()

    @api.do
    def returns_effect():
        return api.Ask("x")

    plus_one = api.do(lambda x: x + 1)
    program_value = api.run(returns_program())
    effect_value = api.run(returns_effect())
    return (isinstance(program_value, api.Program), effect_value.key == "x", api.run(plus_one(1)))


@pytest.mark.parametrize("scenario", SCENARIOS.all, ids=lambda scenario: scenario.name)
def test_matches_doeff(scenario, backend):
    check_scenario(scenario, backend)
