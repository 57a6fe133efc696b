"""Which names holding tasks a compute rewrite may follow: every use is a wait the runtime can answer.

A task (``x = f.remote(a)``, ``t = ex.submit(f, a)``) is rewritten into a spawn only when all its uses are waits
(``ray.get(x)``, ``t.result()``), so nothing ever receives a runtime Task where it expected an ObjectRef or a
Future.
"""

from __future__ import annotations

import libcst as cst

from .effectful_code import all_params, target_names

TASK_VAR = "_doeff_migrate_task"


def is_result_call(node: cst.BaseExpression) -> bool:
    """``x.result()`` with no timeout."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "result"
        and not node.args
    )

def assign_counts(func: cst.FunctionDef) -> dict[str, int]:
    """How often each name is bound in ``func``'s scope (parameters count as bindings)."""
    counts: dict[str, int] = {p.name.value: 1 for p in all_params(func.params)}

    class _Binds(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def _bind(self, target: cst.CSTNode) -> None:
            for n in target_names(target):
                counts[n] = counts.get(n, 0) + 1

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            self._bind(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            self._bind(node.target)

        # Bindings that can happen more than once count twice, so the name is never "assigned once".
        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            self._bind(node.target)
            self._bind(node.target)

        def visit_For(self, node: cst.For) -> None:
            self._bind(node.target)
            self._bind(node.target)

        def visit_AsName(self, node: cst.AsName) -> None:
            self._bind(node.name)
            self._bind(node.name)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            self._bind(node.target)
            self._bind(node.target)

        def visit_Global(self, node: cst.Global) -> None:
            for n in node.names:
                counts[n.name.value] = 2

        visit_Nonlocal = visit_Global  # type: ignore[assignment]

    func.body.visit(_Binds())
    return counts


class TaskConsumers(cst.CSTVisitor):
    """Counts, per name, the uses a rewritten task can have: ``ray.get(x)`` and ``ray.get([.., x, ..])``.

    A name bound to a spawn is rewritten only when these are all its uses (besides its one assignment):
    anything else (``ray.wait([x])``, ``refs.append(x)``, passing ``x`` on) would receive a Task where Ray
    handed out an ObjectRef. Also collects the names bound to expressions holding Ray calls left as they are.
    """

    def __init__(self, rewriter) -> None:
        super().__init__()
        self.rewriter = rewriter
        self.uses: dict[str, int] = {}
        self.groups: list[list[str] | None] = []  # the names of each ``ray.get([...])`` (None: other elements too)
        self.ray_bound: set[str] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_With(self, node: cst.With) -> bool:
        return not self.rewriter.owner.is_lock_block(node, self.rewriter.shadowed)  # nothing in it is rewritten

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.rewriter.holds_task_or_ref(node.value):
            for target in node.targets:
                self.ray_bound |= target_names(target.target)

    def _use(self, name: str) -> None:
        self.uses[name] = self.uses.get(name, 0) + 1

    def followed(self, counts: dict[str, int]) -> set[str]:
        """Names whose every use (besides one assignment) is a wait. A name in ``ray.get([a, b])`` counts as
        waited only when every element of that list is followed too (or an inline remote call): a mixed list
        stays a Ray call, which must not receive a Task. Computed to a fixpoint."""
        followed = set(counts)
        while True:
            uses = dict(self.uses)
            for group in self.groups:
                if group is not None and all(n in followed for n in group):
                    for n in group:
                        uses[n] = uses.get(n, 0) + 1
            now = {n for n, c in uses.items() if counts.get(n, 0) == c + 1}
            if now == followed:
                return now
            followed = now

    # Waits inside lambdas and comprehensions cannot become ``yield``s: they do not count.
    def _skip(self, node: cst.CSTNode) -> bool:
        return False

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _skip  # type: ignore[assignment]

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        # ``ys = [t.result() for t in ts]`` on its own line (it becomes a loop waiting in order); nowhere else.
        if len(node.body) != 1 or not isinstance(node.body[0], cst.Assign):
            return
        small = node.body[0]
        value = small.value
        if not (len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name) and isinstance(value, cst.ListComp)):
            return
        comp = value.for_in
        elt = value.elt
        if (isinstance(comp.iter, cst.Name) and isinstance(comp.target, cst.Name) and not comp.ifs
                and comp.inner_for_in is None and comp.asynchronous is None and is_result_call(elt)
                and isinstance(elt.func.value, cst.Name) and elt.func.value.value == comp.target.value  # type: ignore[attr-defined]
                and small.targets[0].target.value != comp.iter.value  # ``ts = [t.result() for t in ts]``: a loop cannot
                and TASK_VAR not in self.rewriter.name_counts):
            self._use(comp.iter.value)

    def visit_Call(self, node: cst.Call) -> None:
        if is_result_call(node) and isinstance(node.func.value, cst.Name):  # type: ignore[attr-defined]
            self._use(node.func.value.value)  # type: ignore[attr-defined]
        if self.rewriter.qualify(node.func) != "ray.get" or len(node.args) != 1 or node.args[0].keyword:
            return
        ref = node.args[0].value
        if isinstance(ref, cst.Name):
            self._use(ref.value)
        elif isinstance(ref, cst.List):
            names: list[str] | None = []
            for e in ref.elements:
                if isinstance(e, cst.Element) and isinstance(e.value, cst.Name):
                    names.append(e.value.value)  # type: ignore[union-attr]
                elif not (isinstance(e, cst.Element) and self.rewriter.is_remote_call(e.value)):
                    names = None
                    break
            self.groups.append(names)
