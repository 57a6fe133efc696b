"""Plain functions building ``Injected`` values (the injected_utils patterns) behave as under real pinjected.

Each project is run with pinjected 0.2.252 and, migrated (codemod/transforms/plain_programs.py), with
pinjected unimportable (harness.assert_same_behaviour): results and stdout must be identical.
"""

from __future__ import annotations

import pytest

from .harness import assert_same_behaviour

INIT = {"app/__init__.py": ""}

PROJECTS: dict[str, tuple[dict[str, str], list[str]]] = {
    # injected_cache_utils.en_async_cached: a decorator factory closing over mzip'ed keys, binding a provider.
    "cached_wrapper_factory": ({**INIT, "app/main.py": """\
        from pinjected import Injected, IProxy, design, injected

        def provide_cached(cache, func, additional_key):
            def cached(x):
                key = (x, additional_key)
                if key not in cache:
                    print("miss", key)
                    cache[key] = func(x)
                return cache[key]
            return cached

        def en_cached(cache, *additional_keys):
            additional_key = Injected.mzip(*[Injected.ensure_injected(i) for i in additional_keys])

            def _impl(func):
                assert isinstance(func, Injected)
                return Injected.bind(provide_cached, cache=cache, func=func, additional_key=additional_key)

            return _impl

        def make_cached_triple():
            triple = Injected.bind(lambda factor: (lambda x: x * factor))
            return en_cached(Injected.by_name("store"), "salt", Injected.pure(7))(triple)

        @injected
        def run_cached(cached_triple, store, /):
            out = [cached_triple(2), cached_triple(2), cached_triple(5)]
            return out, sorted(store)

        __design__ = design(store={}, salt="s1", factor=3, cached_triple=make_cached_triple())
        main: IProxy = run_cached()
        """}, ["app.main.main"]),
    # injected_cache_utils.ensure_injected: keys, Injected values and callables made Injected.
    "ensure_injected_of_keys_values_and_callables": ({**INIT, "app/main.py": """\
        from pinjected import Injected, IProxy, design, injected

        def gather(*items):
            return Injected.mzip(*[Injected.ensure_injected(i) for i in items])

        def parts():
            return gather("a", Injected.pure(5), Injected.by_name("b"), lambda a, b: f"{a}-{b}")

        @injected
        def show(both, /):
            print("both", both)
            return list(both)

        __design__ = design(a=1, b="two", both=parts())
        main: IProxy = show()
        """}, ["app.main.main"]),
    # A config factory: Injected.dict of keys and pure values, keyword arguments spread in.
    "dict_of_keys_and_pure_values": ({**INIT, "app/main.py": """\
        from pinjected import Injected, IProxy, design, injected

        def settings(**overrides):
            return Injected.dict(lr=Injected.by_name("lr"), **{k: Injected.pure(v) for k, v in overrides.items()})

        @injected
        def train(config, /, epochs):
            print("train", sorted(config.items()), epochs)
            return config["lr"] * epochs

        __design__ = design(lr=0.5, config=settings(batch=32, name="run"))
        main: IProxy = train(4)
        """}, ["app.main.main"]),
    # Lists and tuples of injected values built in a helper, nested functions included.
    "list_and_tuple_helpers": ({**INIT, "app/main.py": """\
        from pinjected import Injected, IProxy, design, injected

        def collect(keys):
            def one(k):
                return Injected.by_name(k)

            return Injected.list(*[one(k) for k in keys]), Injected.tuple(Injected.pure("x"), one(keys[0]))

        def pair():
            listed, tupled = collect(["u", "v"])
            return Injected.zip(listed, tupled)

        @injected
        def report(pairs, /):
            print("pairs", pairs)
            return pairs

        __design__ = design(u=1, v=2, pairs=pair())
        main: IProxy = report()
        """}, ["app.main.main"]),
    # Injected.bind with a key renamed by a string, and an async provider (pinjected awaits it).
    "bind_with_renamed_key_and_async_provider": ({**INIT, "app/main.py": """\
        import asyncio
        from pinjected import Injected, IProxy, design, injected

        def greeting(prefix, name):
            return f"{prefix}, {name}"

        async def fetch_user(user_id):
            await asyncio.sleep(0)
            return {"id": user_id}

        def bound_greeting():
            return Injected.bind(greeting, name="user_name")

        def bound_user():
            return Injected.bind(fetch_user)

        @injected
        def page(text, user, /):
            print(text, user)
            return [text, user]

        __design__ = design(prefix="hi", user_name="ann", user_id=7, text=bound_greeting(), user=bound_user())
        main: IProxy = page()
        """}, ["app.main.main"]),
    # Injected.ensure_injected of an @instance function: the instance's value; of a key: its value.
    "ensure_injected_of_an_instance": ({**INIT, "app/main.py": """\
        from pinjected import Injected, IProxy, design, injected, instance

        @instance
        def connection(host):
            print("connect", host)
            return {"host": host}

        def wrapped(value):
            return Injected.ensure_injected(value)

        def described():
            return Injected.bind(lambda conn, port: f"{conn['host']}:{port}", conn=wrapped(connection), port=wrapped("port"))

        @injected
        def use(address, /):
            return address

        __design__ = design(host="db", port=5432, address=described())
        main: IProxy = use()
        """}, ["app.main.main"]),
    # An injected function handed to a plain provider (directly and through ensure_injected), and a plain
    # callable in a bind mapping (pinjected calls it with its parameters asked).
    "injected_function_handed_to_a_bound_provider": ({**INIT, "app/main.py": """\
        from pinjected import Injected, IProxy, design, injected

        @injected
        def triple(factor, /, x):
            print("triple", x)
            return x * factor

        def tag(label):
            return "<" + label + ">"

        def use(func, other, again):
            return [func(2), other, again(5)]

        def wired():
            return Injected.bind(use, func=triple, other=tag, again=Injected.ensure_injected(triple))

        @injected
        def show(result, /):
            return result

        __design__ = design(factor=3, label="L", result=wired())
        main: IProxy = show()
        """}, ["app.main.main"]),
    # A method of a plain class and a module alias of pinjected (``pj.Injected``) build the values.
    "method_of_a_plain_class_with_a_module_alias": ({**INIT, "app/main.py": """\
        import pinjected as pj

        class Wiring:
            def __init__(self, prefix):
                self.prefix = prefix

            def keys(self, *names):
                return pj.Injected.mzip(*[pj.Injected.by_name(self.prefix + n) for n in names])

        @pj.injected
        def show(pair, /):
            print("pair", pair)
            return pair

        __design__ = pj.design(db_host="h", db_port=1, pair=Wiring("db_").keys("host", "port"))
        main: pj.IProxy = show()
        """}, ["app.main.main"]),
}


def test_there_are_at_least_6_projects():
    assert len(PROJECTS) >= 6


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_plain_function_building_injected_values_behaves_as_in_pinjected(tmp_path, name):
    files, targets = PROJECTS[name]
    assert_same_behaviour(tmp_path, files, targets)
