"""Rules of phase ``io`` for caches in effectful code: functools caches on ``@do`` functions and cache objects'
``get``/``set`` calls, which no rewrite onto ``CacheGet``/``CachePut`` keeps as they behaved.
"""

from __future__ import annotations

from .. import Invalid, Rule, Valid, register
from ..common import LEFT_AS_IS

_PLAIN_DO_FUNCTION = """
from doeff_migrate.runtime import do

@do
def f(x):
    return x
"""
"""A ``@do`` function with no side effect."""

CACHE_ON_EFFECTFUL_FUNCTION = register(
    Rule(
        code="DM312",
        name="cache-decorator-on-effectful-function",
        message="functools cache on a @do function caches the program object, not its result",
        what="Reports `@functools.lru_cache` / `@functools.cache` / `@cached_property` stacked on a `@do` function.",
        why=(
            "Calling a `@do` function only builds a program; the cache hands out the same program and its "
            "body runs again on every `yield` (its side effects too, and each caller gets a fresh result). "
            "Caching results instead (`CacheGet`/`CachePut`) would run the body once and share one result "
            "object between callers: fewer side effects and shared mutations the code never had. So the "
            "codemod leaves the decorator as it is; decide which behaviour you want."
        ),
        example="@functools.cache\n@do\ndef embed(text):\n    ...",
        use_instead=(
            "@do\ndef embed(text):\n    try:\n        return (yield CacheGet((\"embed\", text)))\n    except KeyError:\n"
            "        pass\n    value = ...\n    yield CachePut((\"embed\", text), value)\n    return value"
        ),
        fix_safety=LEFT_AS_IS,
        phase="io",
        valid=(
            Valid(_PLAIN_DO_FUNCTION),
        ),
        invalid=(
            Invalid("""
                import functools
                from doeff_migrate.runtime import do

                @functools.cache
                @do
                def load(x):
                    return [x]
                """, path='pkg/mod.py', line=4),
        ),
    )
)


EXPLICIT_CACHE_CALL = register(
    Rule(
        code="DM313",
        name="explicit-cache-call",
        message="cache.get/cache.set on a cache object in effectful code",
        what=(
            "Reports `<cache>.get(key)`, `.set(key, value)` and `.put(...)` inside a `@do` function when the "
            "object's name says it is a cache (`cache`, `*_cache`)."
        ),
        why=(
            "A cache object's miss value, expiry and key encoding are its own, and `CacheGet` raises `KeyError` "
            "on a miss where `cache.get` returns `None`: no rewrite keeps the behaviour without knowing the "
            "object, so the call is flagged for you to move onto `CacheGet`/`CachePut` and a cache handler "
            "(`memory_cache()`, `DiskCacheHandler(dir)`)."
        ),
        example="@do\ndef embed(text):\n    hit = cache.get(text)\n    ...",
        use_instead="@do\ndef embed(text):\n    try:\n        hit = yield CacheGet(text)\n    except KeyError:\n        hit = None",
        fix_safety=LEFT_AS_IS,
        phase="io",
        valid=(
            Valid(_PLAIN_DO_FUNCTION),
        ),
        invalid=(
            Invalid("""
                from doeff_migrate.runtime import do

                @do
                def f(embed_cache, text):
                    hit = embed_cache.get(text)
                    return hit
                """, path='pkg/mod.py', line=5),
        ),
    )
)
