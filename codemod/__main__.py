import os
import sys

# os._exit after an interrupt: one that went through a C extension's own code run during an import
# marks the interpreter to kill itself with SIGINT at exit, whatever exit code is raised afterwards.
try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while starting: nothing was read or written yet
    sys.stderr.write("interrupted: no file was written\n")
    sys.stderr.flush()
    os._exit(130)

raise SystemExit(main())  # (an interrupt in the run: main itself exits 130 with os._exit)
