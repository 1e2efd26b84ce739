"""Out-of-process runs: a real kill then --resume, and DDP with 2 CPU processes (torchrun)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from chestx.models import read_checkpoint

TRAIN = ["train", "--backbone", "resnet18", "--image-size", "32", "--no-pretrained",
         "--batch-size", "8", "--iter-size", "1", "--workers", "0", "--split", "random", "-q"]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.mark.slow
def test_kill_then_resume_loses_at_most_one_epoch(tiny_data, tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "chestx.cli", *TRAIN, "--data", str(tiny_data),
               "--out", str(run), "--epochs", "3"]
    process = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not (run / "last.pt").is_file() and time.time() < deadline:
        if process.poll() is not None:
            pytest.fail(f"train exited early: {process.stderr.read().decode()[-500:]}")
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)  # no chance to clean up
    process.wait()
    killed_at = read_checkpoint(run / "last.pt")["epoch"]
    assert 1 <= killed_at <= 3
    done = subprocess.run([*command, "--resume"], env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-800:]
    assert read_checkpoint(run / "last.pt")["epoch"] == 3
    assert list(pd.read_csv(run / "metrics.csv")["epoch"]) == [1, 2, 3]
    assert not [p for p in run.iterdir() if p.name.startswith(".")]  # no temp files


@pytest.mark.slow
def test_ddp_two_cpu_processes(tiny_data, tmp_path):
    run = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", "-m", "chestx.cli", *TRAIN, "--data", str(tiny_data),
               "--out", str(run), "--epochs", "1", "--device", "cpu"]
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-1500:]
    state = read_checkpoint(run / "last.pt")
    assert state["epoch"] == 1
    assert not any(k.startswith("module.") for k in state["model_state"])
    metrics = pd.read_csv(run / "metrics.csv")
    assert list(metrics["epoch"]) == [1]  # one row: only rank 0 writes
