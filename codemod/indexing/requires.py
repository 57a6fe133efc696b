"""What an entry point needs: the keys it can ``Ask`` for (the runner's pre-flight and eager build order)."""

from __future__ import annotations

from .. import pinjected_names as pn
from .facts import ProviderDef, ValueSpec


class EntryRequirements:
    """Part of :class:`project.ProjectIndex`: ``requires`` and the heights it orders by."""

    def requires(self, module: str, entry: str) -> tuple[str, ...] | None:
        """Keys an entry point can ``Ask`` for, transitively, dependencies first (post-order).

        ``None`` when the answer is not statically known (a design we cannot read, an ``unknown``
        binding on the path): the runner then falls back to lazy resolution.
        """
        facts = self.modules.get(module)
        if facts is None or entry in facts.opaque_overrides:
            return None
        env = self.env_for(module)
        if env is None:
            return None
        env = {**env, **facts.overrides.get(entry, {})}
        if entry in facts.entry_points:
            leaves = facts.entry_points[entry]
        elif entry in facts.providers:
            leaves = [ValueSpec("ref", module, entry)]
        else:
            return None
        order: list[str] = []
        seen: set[str] = set()
        state = {"ok": True}
        depth: dict[str, int] = {}

        def deps_of(key: str) -> tuple[str, ...]:
            if key in env:
                spec = env[key]
                if spec.kind == "alias":
                    return (spec.ref,)
                if spec.kind == "ref":
                    target = self.resolve_ref(spec)
                    return target.deps if target is not None else ()
                if spec.kind == "call":
                    target = self.instance_of_call(spec)
                    if target is not None:
                        return target.deps
                    state["ok"] = False
                if spec.kind == "unknown":
                    state["ok"] = False
                return ()
            providers = self.providers_for_key(key)
            return providers[0].deps if len(providers) == 1 else ()

        def visit_key(key: str, stack: tuple[str, ...]) -> None:
            depth[key] = min(depth.get(key, len(stack) + 1), len(stack) + 1)
            if key in seen or key in stack:
                return
            for dep in deps_of(key):
                visit_key(dep, (*stack, key))
            seen.add(key)
            order.append(key)

        for leaf in leaves:
            if any(self.hands_over_unevaluated(module, call) for call in leaf.inside):
                continue  # pinjected hands it to the callee unevaluated: nothing is built for it
            if leaf.kind == "alias":
                visit_key(leaf.ref, ())
                continue
            target = self.resolve_ref(leaf)
            if target is not None:
                for dep in target.deps:
                    visit_key(dep, ())
        if not state["ok"]:
            return None
        # pinjected resolves the dependencies of a provider concurrently: a provider's body runs
        # after as many event-loop hops as it is deep (from the entry point) plus its own height
        # (its longest chain of dependencies). Ordering by that, then by parameter order, puts the
        # runner's eager build in the order the instance bodies run under pinjected.
        heights: dict[str, int] = {}

        def height(key: str, stack: tuple[str, ...] = ()) -> int:
            if key in heights:
                return heights[key]
            deps = [d for d in deps_of(key) if d not in stack]
            value = 0 if not deps else 1 + max(height(d, (*stack, key)) for d in deps)
            heights[key] = value
            return value

        position = {k: i for i, k in enumerate(order)}
        # Ties: shallower bodies first. pinjected starts every dependency-free instance of a level in
        # the same event-loop hop, before any instance that waits for one of them.
        ranked = sorted(order, key=lambda k: (depth[k] + height(k), height(k), position[k]))
        return tuple(k for k in ranked if k not in pn.RESOLVER_SPECIAL_KEYS)

    def hands_over_unevaluated(self, module: str, call: tuple[str, int, str]) -> bool:
        """Whether the argument ``call`` names (``ValueSpec.inside``) goes to a parameter annotated ``Injected``."""
        callee, index, keyword = call
        target = self.resolve_ref(ValueSpec("ref", module, callee))
        if target is None:
            return False
        return any((keyword == "" and index >= 0 and position == index) or (keyword and keyword == name) for position, name in target.unevaluated)

    def provider_height(self, provider: ProviderDef, module: str) -> int:
        """Longest dependency chain below ``provider`` (0: no dependencies), seen from ``module``."""
        env = self.env_for(module) or {}

        def height(deps: tuple[str, ...], stack: tuple[str, ...]) -> int:
            best = -1
            for dep in deps:
                if dep in stack:
                    continue
                spec = env.get(dep)
                target = None
                if spec is not None and spec.kind == "ref":
                    target = self.resolve_ref(spec)
                elif spec is not None and spec.kind == "call":
                    target = self.instance_of_call(spec)
                elif spec is None:
                    found = self.providers_for_key(dep)
                    target = found[0] if len(found) == 1 else None
                best = max(best, height(target.deps, (*stack, dep)) if target is not None else 0)
            return best + 1

        return height(provider.deps, ())
