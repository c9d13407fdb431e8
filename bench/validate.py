"""How fast is `supa-engine validate` as a cold process? (It runs on every editor save.)

Measures `supa-engine validate environments/prod.yaml` in a fresh interpreter against a
baseline measured in the same run: a bare interpreter that imports pydantic and yaml. Prints
the medians and their ratio; the targets are under 0.3 s and within 1.5x of the baseline.

    python bench/validate.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = [sys.executable, "-c", "import pydantic, yaml; from pydantic import BaseModel"]
VALIDATE = [sys.executable, "-m", "engine", "validate", str(ROOT / "environments" / "prod.yaml")]


def wall(command: list[str], runs: int) -> list[float]:
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    # pip compiles an installed package's bytecode; do the same for the source tree, so neither
    # side pays for compiling (this matters where PYTHONDONTWRITEBYTECODE is set).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "engine")], check=True)
    # Interleave the two so that machine noise hits both alike.
    baseline: list[float] = []
    validate: list[float] = []
    for _ in range(3):
        baseline += wall(BASELINE, args.runs // 3 or 1)
        validate += wall(VALIDATE, args.runs // 3 or 1)
    base, valid = statistics.median(baseline), statistics.median(validate)
    ratio = valid / base
    print(f"baseline (import pydantic, yaml): median {base * 1000:.0f} ms over {len(baseline)} runs")
    print(f"supa-engine validate prod.yaml:   median {valid * 1000:.0f} ms over {len(validate)} runs")
    print(f"ratio {ratio:.2f}x (target <= 1.5x); absolute target 300 ms: {'met' if valid < 0.3 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
