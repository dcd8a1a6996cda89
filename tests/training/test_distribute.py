"""Training under MirroredStrategy, proven on a CPU split into two logical devices."""

import json
import os
import subprocess
import sys

SCRIPT = r"""
import json, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tests.conftest import tiny_config
from vaeviewer.training.session import TrainingSession
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
events = []
summary = TrainingSession(tiny_config(epochs=1), events.append, strategy=strategy).run()
print(json.dumps({"replicas": summary["replicas"], "loss": summary["train_loss"], "val": summary["val_loss"],
                  "variables": type(strategy.extended).__name__,
                  "reason": events[-1].reason}))
"""


def test_session_trains_on_two_logical_devices():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env=env,
                       cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["reason"] == "completed"
    assert result["loss"] > 0 and result["val"] > 0
