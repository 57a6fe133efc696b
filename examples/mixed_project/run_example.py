"""Run the example's entry point, ``reports.app.main``, in whatever state of migration it is in.

    python run_example.py

Prints what the program prints, then ``result: <JSON>``. While the entry point is still pinjected
this resolves it as ``python -m pinjected run reports.app.main`` does; once it is migrated, as
``python -m doeff_migrate.runtime run reports.app.main`` does, with the pinjected packages that are
left answered through a ``PinjectedEnv`` (``doeff_migrate.runtime.run_mixed_entry``).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from doeff_migrate.runtime import run_mixed_entry  # noqa: E402 - after the path is set

if __name__ == "__main__":
    result = run_mixed_entry("reports.app.main")
    print("result: " + json.dumps(result, sort_keys=True))
