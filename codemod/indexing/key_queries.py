"""Project-wide questions about dependency keys: who provides a key, what binds it, how its calls behave."""

from __future__ import annotations

from .facts import ProviderDef, ValueSpec


class KeyQueries:
    """Part of :class:`project.ProjectIndex`: reads ``modules`` (and caches ``_by_key``)."""

    def _tables(self) -> tuple[dict[str, list[ProviderDef]], dict[str, list[ValueSpec]]]:
        if self._by_key is None:
            providers: dict[str, list[ProviderDef]] = {}
            bindings: dict[str, list[ValueSpec]] = {}
            for facts in self.modules.values():
                for key, provider in facts.providers.items():
                    providers.setdefault(key, []).append(provider)
                for key, specs in facts.bound_keys.items():
                    bindings.setdefault(key, []).extend(specs)
            self._by_key = (providers, bindings)
        return self._by_key

    def providers_for_key(self, key: str) -> list[ProviderDef]:
        return self._tables()[0].get(key, [])

    def bindings_for_key(self, key: str) -> list[ValueSpec]:
        return self._tables()[1].get(key, [])

    def resolve_ref(self, spec: ValueSpec, _depth: int = 0) -> ProviderDef | None:
        """The provider a ``ref`` names (a local definition or one imported from an indexed module)."""
        if spec.kind != "ref" or _depth > 10:
            return None
        facts = self.modules.get(spec.module)
        if facts is None:
            return None
        head, _, attr = spec.ref.partition(".")
        if not attr:
            if head in facts.providers:
                return facts.providers[head]
            aliased = facts.variables.get(head)
            if aliased:  # ``impl = fetch_v2`` at module level
                return self.resolve_ref(ValueSpec("ref", spec.module, aliased), _depth + 1)
            if head in facts.imports:
                mod, name = facts.imports[head]
                return self.resolve_ref(ValueSpec("ref", mod, name), _depth + 1)
            return None
        # ``module.func`` through ``import pkg.module`` / ``from pkg import module``.
        target_module = facts.imports.get(head)
        candidates = [f"{target_module[0]}.{target_module[1]}"] if target_module else []
        candidates.append(spec.ref.rpartition(".")[0])
        for candidate in candidates:
            rest = spec.ref.split(".", 1)[1] if target_module else spec.ref.rpartition(".")[2]
            if candidate in self.modules and "." not in rest:
                return self.resolve_ref(ValueSpec("ref", candidate, rest), _depth + 1)
        return None

    def instance_of_call(self, spec: ValueSpec) -> ProviderDef | None:
        """The ``@instance`` provider whose program a ``"call"`` spec (``inst()``) is, if it is one."""
        target = self.resolve_ref(ValueSpec("ref", spec.module, spec.ref))
        return target if target is not None and target.kind == "instance" else None

    def attribute_of_provider(self, spec: ValueSpec) -> bool:
        parts = spec.ref.split(".")
        return any(self.resolve_ref(ValueSpec("ref", spec.module, ".".join(parts[:i]))) is not None for i in range(1, len(parts)))

    def is_opaque_variable(self, spec: ValueSpec) -> bool:
        """A module-level variable assigned something other than a plain name (``impl = pick()``)."""
        facts = self.modules.get(spec.module)
        if facts is None or "." in spec.ref:
            return False
        return spec.ref in facts.variables and facts.variables[spec.ref] is None

    def key_kind(self, key: str) -> str:
        """How a dependency ``key`` behaves at call sites across the whole project.

        ``"function"``: every value it can have is an injected function (calls become ``yield``);
        ``"value"``: never an injected function (calls stay calls, awaits become ``Await``);
        ``"mixed"``: both occur (a design binds a plain callable over an injected function, or the
        reverse) or the name is defined twice: not mechanically translatable (DM107).
        """
        kinds: set[str] = set()
        providers = self.providers_for_key(key)
        if len(providers) > 1:
            return "mixed"
        for provider in providers:
            kinds.add("function" if provider.kind == "injected" else "value")
        for spec in self.bindings_for_key(key):
            if spec.kind == "call":
                kinds.add("value" if self.instance_of_call(spec) is not None else "mixed")
                continue
            target = self.resolve_ref(spec)
            if target is not None:
                kinds.add("function" if target.kind == "injected" else "value")
            elif spec.kind == "ref" and "." in spec.ref and self.attribute_of_provider(spec):
                kinds.add("mixed")  # ``settings.db_url``: an attribute of a provider's value, maybe a function
            elif spec.kind == "ref" and self.is_opaque_variable(spec):
                kinds.add("mixed")  # a variable whose value parsing cannot know: maybe a function
            elif spec.kind == "alias":
                kinds.add(self.key_kind(spec.ref) if spec.ref != key else "mixed")
            elif spec.kind in ("unknown", "opaque"):
                kinds.add("mixed")
            else:
                kinds.add("value")
        if not kinds:
            return "value"
        return kinds.pop() if len(kinds) == 1 else "mixed"

    def is_rebound(self, key: str) -> bool:
        return bool(self.bindings_for_key(key))

    def env_for(self, module: str) -> dict[str, ValueSpec] | None:
        """The merged ``__design__`` of the package hierarchy root to leaf (runner precedence)."""
        parts = module.split(".")
        env: dict[str, ValueSpec] = {}
        # A ``__pinjected__.py`` at the project root (outside any package) is read first (C22).
        chain: list[str] = ["__pinjected__"] if module != "__pinjected__" else []
        for i in range(1, len(parts)):
            package = ".".join(parts[:i])
            chain += [package, f"{package}.__pinjected__"]
        chain.append(module)
        for name in chain:
            facts = self.modules.get(name)
            if facts is None:
                continue
            design = facts.design
            if design is None:
                return None
            env.update(design)
        return env
