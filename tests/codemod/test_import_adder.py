"""``import_adder.add_from_imports`` gives the code LibCST's ``AddImportsVisitor`` gives over the whole module
(the path it replaces for plain ``from M import name [as alias]`` requests), and declines the others."""

from __future__ import annotations

import itertools

import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from doeff_migrate.codemod.import_adder import add_from_imports
from doeff_migrate.codemod.imports import _add_with_libcst

MODULES = [
    "",
    '"""Doc."""\n',
    '"""Doc."""\nimport os\nfrom pinjected import injected\n\n\ndef f():\n    from x import y\n    return y\n',
    "import os\nfrom app.effects import Ask\n# a comment\nx = 1\nimport sys\n",
    "x = 1\nimport os\n",
    "__strict__ = True\nfrom app.effects import Ask\nclass C:\n    pass\n",
    "from __future__ import annotations\nimport os; x = 1\nfrom app.effects import Ask\ny = 2\n",
    "# header comment\n\nfrom app.effects import Ask as A, Tell\n\n# leading comment\ndef g():\n    return A\n",
    "def main():\n    pass\n\n\nif __name__ == '__main__':\n    main()\n",
    '"""Doc."""\n\nfrom app.effects import (\n    Tell,\n    Log,\n)\nfrom app.effects import Ask as A\nimport os\n\n# comment\n\nx = 1\n',
    "'''Doc''' 'more'\nfrom app.effects import Tell\nx = 1\n",
    "from app.effects import *\nfrom other import thing as t\nx = 1\n",
    "from .effects import Tell\nfrom ..up import thing\nfrom . import sibling\ndef f():\n    pass\n",
    "from app.effects import Tell; import os\nfrom app.effects import Ask\n",
    "__strict__ = True\n",
    '"""Only a docstring."""\n',
    "import app.effects as fx\nfrom app.effects import Tell as T, Log\n\n\nclass C:\n    pass\n",
    "from app import effects\n# a comment right above\nx = 1\n",
    "from app.effects import Tell\r\nx = 1\r\n",
    "if True:\n    from app.effects import Tell\nfrom app.effects import Ask\n",
]

REQUESTS = [
    [("app.effects", "Ask", "_dm_Ask")],
    [("app.effects", "Ask", "_dm_Ask"), ("app.effects", "Tell", None), ("other", "thing", None)],
    [("app.effects", "Tell", None), ("app.effects", "Log", None), ("app.effects", "Ask", "A")],
    [("other", "thing", "t"), ("zeta", "z", None), ("alpha", "a", "_a"), ("pkg.effects", "Tell", None)],
    [("pkg.up", "thing", None), ("pkg.mod.effects", "Tell", "_T")],
]

DECLINED = [
    [("app", None, "application")],
    [("os", None, None)],
    [("__future__", "annotations", None)],
    [("effects", "Tell", None, 1)],
]


def _context(requests) -> CodemodContext:
    context = CodemodContext(full_module_name="pkg.mod.sub", full_package_name="pkg.mod")
    for module, obj, alias, *relative in requests:
        AddImportsVisitor.add_needed_import(context, module, obj, alias, *relative)
    return context


@pytest.mark.parametrize(("source", "requests"), list(itertools.product(MODULES, REQUESTS)))
def test_the_direct_edit_gives_the_code_of_libcsts_visitor_over_the_whole_module(source, requests):
    module = cst.parse_module(source)
    expected = AddImportsVisitor(_context(requests)).transform_module(module).code
    context = _context(requests)
    direct = add_from_imports(module, context.scratch[AddImportsVisitor.CONTEXT_KEY], context.full_package_name)
    assert direct is not None
    assert direct.code == expected
    # And through the import edits' entry for such requests.
    assert _add_with_libcst(module, _context(requests)).code == expected


@pytest.mark.parametrize("requests", DECLINED)
def test_requests_other_than_from_imports_are_left_to_libcsts_visitor(requests):
    module = cst.parse_module(MODULES[2])
    context = _context(requests)
    assert add_from_imports(module, context.scratch[AddImportsVisitor.CONTEXT_KEY], context.full_package_name) is None
    assert _add_with_libcst(module, _context(requests)).code == AddImportsVisitor(_context(requests)).transform_module(module).code


def test_a_name_asked_for_with_and_without_an_alias_is_left_to_the_visitor():
    module = cst.parse_module("x = 1\n")
    context = _context([("app.effects", "Ask", None), ("app.effects", "Ask", "_dm_Ask")])
    assert add_from_imports(module, context.scratch[AddImportsVisitor.CONTEXT_KEY], context.full_package_name) is None


def test_statements_not_edited_are_the_same_objects():
    # The engine reuses the code of top-level statements the import edits kept (by identity).
    module = cst.parse_module("from app.effects import Tell\n\n\ndef f():\n    return 1\n")
    context = _context([("app.effects", "Ask", "_dm_Ask"), ("other", "thing", None)])
    edited = add_from_imports(module, context.scratch[AddImportsVisitor.CONTEXT_KEY], context.full_package_name)
    assert edited is not None and edited.body[-1] is module.body[-1]
    assert edited.code.startswith("from app.effects import Ask as _dm_Ask, Tell\nfrom other import thing\n")
