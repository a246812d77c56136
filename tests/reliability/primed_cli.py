"""The CLI, primed: import every command module, say ``ready``, run the command on ``go``.

The crash test starts the next victim while it reruns the current day, so the moment a
victim is told to go its interpreter start-up is already behind it: the kill moments fall
on the run itself.
"""

from __future__ import annotations

import sys

from ops_domain.cli.main import build_parser, main

if __name__ == "__main__":
    build_parser()
    print("ready", flush=True)
    sys.stdin.readline()
    sys.exit(main(sys.argv[1:]))
