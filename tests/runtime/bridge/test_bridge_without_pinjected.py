"""pinjected is an optional extra: the runtime imports without it; bridges say how to install it.

The missing package is simulated in a subprocess whose import system refuses ``pinjected`` (a
meta path finder raising ``ModuleNotFoundError``), the way a venv without the extra behaves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

BLOCK_PINJECTED = textwrap.dedent(
    """\
    import sys

    class _NoPinjected:
        def find_spec(self, name, path=None, target=None):
            if name == "pinjected" or name.startswith("pinjected."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, _NoPinjected())
    """
)


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_importing_the_runtime_does_not_import_pinjected():
    proc = run_python(
        "import json, sys\n"
        "import doeff_migrate.runtime\n"
        "from doeff_migrate.runtime import as_injected, PinjectedEnv, do, run\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'pinjected')))\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_without_pinjected_programs_run_and_each_bridge_names_the_extra_to_install():
    code = BLOCK_PINJECTED + textwrap.dedent(
        """\
        import json
        from doeff_migrate.runtime import Ask, do, run, as_injected, as_instance, migrated_design, PinjectedEnv, pinjected_env

        @do
        def f():
            return (yield Ask("x")) + 1

        results = {"plain run": run(f(), env={"x": 1})}
        for name, call in [
            ("as_injected", lambda: as_injected(f)),
            ("as_instance", lambda: as_instance(f)),
            ("migrated_design", lambda: migrated_design()),
            ("PinjectedEnv", lambda: PinjectedEnv(None)),
            ("pinjected_env", lambda: pinjected_env(None)),
        ]:
            try:
                call()
                results[name] = "no error"
            except ModuleNotFoundError as err:
                results[name] = [err.name, str(err)]
        print(json.dumps(results))
        """
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert results.pop("plain run") == 2
    assert set(results) == {"as_injected", "as_instance", "migrated_design", "PinjectedEnv", "pinjected_env"}
    for who, (missing, message) in results.items():
        assert missing == "pinjected"
        assert message.startswith(f"{who if who != 'pinjected_env' else 'PinjectedEnv'} needs pinjected")
        assert "pip install 'doeff-migrate[pinjected]'" in message
