"""What does synthesis cost, against the unavoidable cost of CDK Terrain itself?

Baseline, measured in the same run: a bare script that imports CDK Terrain and the AWS
provider and synthesizes one resource. Then `supa-engine synth environments/prod.yaml`, and all
three environments in one invocation. Each runs as a fresh process; wall time is the median of
`--runs`, memory the peak resident set of the largest process (the jsii Node.js kernel).
Targets: one environment within 1.5x of the baseline; three within 1.3x of one.

    python bench/synth.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BASELINE = """
import sys, tempfile
from engine.node import ensure_node
ensure_node()
from cdktn import App, TerraformStack
from cdktn_provider_aws.provider import AwsProvider
from cdktn_provider_aws.s3_bucket import S3Bucket
app = App(outdir=sys.argv[1])
stack = TerraformStack(app, "one")
AwsProvider(stack, "aws", region="eu-west-1")
S3Bucket(stack, "bucket", bucket="baseline-bucket")
app.synth()
"""

MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure(command: list[str], runs: int) -> tuple[float, float]:
    """Median wall seconds and peak RSS in MiB of `command` run `runs` times in fresh processes."""
    walls, peaks = [], []
    for _ in range(runs):
        output = subprocess.run([sys.executable, "-c", MEASURE, *command], check=True, capture_output=True,
                                text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
        wall, peak_kib = output.split()
        walls.append(float(wall))
        peaks.append(int(peak_kib) / 1024)
    return statistics.median(walls), max(peaks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        engine = [sys.executable, "-m", "engine", "synth", "--out", scratch]
        envs = [str(ROOT / "environments" / f"{e}.yaml") for e in ("dev", "staging", "prod")]
        rows = {
            "baseline (import + 1 resource)": measure([sys.executable, "-c", BASELINE, f"{scratch}/base"], args.runs),
            "synth prod": measure([*engine, envs[2]], args.runs),
            "synth dev staging prod": measure([*engine, *envs], args.runs),
        }
    for name, (wall, peak) in rows.items():
        print(f"{name:<32} median {wall:6.2f} s   peak RSS {peak:7.0f} MiB")
    base, one, three = (rows[k][0] for k in rows)
    print(f"one environment / baseline: {one / base:.2f}x (target <= 1.5x)")
    print(f"three environments / one:   {three / one:.2f}x (target <= 1.3x)")
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"(benchmark took {time.perf_counter() - started:.0f} s)")
    raise SystemExit(code)
