"""``@injected_pytest`` tests -> a ``@do`` program and a plain pytest function running it.

pinjected-semantics.md C5 (verified on 0.2.252, ``pinjected/test/injected_pytest.py``): the decorator
wraps the test with ``instance(func)``, so **every** parameter is a dependency (pytest fixtures are not
passed: a parameter named like a fixture is a design key, missing unless a design binds it), and
returns a parameterless ``test_impl`` that resolves it with the designs of the test file's package
hierarchy plus the override (a ``Design``: ``@injected_pytest(d)`` or ``override=d``), in a fresh
resolver, awaiting an awaitable result. Migrated::

    @do
    def _test_x():                  # the test body, its dependencies asked for
        dep = yield Ask("dep")
        ...

    def test_x():                   # what pytest collects and runs
        run_injected_test(_test_x(), __name__, {"factor": 3})

``run_injected_test`` (``runtime/testing.py``) builds the runner's env of the module (registry, then
the ``__design__`` dicts root to leaf), puts the override on top and runs the program. Decorators above
``@injected_pytest`` (``@pytest.mark.slow``) decorated pinjected's plain test, so they go on the plain
test. The override is translated like any design (``DesignTranslator``); one computed by the
project's own code (``make_design()``, a design imported from a module the index cannot read) is passed
as it is: the helper takes any env mapping, and says clearly when it got something else.
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from .. import pinjected_names as pn
from .designs import DesignTranslator
from ..rules.di import RUNNER_SPECIFIC

TESTING_MODULE = "doeff_migrate.runtime.testing"
HELPER = "run_injected_test"


class _Refused(Exception):
    """The override binds ``injected("k")``, whose alias helpers only the designs transform writes."""


class _NoAliases:
    def __init__(self, state) -> None:
        self.state = state

    def alias(self, key: cst.BaseExpression) -> str:
        raise _Refused


def override_expression(node: cst.BaseExpression, state) -> cst.BaseExpression | None:
    """The override as an env expression, or ``None`` when it cannot be one."""
    translator = DesignTranslator(_NoAliases(state), set(state.facts.design_vars))  # type: ignore[arg-type]
    try:
        translated = translator.translate(node)
    except _Refused:
        return None
    if translated is not None:
        return translated
    if isinstance(node, (cst.Call, cst.Name, cst.Attribute)) and state.canonical(node) is None and not _mentions_pinjected(node, state):
        # Computed by (or imported from) the project's own code: an env mapping once that code is
        # migrated; ``run_injected_test`` says so clearly when it is not.
        return node
    return None


def _mentions_pinjected(node: cst.CSTNode, state) -> bool:
    found = []

    class _Finder(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            if n.value in state.names.names or n.value in state.names.modules:
                found.append(n.value)

    node.visit(_Finder())
    return bool(found)


def migrate_test(transformer, node: cst.FunctionDef, index: int) -> cst.FunctionDef | cst.FlattenSentinel:
    """``@injected_pytest[(override)] def test_x(deps...)`` -> ``_test_x`` program + plain ``test_x``.

    ``transformer`` is the ``InjectedFunctions`` pass: the body is migrated by its ``migrate`` with
    kind ``"pytest"`` (all parameters are dependencies, not registered in the env).
    """
    state = transformer.state
    deco = node.decorators[index].decorator
    override: cst.BaseExpression | None = None
    if isinstance(deco, cst.Call):
        args = list(deco.args)
        if len(args) > 1 or any(a.star or (a.keyword is not None and a.keyword.value != "override") for a in args):
            return state.flag(node, RUNNER_SPECIFIC.code, "`@injected_pytest` with arguments other than one override design: port this by hand")
        if args:
            override = override_expression(args[0].value, state)
            if override is None:
                return state.flag(node, RUNNER_SPECIFIC.code, "the override of `@injected_pytest` is not a design the codemod can read: port this by hand")
    name = node.name.value
    program_name = f"_{name}"
    above = list(node.decorators[:index])
    bare = node.with_changes(
        name=cst.Name(program_name),
        decorators=[cst.Decorator(cst.Name("injected_pytest")), *node.decorators[index + 1 :]],
    )
    migrated = transformer.migrate(bare, 0, "pytest")
    if migrated.decorators and any(pn.dotted_cst(d.decorator) == "injected_pytest" for d in migrated.decorators):
        # Not migratable (flagged): give back the original test, with the flags.
        return node.with_changes(leading_lines=migrated.leading_lines)
    AddImportsVisitor.add_needed_import(state.context, TESTING_MODULE, HELPER)
    # Its dependency closure goes to ``__doeff_requires__`` (entry_points.py): checked and built
    # before the body runs, as pinjected resolves the test's whole graph first.
    state.migrated_instances.append(program_name)
    call_args = [cst.Arg(cst.Call(cst.Name(program_name))), cst.Arg(cst.Name("__name__"))]
    if override is not None:
        call_args.append(cst.Arg(override))
    test = cst.FunctionDef(
        name=cst.Name(name),
        params=cst.Parameters(),
        body=cst.IndentedBlock([cst.SimpleStatementLine([cst.Expr(cst.Call(cst.Name(HELPER), call_args))])]),
        decorators=above,
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
    )
    return cst.FlattenSentinel([migrated, test])
