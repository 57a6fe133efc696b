"""Flags generated handler stubs nobody implemented yet (DM6xx), and the code whose effects reach them.

The codemod's ``io`` phase writes a typed ``@handler`` stub for each effect whose real implementation is the
user's (an API client, a custom storage). A stub is recognised by two things together:

* its body raises ``NotImplementedError``, and
* it carries the marker comment :data:`STUB_MARKER` (``# doeff-migrate: stub``) on the ``def`` line, the
  line above it (above the decorators), or anywhere in its body.

Deleting the marker (or the ``raise``) once the handler is written makes the diagnostics go away. The
marker is a constant here so the codemod (writer) and the language server (reader) agree on it.
Handler shape: doeff 0.8.0's ``@handler def h(effect: MyEffect, k)``.
"""

from __future__ import annotations

from . import EDITOR, Invalid, Rule, Valid, register

STUB_MARKER = "# doeff-migrate: stub"
"""Marker comment of a generated, not yet implemented handler stub."""

_PUBLISH = """
from doeff_migrate.runtime import do, handler, Ask, EffectBase
from dataclasses import dataclass

@dataclass(frozen=True)
class Upload(EffectBase[str]):
    path: str

@dataclass(frozen=True)
class Fetch(EffectBase[str]):
    url: str

@handler
def handle_upload(effect: Upload, k):
    {comment}
    raise NotImplementedError("write me")

@do
def publish(path):
    url = yield Upload(path)
    page = yield Fetch(url)
    return page
"""
"""A program yielding two effects, one handled by ``handle_upload`` (a stub when ``comment`` is the marker)."""
_PUBLISH_WITH_MARKER = _PUBLISH.format(comment=STUB_MARKER)
_PUBLISH_WITHOUT_MARKER = _PUBLISH.format(comment="# implemented later")

UNIMPLEMENTED_HANDLER_STUB = register(
    Rule(
        code="DM601",
        name="unimplemented-handler-stub",
        message="Generated handler stub is not implemented yet",
        what=(
            f"Reports a `@handler` function whose body raises `NotImplementedError` and carries the "
            f"`{STUB_MARKER}` marker."
        ),
        why=(
            "Every program that yields the stub's effect fails at that effect until the handler is written. "
            "The stub was generated because the real implementation (an API client, a storage) is yours."
        ),
        example=(
            f"@handler\ndef handle_upload(effect: Upload, k):\n    {STUB_MARKER}\n"
            '    raise NotImplementedError("write the handler for Upload")'
        ),
        use_instead=(
            "@handler\ndef handle_upload(effect: Upload, k):\n    url = storage.put(effect.path)\n"
            "    return (yield Resume(k, url))"
        ),
        phase="io",
        reported_by=(EDITOR,),
        valid=(
            Valid(_PUBLISH_WITHOUT_MARKER, path='mod.py'),
        ),
        invalid=(
            Invalid(_PUBLISH_WITH_MARKER, path='mod.py', line=13),
        ),
    )
)

EFFECT_ANSWERED_BY_STUB = register(
    Rule(
        code="DM602",
        name="effect-answered-by-stub",
        message="Effect is handled by an unimplemented handler stub",
        what="Reports each `yield SomeEffect(...)` whose effect type only an unimplemented stub handles.",
        why="Running this code fails here with `NotImplementedError` until the stub is written.",
        example="@do\ndef publish(path):\n    url = yield Upload(path)   # handle_upload is still a stub",
        use_instead="Implement the handler named in the message, then remove its stub marker.",
        phase="io",
        reported_by=(EDITOR,),
        valid=(
            Valid(_PUBLISH_WITHOUT_MARKER, path='mod.py'),
        ),
        invalid=(
            Invalid(_PUBLISH_WITH_MARKER, path='mod.py', line=19),
        ),
    )
)

EFFECT_WITHOUT_HANDLER = register(
    Rule(
        code="DM603",
        name="effect-without-handler",
        message="Project effect that no handler in the project handles",
        what=(
            "Reports `yield SomeEffect(...)` where `SomeEffect` is an effect class declared in the project "
            "(a subclass of `EffectBase`/`Effect`) and no `@handler` in the project takes it: by the "
            "annotation of its first parameter, or by `isinstance(effect, ...)` / `match effect: case ...` "
            "in an untyped handler's body."
        ),
        why="The program stops with an unhandled-effect error when it reaches this line.",
        example=(
            "@dataclass(frozen=True)\nclass Upload(EffectBase[str]):\n    path: str\n\n"
            "@do\ndef publish(path):\n    return (yield Upload(path))"
        ),
        use_instead="Write a `@handler` for `Upload` (the quick fix generates a stub to fill in).",
        fix_safety="The fix appends a handler stub carrying the stub marker; it does not change what runs.",
        phase="io",
        fix="edit",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                from doeff_migrate.runtime import do, handler, Ask, EffectBase
                from dataclasses import dataclass

                @dataclass(frozen=True)
                class Upload(EffectBase[str]):
                    path: str

                @dataclass(frozen=True)
                class Fetch(EffectBase[str]):
                    url: str

                @handler
                def handle_upload(effect: Upload, k):
                    # doeff-migrate: stub
                    raise NotImplementedError("write me")

                @do
                def publish(path):
                    url = yield Upload(path)
                    page = yield Fetch(url)
                    return page


                @handler
                def handle_fetch(effect: Fetch, k):
                    # doeff-migrate: stub
                    raise NotImplementedError("handler stub for Fetch: answer with `return (yield Resume(k, value))`")

                """, path='mod.py'),
        ),
        invalid=(
            Invalid(_PUBLISH_WITHOUT_MARKER, path='mod.py', line=20),
        ),
    )
)
