import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while starting: nothing was read or written yet
    sys.stderr.write("interrupted: no file was written\n")
    raise SystemExit(130)

raise SystemExit(main())
