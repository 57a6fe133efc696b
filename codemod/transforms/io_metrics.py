"""wandb/mlflow logging in ``@do`` functions -> the runtime's metrics effects (``LogMetrics``, ``LogConfig``, ...).

``wandb.log(d, step=..., commit=...)`` -> ``yield LogMetrics(d, step=..., commit=...)``; ``wandb.config.update(d)``
-> ``yield LogConfig(d)``; ``wandb.summary.update(d)`` -> ``yield LogSummary(d)``. Run setup (``wandb.init``) and
shapes without an effect form are flagged (DM301).
"""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from ..handler_stubs import record_need, spec_for_metrics
from ..rules.side_effects import DIRECT_METRICS_CALL
from .effectful_code import yielded

METRICS_MODULE = "doeff_migrate.runtime.metrics"


class MetricsCalls:
    """The metrics half of the io body rewriter (mixed into it; it owns the state used here)."""

    def metrics_call(self, qualified: str, call: cst.Call) -> cst.BaseExpression:
        effect: str | None = None
        args: list[cst.Arg] = []
        if qualified == "wandb.log":
            effect, args = "LogMetrics", self.wandb_log_args(call)
        elif qualified in ("wandb.config.update", "wandb.summary.update", "wandb.run.summary.update"):
            if len(call.args) == 1 and not call.args[0].keyword and not call.args[0].star:
                effect = "LogConfig" if qualified == "wandb.config.update" else "LogSummary"
                args = [call.args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
        if effect is None or not args:
            self.note(DIRECT_METRICS_CALL.code, f"`{qualified}(...)` left as it is: it has no metrics-effect form (run setup stays with the entry point)")
            return call
        if self.nested:
            self.note(DIRECT_METRICS_CALL.code, f"`{qualified}(...)` inside a comprehension or lambda, where `yield` cannot go")
            return call
        AddImportsVisitor.add_needed_import(self.state.context, METRICS_MODULE, effect)
        record_need(self.state, spec_for_metrics(effect))
        self.owner.introduced = True
        return yielded(cst.Call(cst.Name(effect), args))

    def wandb_log_args(self, call: cst.Call) -> list[cst.Arg]:
        """``wandb.log(data, step=None, commit=None)``'s arguments as ``LogMetrics``'s; [] when another shape."""
        names = ("metrics", "step", "commit")
        out: list[cst.Arg] = []
        for i, arg in enumerate(call.args):
            if arg.star:
                return []
            if arg.keyword is None:
                if i >= len(names):
                    return []
                keyword = names[i]
            else:
                keyword = {"data": "metrics"}.get(arg.keyword.value, arg.keyword.value)
                if keyword not in names:
                    return []
            value = arg.value
            if keyword == "metrics":
                out.insert(0, cst.Arg(value))
            else:
                out.append(cst.Arg(value, keyword=cst.Name(keyword), equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))))
        if not out or out[0].keyword is not None:
            return []
        return [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in out]
