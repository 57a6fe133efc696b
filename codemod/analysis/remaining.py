"""DM15x: pinjected constructs left in a module (``rules/remaining.py``).

Each construct is found here; whether ``doeff-migrate`` migrates it, flags it or leaves it is the codemod's
decision, read from its plan of the file (``analysis.plan``) and stated in the message.
"""

from __future__ import annotations

import ast

from .module import ModuleReader, PINJECTED_DESIGN_CALLS
from ..rules.remaining import REMAINING_DESIGN, REMAINING_INJECTED_COMBINATOR, REMAINING_INJECTED_FUNCTION, REMAINING_INJECTED_PYTEST, REMAINING_INSTANCE_FUNCTION, REMAINING_IPROXY_ENTRY_POINT

__all__ = ["RemainingChecks", "INJECTED_DECORATORS"]

INJECTED_DECORATORS = {"injected": REMAINING_INJECTED_FUNCTION.code, "instance": REMAINING_INSTANCE_FUNCTION.code, "injected_instance": REMAINING_INSTANCE_FUNCTION.code, "injected_pytest": REMAINING_INJECTED_PYTEST.code}

class RemainingChecks(ModuleReader):
    # -- DM15x: remaining pinjected constructs ----------------------------------------------------------------
    def _check_module_level(self, functions=None, statements=None, calls=None) -> None:
        """DM15x over the module, or over ``functions``/``statements``/``calls`` only (an edited function)."""
        if not self.pinjected.used:
            return
        for fn in self.all_functions if functions is None else functions:
            for dec, _, pinjected_name in self._decorator_names(fn):
                code = INJECTED_DECORATORS.get(pinjected_name or "")
                if code is None:
                    continue
                what = {REMAINING_INJECTED_FUNCTION.code: "`@injected` function", REMAINING_INSTANCE_FUNCTION.code: "`@instance` function", REMAINING_INJECTED_PYTEST.code: "`@injected_pytest` test"}[code]
                self.add(
                    code,
                    f"{what} `{fn.name}` is not migrated yet",
                    self.decorator_range(dec),
                    migrate_lines=self.span(fn),
                    migrate_title=f"Migrate `{fn.name}` (phase di)",
                    migrate_phase="di",
                )
        for stmt in self.tree.body if statements is None else statements:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                annotation = stmt.annotation.value if isinstance(stmt.annotation, ast.Subscript) else stmt.annotation
                if self._pinjected_name(annotation) == "IProxy":
                    self.add(
                        REMAINING_IPROXY_ENTRY_POINT.code,
                        f"IProxy entry point `{stmt.target.id}` is not migrated yet",
                        stmt.target,
                        migrate_lines=(stmt.lineno, stmt.end_lineno or stmt.lineno),
                        migrate_title=f"Migrate entry point `{stmt.target.id}` (phase di)",
                        migrate_phase="di",
                    )
        flagged_calls: set[int] = set()
        for node in self.all_calls if calls is None else calls:
            if id(node) in flagged_calls:
                continue
            func = node.func
            name = self._pinjected_name(func)
            if name in PINJECTED_DESIGN_CALLS:
                self.add(
                    REMAINING_DESIGN.code,
                    f"pinjected `{name}(...)` is not migrated yet",
                    node,
                    migrate_lines=(node.lineno, node.end_lineno or node.lineno),
                    migrate_title=f"Migrate this `{name}(...)` call (phase di)",
                    migrate_phase="di",
                )
            elif isinstance(func, ast.Attribute) and self._pinjected_name(func.value) == "Injected":
                self._flag_combinator(node, f"Injected.{func.attr}", flagged_calls)
            elif name == "injected" and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                self._flag_combinator(node, "injected(\"...\")", flagged_calls)

    def _flag_combinator(self, node: ast.Call, spelled: str, flagged: set[int]) -> None:
        for inner in ast.walk(node):
            flagged.add(id(inner))
        self.add(
            REMAINING_INJECTED_COMBINATOR.code,
            f"`{spelled}` is not migrated yet",
            node,
            migrate_lines=(node.lineno, node.end_lineno or node.lineno),
            migrate_title=f"Migrate `{spelled}` (phase di)",
            migrate_phase="di",
        )

