"""Run many `vaeviewer` command lines in this one process: `python cli_batch.py CALLS.json RESULTS.jsonl`.

CALLS.json holds a list of argument lists. Each call runs as `python -m vaeviewer.cli ARGS` would
run it (`sys.exit(main(ARGS))`: a SystemExit gives the exit status, an escaping exception prints
its traceback and gives status 1), with file descriptors 1 and 2 redirected to files of its own,
so its stdout and stderr hold everything written there: by Python, by argparse, by C++ code (such
as TensorFlow's start-up lines, should a call import it), and the warnings Python shows. One JSON
line per finished call goes to RESULTS.jsonl, written before the next call starts. Used by
tests/reliability/clirun.py.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
import warnings


def run_one(argv: list[str]) -> dict:
    from vaeviewer.cli import main

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            # a warning shown by an earlier call shows again, as in a fresh process
            getattr(warnings, "_filters_mutated", lambda: None)()
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
            except BaseException:
                traceback.print_exc()
                code = 1
            if code is None:
                rc = 0
            elif isinstance(code, int):
                rc = code
            else:
                print(code, file=sys.stderr)
                rc = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        out.seek(0)
        err.seek(0)
        return {"returncode": rc, "stdout": out.read().decode(errors="replace"),
                "stderr": err.read().decode(errors="replace")}


def main() -> None:
    with open(sys.argv[1]) as fh:
        calls = json.load(fh)
    with open(sys.argv[2], "w") as results:
        for argv in calls:
            results.write(json.dumps(run_one(argv)) + "\n")
            results.flush()


if __name__ == "__main__":
    main()
