"""DM50x: mistakes in effect code (``rules/effect_code.py``): programs built and dropped (DM501), ``await``
in ``@do`` (DM502), ``@do async def`` (DM503), ``yield from`` a program (DM504), unbound ``Ask`` keys (DM505)."""

from __future__ import annotations

import ast

from .findings import Edit, Fix, Range
from .module import EFFECT_LIBS, FunctionInfo, ModuleReader
from ..rules.effect_code import ASYNC_DO_FUNCTION, AWAIT_IN_EFFECTFUL_CODE, DO_CALL_WITHOUT_YIELD, UNBOUND_ASK_KEY, YIELD_FROM_PROGRAM

__all__ = ["EffectCodeChecks"]


class EffectCodeChecks(ModuleReader):
    def _check_async_do(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if isinstance(fn, ast.AsyncFunctionDef):
            self.add(
                ASYNC_DO_FUNCTION.code,
                f"`@do` cannot decorate `async def {fn.name}`: doeff raises TypeError at import; make it a plain "
                "`def` and yield `Await(...)` for coroutines",
                self.def_name_range(fn),
            )

    def _check_effect_code_node(self, info: FunctionInfo, node: ast.AST, await_ref: list) -> None:
        """The effect-code rules at one node of a ``@do`` function's body; ``await_ref`` caches
        :meth:`_await_ref` across the body's nodes."""
        fn = info.node
        if isinstance(node, ast.Await):
            fix = None
            if not await_ref:
                await_ref.append(self._await_ref(info))
            if await_ref[0]:
                spelled_name, import_edit = await_ref[0]
                inner = self.segment(node.value)
                if inner is not None:
                    edits = [Edit(self.range_of(node), f"(yield {spelled_name}({inner}))")]
                    if import_edit is not None:
                        edits.append(import_edit)
                    fix = Fix("Replace `await` with `yield Await(...)`", tuple(edits))
            self.add(
                AWAIT_IN_EFFECTFUL_CODE.code,
                f"`await` inside `@do` function `{fn.name}`: yield `Await(...)` instead",
                node,
                fix=fix,
            )
        elif isinstance(node, (ast.AsyncFor, ast.AsyncWith)):
            keyword = "async for" if isinstance(node, ast.AsyncFor) else "async with"
            line = node.lineno - 1
            start = self.col(line, node.col_offset)
            self.add(
                AWAIT_IN_EFFECTFUL_CODE.code,
                f"`{keyword}` inside `@do` function `{fn.name}` cannot run in a generator; move it into a "
                "coroutine and yield `Await(...)` of it",
                Range(line, start, line, start + len(keyword)),
            )
        elif isinstance(node, ast.YieldFrom) and isinstance(node.value, ast.Call):
            start = self.range_of(node)
            value = self.range_of(node.value)
            self.add(
                YIELD_FROM_PROGRAM.code,
                f"`yield from` on a program in `@do` function `{fn.name}`: yield the program instead",
                node,
                fix=Fix(
                    "Replace `yield from` with `yield`",
                    (Edit(Range(start.start_line, start.start_col, value.start_line, value.start_col), "yield "),),
                ),
            )
        elif isinstance(node, ast.Call):
            self._check_ask(node)
        if isinstance(node, ast.Yield) and isinstance(node.value, ast.Call):
            self._check_yielded_effect(node.value)

    def _await_ref(self, info: FunctionInfo) -> tuple[str, Edit | None] | None:
        """How to spell ``Await`` in this file, and the import edit needed (None: no safe spelling)."""
        for local, qualified in self.aliases.items():
            if qualified.split(".")[0] in EFFECT_LIBS and qualified.endswith(".Await"):
                return local, None
        if info.do_ref is None:
            return None
        if "." in info.do_ref:  # ``@doeff.do`` -> ``doeff.Await``
            return info.do_ref.rsplit(".", 1)[0] + ".Await", None
        qualified = self.aliases.get(info.do_ref)
        if qualified is None or not qualified.endswith(".do"):
            return None
        module = qualified[: -len(".do")]
        last_import = self.last_import_line()
        return "Await", Edit(Range(last_import, 0, last_import, 0), f"from {module} import Await\n")

    def last_import_line(self) -> int:
        """0-based line right after the last top-level import (where new imports go)."""
        if self._last_import_line is None:
            self._last_import_line = max(
                (s.end_lineno or s.lineno for s in self.tree.body if isinstance(s, (ast.Import, ast.ImportFrom))), default=0
            )
        return self._last_import_line

    # -- DM501: programs built and dropped --------------------------------------------------------------------
    def _do_function_names(self) -> set[str]:
        if self._do_names is not None:
            return self._do_names
        names = self._do_names = set(self.facts.do_functions)
        if self.project is not None:
            for local, qualified in self.aliases.items():
                module, _, name = qualified.rpartition(".")
                if module and self.project.is_do_function(module, name):
                    names.add(local)
        return names

    def _check_discarded_programs(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, in_generator: bool) -> None:
        do_names = self._do_function_names()
        if not do_names:
            return
        for node in self._walk_body(fn):
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                func = node.value.func
                if isinstance(func, ast.Name) and func.id in do_names:
                    self._flag_discarded(node.value, func.id, fn.name, in_generator)

    def _flag_discarded(self, call: ast.Call, name: str, where: str, in_generator: bool) -> None:
        rng = self.range_of(call)
        fix = None
        if in_generator:
            insert = Range(rng.start_line, rng.start_col, rng.start_line, rng.start_col)
            # Unsafe in ruff's sense: the program starts running, which is the intent but a change.
            fix = Fix(f"Yield the program: `yield {name}(...)`", (Edit(insert, "yield "),), safe=False)
        self.add(
            DO_CALL_WITHOUT_YIELD.code,
            f"`{name}(...)` builds a program that is never run in `{where}`: a `@do` function runs only when "
            "yielded",
            call,
            fix=fix,
        )

    # -- DM505 / DM602 / DM603: Ask keys and effects ------------------------------------------------------------
    def _check_ask(self, call: ast.Call) -> None:
        if self.project is None or self._lib_name(call.func, EFFECT_LIBS) != "Ask":
            return
        if not call.args or not isinstance(call.args[0], ast.Constant) or not isinstance(call.args[0].value, str):
            return
        key = call.args[0].value
        if key.startswith("__") and key.endswith("__"):
            return
        if key in self.facts.bound_keys or self.project.binds(key):
            return
        self.add(
            UNBOUND_ASK_KEY.code,
            f"`Ask(\"{key}\")`: no env, design or binding in the project binds \"{key}\" (bind it in "
            "`__design__`, or `# noqa: DM505` if user configuration provides it)",
            call.args[0],
        )

