"""The waits a user feels: re-synthesis, many environments, a fresh apply, the install.

All in one run, each engine measurement a fresh `supa-engine` process (median of `--runs`):

- no-change re-synth (the cache) against a full synth of prod (`--no-cache`); target < 0.5 s
  of synthesis work, measured in-process as well, without interpreter start-up;
- ten environments in one `synth` call against one; target <= 2.5x;
- the fresh-apply critical path: the stack levels come from the synthesized manifest (so the
  figure follows whatever graph the engine builds) and, for comparison, from the described graph
  (engine/stack_graph.py); the minutes from CREATE_MINUTES below. Deploy runs level by level,
  so the wall time is the sum over levels of each level's slowest stack, against the sum of all;
- with `--install` (slow, needs the package index): the core install against core + deploy,
  each into a fresh virtual environment from this checkout: seconds and installed MB.

    python bench/speed.py [--runs 3] [--install]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.config import load_config  # noqa: E402
from engine.manifest import read_manifest, stack_levels  # noqa: E402
from engine.stack_graph import dependencies  # noqa: E402

# Typical minutes AWS takes to create each stack's slowest chain of resources; estimates, not
# measurements. cluster: the EKS control plane averages 15 minutes (aws/containers-roadmap#1227,
# "EKS cluster control plane provisioning time currently averages 15 minutes"), then a managed
# node group, about 5. data: a Multi-AZ RDS instance, 10-20 minutes (issue 15's figure; the
# standby is created and synchronized before the instance is available), taken at 15. network:
# NAT gateways and interface endpoints, a few minutes each, in parallel: 5. workloads: Helm
# releases waiting for their pods and the load balancer: 5.
CREATE_MINUTES = {"network": 5.0, "data": 15.0, "cluster": 20.0, "workloads": 5.0}
UNKNOWN_STACK_MINUTES = 5.0


def run(command: list[str], cwd: Path = ROOT) -> float:
    """Wall seconds of one fresh process."""
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def median(command: list[str], runs: int) -> float:
    return statistics.median(run(command) for _ in range(runs))


def in_process_hit(config: Path, out: Path, runs: int) -> float:
    """Seconds synth_one spends on a cache hit, after its imports (the work before Terraform starts)."""
    code = ("import sys, time\nfrom pathlib import Path\nfrom engine.synth import synth_one\n"
            "start = time.perf_counter(); _, report = synth_one(Path(sys.argv[1]), Path(sys.argv[2]))\n"
            "assert report.cached, 'expected a cache hit'\nprint(time.perf_counter() - start)")
    times = [float(subprocess.run([sys.executable, "-c", code, str(config), str(out)], check=True, cwd=ROOT,
                                  capture_output=True, text=True).stdout) for _ in range(runs)]
    return statistics.median(times)


def ten_configs(scratch: Path) -> list[Path]:
    """Ten environments (dev, staging, prod alternating), each its own name, extending the examples."""
    bases = ("dev", "staging", "prod")
    files = []
    for index in range(10):
        path = scratch / f"env{index:02d}.yaml"
        base = ROOT / "environments" / f"{bases[index % 3]}.yaml"
        path.write_text(f"extends: {base}\nproject:\n  environment: env{index:02d}\n")
        files.append(path)
    return files


def manifest_graph(manifest: Path) -> dict[str, tuple[str, ...]]:
    return {name: entry.dependencies for name, entry in read_manifest(manifest).items()}


def critical_path(graph: dict[str, tuple[str, ...]]) -> tuple[tuple[tuple[str, ...], ...], float, float]:
    """(levels, minutes one stack after another, minutes level by level).

    Deploy waits for a whole level before the next starts, so a level costs its slowest stack.
    """
    levels = stack_levels(graph)
    minutes = {name: CREATE_MINUTES.get(name, UNKNOWN_STACK_MINUTES) for name in graph}
    return levels, sum(minutes.values()), sum(max(minutes[name] for name in level) for level in levels)


def print_critical_path(label: str, graph: dict[str, tuple[str, ...]]) -> None:
    levels, serial, parallel = critical_path(graph)
    shown = " -> ".join("{" + ", ".join(f"{n} ~{CREATE_MINUTES.get(n, UNKNOWN_STACK_MINUTES):.0f}" for n in level)
                        + "}" for level in levels)
    print(f"stack levels of prod, {label}: {shown}")
    print(f"  fresh apply, one stack at a time: ~{serial:.0f} min; level by level: ~{parallel:.0f} min; "
          f"ratio {parallel / serial:.2f}x")


def install(source: Path, target: str, scratch: Path) -> tuple[float, float]:
    """Seconds to `pip install` `target` from `source` into a fresh venv, and the MB it added."""
    venv = scratch / f"venv-{len(list(scratch.iterdir()))}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    before = _megabytes(venv)
    seconds = run([str(python), "-m", "pip", "install", "-q", "--no-cache-dir", target], cwd=source)
    return seconds, _megabytes(venv) - before


def _megabytes(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--install", action="store_true", help="also measure the installs (minutes, network)")
    args = parser.parse_args()
    engine = [sys.executable, "-m", "engine", "synth"]
    prod = ROOT / "environments" / "prod.yaml"
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        out = scratch / "out"
        full = median([*engine, "--no-cache", "--out", str(out), str(prod)], args.runs)
        cached = median([*engine, "--out", str(out), str(prod)], args.runs)
        hit = in_process_hit(prod, out, args.runs)
        print(f"full synth of prod (--no-cache)     median {full:6.2f} s")
        print(f"no-change re-synth (cache), process median {cached:6.2f} s   ratio {cached / full:.3f}x")
        print(f"no-change re-synth, synthesis work  median {hit:6.3f} s   (target < 0.5 s)")

        configs = ten_configs(scratch)
        one = median([*engine, "--no-cache", "--out", str(scratch / "one"), str(configs[0])], args.runs)
        ten = median([*engine, "--no-cache", "--out", str(scratch / "ten"), *map(str, configs)], args.runs)
        print(f"synth one environment               median {one:6.2f} s")
        print(f"synth ten environments, one call    median {ten:6.2f} s   ratio {ten / one:.2f}x (target <= 2.5x)")

        print_critical_path("synthesized manifest", manifest_graph(out / "prod" / "terraform" / "manifest.json"))
        print_critical_path("described graph", dependencies(load_config(prod).config))

        if args.install:
            source = scratch / "source"
            shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "out", "__pycache__", "*.egg-info"))
            rows = {"core (pip install .)": install(source, ".", scratch),
                    "core + deploy (pip install '.[deploy]')": install(source, ".[deploy]", scratch)}
            for label, (seconds, megabytes) in rows.items():
                print(f"{label:<40} {seconds:6.1f} s {megabytes:8.1f} MB installed")
            (core_s, core_mb), (full_s, full_mb) = rows.values()
            print(f"core / full: {core_s / full_s:.2f}x time, {core_mb / full_mb:.3f}x size (target < 20 s, < 30 MB)")
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"(benchmark took {time.perf_counter() - started:.0f} s)")
    raise SystemExit(code)
