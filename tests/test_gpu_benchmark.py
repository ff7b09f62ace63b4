"""``benchmarks/gpu_step.py --quick`` on the CPU, with TensorFlow unimportable (JAX session).

Marked ``backends``: it runs from ``KERAS_BACKEND=jax python -m pytest -m backends``, in a
file of its own so that session's two pytest-xdist workers share the backend tests evenly.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import jax_session

pytestmark = pytest.mark.backends

ROOT = Path(__file__).resolve().parents[1]

NO_TENSORFLOW_BENCHMARK = """
import runpy, sys
sys.modules["tensorflow"] = None  # any import of TensorFlow now fails
sys.argv = ["gpu_step.py", "--quick", "--dtypes", "bfloat16", "--out", sys.argv[1]]
try:
    runpy.run_path({path!r}, run_name="__main__")
except SystemExit as done:
    assert done.code in (0, None), done.code
print("no tensorflow:", sorted(m for m in sys.modules if m.startswith("tensorflow") and sys.modules[m]))
"""


@jax_session
def test_the_gpu_benchmark_runs_quick_on_the_cpu_without_tensorflow(tmp_path):
    out = tmp_path / "gpu_step.jsonl"
    code = NO_TENSORFLOW_BENCHMARK.format(path=str(ROOT / "benchmarks" / "gpu_step.py"))
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        cwd=ROOT,
        env={**os.environ, "KERAS_BACKEND": "jax", "CUDA_VISIBLE_DEVICES": "-1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "no tensorflow: []"
    lines = {line["arm"]: line for line in map(json.loads, out.read_text().splitlines())}
    library, plain = lines["library"], lines["jax"]
    assert library["dtype"] == "bfloat16" and library["batch"] == 4 and library["images_per_s"] > 0
    # One count of the work for every arm; the ratio is the two arms' times.
    assert library["gflop_per_iteration"] == plain["gflop_per_iteration"] > 0
    assert plain["library_ratio"] == pytest.approx(plain["seconds_per_iteration"] / library["seconds_per_iteration"])
    assert 0 < library["peak_fraction"] < 1 and "matmul measured here" in library["peak"]
    torch = lines["torch"]  # measured where PyTorch is installed, said so where it is not
    assert torch.get("skipped") == "not installed (torch)" or torch["images_per_s"] > 0
    assert "library / arm" in proc.stdout
