"""The ``io`` phase's sibling probing: an entry point running programs of a package that does IO gets that package's
handlers."""

from __future__ import annotations

from . import tools

NP_TRAIN = "@do\ndef train(n):\n    return np.load(\"w.npy\") * n\n\n"


def test_script_outside_the_package_is_wired_with_the_packages_handlers(tmp_path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "pipeline.py").write_text(
        "import numpy as np\nfrom doeff_migrate.runtime import do\n\n" + NP_TRAIN)
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "go.py"
    source = "from doeff_migrate.runtime import run\nfrom proj.pipeline import train\n\ndef main():\n    print(run(train(2)))\n"
    script.write_text(source)
    result = tools.migrate_source(source, path=str(script), phases=("io", "recording"))
    assert "run(with_proj_effect_handlers(with_handlers([*recording_handlers()], train(2))))" in result.code
    assert "from proj.effects_handlers import with_effect_handlers as with_proj_effect_handlers" in result.code
