"""Rules of the bridges the codemod generates for partly migrated projects (DM160-DM169, ``codemod/bridges.py``)."""

from __future__ import annotations

from . import Invalid, Rule, Valid, register

AMBIGUOUS_BRIDGED_KEY = register(
    Rule(
        code="DM160",
        name="ambiguous-bridged-key",
        message="pinjected code depends on a key that several migrated providers define",
        what=(
            "Reported inside the generated `# doeff-migrate: bridge` block of the root `__pinjected__.py` "
            "when code that is still pinjected depends on a key by name and more than one migrated "
            "`@function_binding`/`@instance_binding` function carries that name."
        ),
        why=(
            "pinjected's implicit binding of a duplicated name depended on import order; the codemod cannot "
            "tell which provider the pinjected code got, so it binds none and leaves the choice to you."
        ),
        example=(
            "# doeff-migrate: bridge begin (generated ...)\n"
            "# doeff-migrate: DM160: pinjected code depends on 'loader', which several migrated providers "
            "define (a.io.loader, b.io.loader): bind the right one in a design by hand\n"
            "# doeff-migrate: bridge end"
        ),
        use_instead=(
            "# pkg/__init__.py (the package of the pinjected entry points)\n"
            "from doeff_migrate.runtime import as_injected\n"
            "import a.io\n"
            "__design__ = design(loader=as_injected(a.io.loader))"
        ),
        fix_safety="No automatic fix: which provider pinjected used is not known statically.",
        phase="di",
        valid=(
            Valid("""

                """, path='__pinjected__.py', files=(('a/__init__.py', """

                    """), ('a/io.py', """
                    from pinjected import injected


                    @injected
                    def loader(path):
                        return "a:" + path
                    """), ('b/__init__.py', """

                    """), ('b/io.py', """
                    from pinjected import injected


                    @injected
                    def fetcher(path):
                        return "a:" + path
                    """), ('shop/__init__.py', """

                    """), ('shop/app.py', """
                    from pinjected import IProxy, injected


                    @injected
                    def report(loader, /, name):
                        return loader(name)


                    main: IProxy = report("x")
                    """),), migrated=('a/io.py', 'b/io.py')),
        ),
        invalid=(
            Invalid("""

                """, path='__pinjected__.py', files=(('a/__init__.py', """

                    """), ('a/io.py', """
                    from pinjected import injected


                    @injected
                    def loader(path):
                        return "a:" + path
                    """), ('b/__init__.py', """

                    """), ('b/io.py', """
                    from pinjected import injected


                    @injected
                    def loader(path):
                        return "b:" + path
                    """), ('shop/__init__.py', """

                    """), ('shop/app.py', """
                    from pinjected import IProxy, injected


                    @injected
                    def report(loader, /, name):
                        return loader(name)


                    main: IProxy = report("x")
                    """),), migrated=('a/io.py', 'b/io.py'), line=0),
        ),
    )
)

MIGRATED_FUNCTION_USED_AS_OBJECT = register(
    Rule(
        code="DM161",
        name="migrated-function-used-by-pinjected-code",
        message="pinjected code uses a migrated @do function as an object",
        what=(
            "Reported (by `doeff-migrate`, after a run that migrated part of a project) above a statement of "
            "code that is still pinjected and refers to a function that is now a migrated `@do` function: "
            "`design(loader=load_v2)`, `main: IProxy = train(cfg)`, a direct call in an `@injected` body. "
            "A later run removes the flag once the statement no longer needs it (or its module is migrated)."
        ),
        why=(
            "Dependencies by name are bridged by the generated block in the root `__pinjected__.py`, but an "
            "object is used as it is: pinjected would bind the `@do` function as a plain value or call it and "
            "get a program instead of the result, silently."
        ),
        example=(
            "from loaders import load_v2  # migrated\n"
            "from pinjected import design\n\n"
            "__design__ = design(loader=load_v2)"
        ),
        use_instead=(
            "from doeff_migrate.runtime import as_injected\n"
            "from loaders import load_v2\n"
            "from pinjected import design\n\n"
            "__design__ = design(loader=as_injected(load_v2))  # or migrate this module too"
        ),
        fix_safety="No automatic fix: migrating the module (or the listed bridge by hand) is the fix.",
        phase="di",
        valid=(
            Valid("""
                from pinjected import design
                import shop.catalog

                __design__ = design(tax_rate=0.5)
                """, path='shop/settings.py', files=(('shop/__init__.py', """

                    """), ('shop/catalog.py', """
                    from pinjected import injected


                    @injected
                    def price_of(catalog, /, sku):
                        return catalog[sku]
                    """),), migrated=('shop/catalog.py',)),
        ),
        invalid=(
            Invalid("""
                from pinjected import design
                from shop.catalog import price_of

                __design__ = design(pricing=price_of, tax_rate=0.5)
                """, path='shop/settings.py', files=(('shop/__init__.py', """

                    """), ('shop/catalog.py', """
                    from pinjected import injected


                    @injected
                    def price_of(catalog, /, sku):
                        return catalog[sku]
                    """),), migrated=('shop/catalog.py',), line=4),
        ),
    )
)
