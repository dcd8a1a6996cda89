"""Run the real command line in a subprocess, as a user does.

Three ways, all giving a `subprocess.CompletedProcess` (args, returncode, stdout, stderr):

* `vaeviewer(...)`: one fresh `python -m vaeviewer.cli` process per call.
* `vaeviewer_batch([...])`: many calls in ONE fresh process (tests/reliability/cli_batch.py), each
  through `sys.exit(vaeviewer.cli.main(argv))`'s rules with its own stdout/stderr captured at the
  file-descriptor level. A call still shows all a user would see: exit status, every line on
  stderr (Python's, and C++ logging such as TensorFlow's start-up lines should a call import it),
  a traceback. It saves the interpreter start (~1 s on a busy 2-core CI machine) per call: for
  the many refusals of the bad-input and bad-settings tests.
* `run_main(...)`: in this process (TensorFlow is already loaded here): for tiny training runs,
  where a subprocess would add nothing but a TensorFlow import.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "QT_QPA_PLATFORM": "offscreen"}
TINY_TRAIN = ["--frame-size", "16x20", "--filters", "4,8", "--inner-dim", "8", "--latent-dim", "2",
              "--batch-size", "8", "--precision", "float32", "--steps-per-epoch", "2"]
BATCH_SCRIPT = Path(__file__).with_name("cli_batch.py")


def vaeviewer(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vaeviewer.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def vaeviewer_batch(calls: list, timeout: float = 300) -> list[subprocess.CompletedProcess]:
    """Each of `calls` (a list of arguments) as `vaeviewer ARGS`, all in one fresh process.

    A call the batch process did not finish (it crashed or hung there) runs again alone in its own
    process, and so do the calls after it: each result is what that command does on its own.
    """
    argvs = [[str(a) for a in call] for call in calls]
    with tempfile.TemporaryDirectory(prefix="vaeviewer-cli-batch-") as d:
        todo, results = Path(d) / "calls.json", Path(d) / "results.jsonl"
        todo.write_text(json.dumps(argvs))
        try:
            subprocess.run([sys.executable, str(BATCH_SCRIPT), str(todo), str(results)], capture_output=True,
                           text=True, timeout=timeout, env=ENV)
        except subprocess.TimeoutExpired:
            pass
        done = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    out = [subprocess.CompletedProcess(["vaeviewer", *argv], r["returncode"], r["stdout"], r["stderr"])
           for argv, r in zip(argvs, done)]
    out += [vaeviewer(*argv, timeout=timeout) for argv in argvs[len(out):]]
    return out


@contextlib.contextmanager
def _fd_capture(fd: int):
    """Everything written to file descriptor `fd` (by Python or C++) while inside, as text."""
    got = io.StringIO()
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(fd)
        os.dup2(tmp.fileno(), fd)
        try:
            yield got
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            got.write(tmp.read().decode(errors="replace"))


def run_main(*args) -> subprocess.CompletedProcess:
    """`vaeviewer ARGS` in this process: main()'s exit status (argparse's SystemExit included), its
    stdout and stderr (Python's and the file descriptors'), and the warnings Python would have
    printed to stderr in a fresh process. An exception escaping main() fails the test."""
    argv = [str(a) for a in args]
    from vaeviewer.cli import main

    out, err = io.StringIO(), io.StringIO()
    sys.stdout.flush()
    sys.stderr.flush()
    with _fd_capture(1) as fd_out, _fd_capture(2) as fd_err, warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()           # the interpreter's defaults, as in a fresh process
        for action, category in (("ignore", DeprecationWarning), ("ignore", PendingDeprecationWarning),
                                 ("ignore", ImportWarning), ("ignore", ResourceWarning)):
            warnings.simplefilter(action, category)
        warnings.simplefilter("default", Warning, append=True)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as exc:      # what sys.exit(main()) would do with it
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if exc.code is not None and not isinstance(exc.code, int):
                    print(exc.code, file=sys.stderr)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
    stderr = err.getvalue() + fd_err.getvalue() + "".join(
        warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line) for w in caught)
    return subprocess.CompletedProcess(["vaeviewer", *argv], rc, out.getvalue() + fd_out.getvalue(), stderr)


def assert_user_error(r: subprocess.CompletedProcess, *words: str) -> str:
    """Exit status 2, exactly one non-empty line on stderr, no traceback; the line holds `words`."""
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2, f"exit {r.returncode}, stderr: {r.stderr[-2000:]}"
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    assert len(lines) == 1, f"{len(lines)} lines on stderr: {r.stderr[-2000:]}"
    assert lines[0].startswith("vaeviewer: error: "), lines[0]
    for word in words:
        assert word.lower() in lines[0].lower(), f"{word!r} not in {lines[0]!r}"
    return lines[0]
