"""The ``io`` phase's metrics: wandb/mlflow logging in ``@do`` functions becomes metrics effects or declared effects;
run setup is flagged (DM301)."""

from __future__ import annotations

from functools import partial

from . import tools

check_transformed = partial(tools.check_transformed, phases=("io",), path="pkg/mod.py")
DO = "from doeff_migrate.runtime import do\n"


def codes(result) -> list[str]:
    return [f.code for f in result.flags]


def effects(result) -> list[str]:
    return [need.spec.effect for need in result.effects if need.spec is not None]


def specs(result):
    return {need.spec.effect: need.spec for need in result.effects if need.spec is not None}


def test_wandb_log_config_and_summary_become_metrics_effects():
    result = check_transformed(
        "import wandb\n" + DO + """
@do
def step(loss, i):
    wandb.log({"loss": loss}, step=i)
    wandb.log({"acc": 1.0}, i, False)
    wandb.config.update({"lr": 0.1})
    wandb.summary.update({"best": loss})
    wandb.run.summary.update({"last": loss})
    return loss
""",
        "import wandb\n" + DO + "from doeff_migrate.runtime.metrics import LogConfig, LogMetrics, LogSummary\n"
        "from pkg.effects_handlers import HANDLERS\n" + """
@do
def step(loss, i):
    yield LogMetrics({"loss": loss}, step=i)
    yield LogMetrics({"acc": 1.0}, step=i, commit=False)
    yield LogConfig({"lr": 0.1})
    yield LogSummary({"best": loss})
    yield LogSummary({"last": loss})
    return loss


__doeff_handlers__ = HANDLERS
""",
    )
    assert codes(result) == []
    assert effects(result) == ["LogMetrics", "LogConfig", "LogSummary"]


def test_aliased_and_from_imports_of_wandb_are_resolved():
    check_transformed(
        "import wandb as W\nfrom wandb import log as wlog\n" + DO + """
@do
def step(loss):
    W.log({"a": loss})
    wlog(data={"b": loss})
""",
        "import wandb as W\nfrom wandb import log as wlog\n" + DO + "from doeff_migrate.runtime.metrics import LogMetrics\n"
        "from pkg.effects_handlers import HANDLERS\n" + """
@do
def step(loss):
    yield LogMetrics({"a": loss})
    yield LogMetrics({"b": loss})


__doeff_handlers__ = HANDLERS
""",
    )


def test_wandb_init_and_finish_stay_and_are_flagged_dm301():
    result = check_transformed(
        "import wandb\n" + DO + "\n@do\ndef f():\n    wandb.init(project='x')\n    wandb.log({'a': 1}, sync=True)\n",
        "import wandb\n" + DO + "\n@do\ndef f():\n"
        "    # doeff-migrate: DM301: `wandb.init(...)` left as it is: it has no metrics-effect form (run setup stays with the entry point)\n"
        "    wandb.init(project='x')\n"
        "    # doeff-migrate: DM301: `wandb.log(...)` left as it is: it has no metrics-effect form (run setup stays with the entry point)\n"
        "    wandb.log({'a': 1}, sync=True)\n",
    )
    assert codes(result) == ["DM301", "DM301"]


def test_mlflow_logging_becomes_declared_effects_with_complete_handlers():
    result = check_transformed(
        "import mlflow as mf\nfrom mlflow import log_metric\n" + DO + """
@do
def step(loss, i):
    mf.log_metric("loss", loss, step=i)
    log_metric("acc", 1.0)
    mf.log_params({"lr": 0.1})
    mf.set_tag("stage", "train")
""",
        ("import mlflow as mf\nfrom mlflow import log_metric\n" + DO
        + "from pkg.effects_handlers import HANDLERS, MlflowLogMetric, MlflowLogParams, MlflowSetTag\n" + """
@do
def step(loss, i):
    yield MlflowLogMetric("loss", loss, options={"step": i})
    yield MlflowLogMetric("acc", 1.0)
    yield MlflowLogParams({"lr": 0.1})
    yield MlflowSetTag("stage", "train")
""") + "\n\n__doeff_handlers__ = HANDLERS\n",
    )
    handler = specs(result)["MlflowLogMetric"]
    assert not handler.is_stub and "value = mlflow.log_metric(effect.key, effect.value, **effect.options)" in handler.body[1]


def test_mlflow_calls_without_an_effect_form_are_flagged():
    result = check_transformed(
        "import mlflow\n" + DO + "\n@do\ndef f(x):\n    mlflow.start_run()\n    mlflow.log_metric('a', x, 3)\n",
        "import mlflow\n" + DO + "\n@do\ndef f(x):\n"
        "    # doeff-migrate: DM301: `mlflow.start_run(...)` left as it is: it has no metrics-effect form (run setup stays with the entry point)\n"
        "    mlflow.start_run()\n"
        "    # doeff-migrate: DM314: `mlflow.log_metric(...)` left as it is: the codemod moves it only with exactly 2 positional argument(s) (key, value) and plain keywords\n"
        "    mlflow.log_metric('a', x, 3)\n",
    )
    assert codes(result) == ["DM301", "DM314"]
