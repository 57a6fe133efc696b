"""Lists the sub-packages of the three top-level folders mapped by pyproject's package-dir."""

from pathlib import Path

from setuptools import setup

ROOTS = {"codemod": "doeff_migrate.codemod", "runtime": "doeff_migrate.runtime", "lsp": "doeff_migrate.lsp"}


def _packages() -> list[str]:
    found = ["doeff_migrate"]
    here = Path(__file__).parent
    for folder, dotted in ROOTS.items():
        for init in sorted((here / folder).rglob("__init__.py")):
            rel = init.parent.relative_to(here / folder)
            found.append(".".join([dotted, *rel.parts]) if rel.parts else dotted)
    return found


setup(packages=_packages())
