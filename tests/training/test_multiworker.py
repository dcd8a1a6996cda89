"""`vaeviewer train` on several machines: two workers on this machine under TF_CONFIG (CPU, localhost)."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import tiny_config
from vaeviewer import cli
from vaeviewer.training import distribute

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--demo", "--frame-size", "16x20", "--filters", "4,8", "--inner-dim", "8", "--latent-dim", "2",
        "--epochs", "2", "--steps-per-epoch", "3", "--batch-size", "8", "--precision", "float32"]


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def start_worker(ports, index, tmp, *args) -> subprocess.Popen:
    # TMPDIR: a worker's scratch run directory and logs go there, so the test sees what is left.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_CONFIG": tf_config(ports, index), "TMPDIR": str(tmp)}
    return subprocess.Popen([sys.executable, "-m", "vaeviewer.cli", "train", *map(str, args)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(procs, timeout=150):
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=timeout))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return outs


def test_two_workers_train_in_step_and_only_the_chief_writes(tmp_path):
    ports = free_ports(2)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    run, other = tmp_path / "run", tmp_path / "run_worker1"
    settings = tmp_path / "tiny.json"      # 2 demo sequences of 80 frames of 16x20: a quick run
    settings.write_text(tiny_config(snapshot_interval_s=0.5).to_json())
    procs = [start_worker(ports, 0, scratch, "--config", settings, "--out", run, "--json", "--worker-timeout", 60),
             start_worker(ports, 1, scratch, "--config", settings, "--out", other, "--json", "--worker-timeout", 60)]
    (out0, err0), (out1, err1) = finish(procs)
    assert procs[0].returncode == 0, err0[-3000:]
    assert procs[1].returncode == 0, err1[-3000:]
    chief, worker = json.loads(out0), json.loads(out1)
    assert chief["workers"] == worker["workers"] == 2
    assert chief["replicas"] == worker["replicas"] == 2
    assert chief["steps"] == worker["steps"] == 6 and chief["reason"] == worker["reason"] == "completed"
    assert chief["weights_sha256"] == worker["weights_sha256"]   # the workers ended in step
    assert chief["out"] == str(run) and chief["train_loss"] > 0
    assert {"config.json", "history.jsonl", "last.keras", "best.keras"} <= {f.name for f in run.iterdir()}
    assert len((run / "history.jsonl").read_text().splitlines()) == 2
    assert not other.exists()                    # the other worker wrote nothing where it was told
    assert list(scratch.iterdir()) == []         # and removed its scratch run directory
    assert "completed: finished 2 epochs" in err0                # the chief tells how the run went
    assert "worker 0 writes the run directory" in err1 and "finished 2 epochs" not in err1


def test_a_worker_alone_gives_up_within_its_timeout(tmp_path):
    ports = free_ports(2)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_CONFIG": tf_config(ports, 1), "TMPDIR": str(tmp_path)}
    p = subprocess.Popen([sys.executable, "-m", "vaeviewer.cli", "train", *TINY, "--worker-timeout", "2"], cwd=ROOT,
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = p.stderr.readline()           # printed when the wait for the others begins
        t0 = time.monotonic()
        rest = p.stderr.read()
        p.wait(timeout=60)
        waited = time.monotonic() - t0
    finally:
        if p.poll() is None:
            p.kill()
    assert "waiting up to 2 s" in first
    assert p.returncode == 2
    lines = [line for line in rest.splitlines() if line.strip()]
    assert len(lines) == 1, rest                 # one line; TensorFlow's own complaints go to a log
    assert "vaeviewer: error: worker 1" in lines[0] and f"localhost:{ports[0]}" in lines[0]
    assert "within 2 s" in lines[0] and "--worker-timeout" in lines[0]
    log = Path(lines[0].rsplit("(log: ", 1)[1].rstrip(")"))
    assert log.parent == tmp_path and "Deadline" in log.read_text()   # TensorFlow's own account
    # TensorFlow adds a few seconds to the registration deadline on a worker that waits for the chief
    assert waited < 2 + 10


@pytest.mark.parametrize("text, words", [
    ('{"cluster": {"worker": ["a:1"]}, "task": ', "not valid JSON"),
    ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', "index 2 must be 0..1"),
    ('{"cluster": {"worker": ["a:1"], "ps": ["c:3"]}, "task": {"type": "worker", "index": 0}}', "remove 'ps'"),
    ('{"cluster": {"worker": ["a"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
    ('{"cluster": {"worker": ["a:1", "a:1"]}, "task": {"type": "worker", "index": 0}}', "listed twice"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', "task type 'chief'"),
])
def test_bad_tf_config_is_one_line_and_exit_2(monkeypatch, capsys, text, words):
    monkeypatch.setenv("TF_CONFIG", text)
    assert cli.main(["train", *TINY]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1, err


@pytest.mark.parametrize("flags, words", [
    (["--variant", "convlstm", "--window", "4", "--stride", "4", "--stateful", "--batch-size", "2"], "stateful"),
    (["--resume", "somewhere"], "--resume"),
])
def test_what_cannot_run_on_several_machines_is_refused(monkeypatch, capsys, tmp_path, flags, words):
    if flags[0] == "--resume":   # a real stored run, so that only TF_CONFIG is in the way
        (tmp_path / "config.json").write_text(tiny_config(out=str(tmp_path)).to_json())
        flags = ["--resume", str(tmp_path), "--epochs", "3"]
        args = ["train", *flags]
    else:
        args = ["train", *TINY, *flags]
    monkeypatch.setenv("TF_CONFIG", tf_config([1, 2], 0))
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "TF_CONFIG is set" in err and words in err and err.count("\n") == 1, err


def test_reading_tf_config():
    assert distribute.read_tf_config({}) is None
    c = distribute.read_tf_config({"TF_CONFIG": json.dumps(
        {"cluster": {"chief": ["c:1"], "worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}})})
    assert (c.workers, c.rank, c.is_chief) == (3, 2, False)
    assert c.name() == "worker 2 (b:1)" and c.addresses() == ["c:1", "a:1", "b:1"]
    c0 = distribute.read_tf_config({"TF_CONFIG": tf_config([5, 6], 0)})
    assert c0.is_chief and c0.name(1) == "worker 1 (localhost:6)"


def test_workers_started_differently_are_told_how(tmp_path):
    data = tmp_path / "a.npy"
    data.write_bytes(b"x" * 100)
    a = distribute.worker_facts(tiny_config(demo=False, paths=[str(data)], out="here"), 1)
    same = distribute.worker_facts(tiny_config(demo=False, paths=[str(data)], out="there"), 1)
    assert distribute.differences(a, same) == []          # --out may point anywhere on each machine
    b = dict(same, settings={**same["settings"], "epochs": 3, "out": False}, data=[["a.npy", 99]], devices=2)
    diff = distribute.differences(a, b)
    assert "epochs: 2 here, 3 there" in diff and "--out given: True here, False there" in diff
    assert any(d.startswith("data") for d in diff) and "devices: 1 here, 2 there" in diff
    with pytest.raises(Exception, match="no such file"):
        distribute.data_fingerprint([tmp_path / "missing.npy"])


def test_lost_worker_is_named():
    c = distribute.read_tf_config({"TF_CONFIG": tf_config([5, 6], 0)})
    err = RuntimeError("{{function_node x}} Collective ops is aborted by: the following tasks are unhealthy "
                       "(stopped sending heartbeats):\n/job:worker/replica:0/task:1")
    assert distribute.lost_contact(c, err) == ("worker 0 (localhost:5): lost contact with worker 1 (localhost:6) "
                                               "during training (it stopped, or its machine cannot be reached)")
    assert "(boom)" in distribute.lost_contact(c, RuntimeError("{{node y}} boom\nmore"))
