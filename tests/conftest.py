"""Project tests: point the MNIST loader at the offline copy beside the repo unless told otherwise."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_offline = ROOT.parent / "shared" / "data" / "mnist"
if "DLCOURSE_MNIST_DIR" not in os.environ and _offline.is_dir():
    os.environ["DLCOURSE_MNIST_DIR"] = str(_offline)
