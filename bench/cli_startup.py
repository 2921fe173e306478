"""Benchmark: how long the `monitor` command takes to start and answer on an
empty store, beside the interpreter's own start (`python -c pass`).

In a temporary folder it writes a config.yaml (a SQLite file, the shipped
topics, an empty seeds folder, no feeds), creates the store with
`monitor db upgrade`, then times, as subprocesses, in rounds (each round runs
every command once, so that a busy moment of the machine hits all of them):

- ``python -c pass`` (the floor: the interpreter alone)
- ``python -c "import monitor.cli"`` (importing the command line)
- ``monitor feeds``, ``monitor mentions``, ``monitor stories`` (listings; goal < 0.5 s)
- ``monitor poll`` of no feed (migrations checked, seeds and feeds synced, nothing fetched)

and prints the median wall time of each, its ratio to ``python -c pass``, and
the median CPU time (user + system) of the process, steadier than wall time on
a machine shared with other work. Set PYTHONPATH to time another checkout.

    .venv/bin/python bench/cli_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.5   # seconds, for the listings on an empty store

COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", ["-c", "pass"]),
    ("import monitor.cli", ["-c", "import monitor.cli"]),
    ("monitor feeds", ["-m", "monitor", "feeds"]),
    ("monitor mentions", ["-m", "monitor", "mentions"]),
    ("monitor stories", ["-m", "monitor", "stories"]),
    ("monitor poll (no feed)", ["-m", "monitor", "poll"]),
]
LISTINGS = {"monitor feeds", "monitor mentions", "monitor stories"}


def make_store(folder: Path) -> dict[str, str]:
    """A config and an empty, migrated SQLite store in ``folder``; the environment to run in."""
    shipped = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    (folder / "seeds").mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump({
        "database": {"url": "sqlite:///monitor.db"},
        "seeds": {"path": "seeds"},
        "topics": shipped["topics"],
    }), encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("MONITOR_CONFIG", "MONITOR_DATABASE_URL")}
    run([sys.executable, "-m", "monitor", "db", "upgrade"], folder, env)
    return env


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of ``argv``."""
    cpu0, t0 = cpu_of_children(), time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - t0, cpu_of_children() - cpu0
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7, help="rounds (default 7); the median is shown")
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {platform.machine()}, {cores} cores; Python {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="cli-startup-") as tmp:
        folder = Path(tmp)
        env = make_store(folder)
        times: dict[str, list[float]] = {name: [] for name, _ in COMMANDS}
        cpu: dict[str, list[float]] = {name: [] for name, _ in COMMANDS}
        for _name, argv in COMMANDS:         # one unmeasured run each: the page cache, .pyc files
            run([sys.executable, *argv], folder, env)
        for _ in range(args.runs):
            for name, argv in COMMANDS:
                wall, used = run([sys.executable, *argv], folder, env)
                times[name].append(wall)
                cpu[name].append(used)
    floor = statistics.median(times["python -c pass"])
    print(f"median wall time of {args.runs} runs, on an empty SQLite store:")
    print(f"{'command':<26}{'median s':>10}{'min s':>8}{'max s':>8}{'x python':>10}{'CPU s':>8}")
    for name, _ in COMMANDS:
        med = statistics.median(times[name])
        mark = ""
        if name in LISTINGS:
            mark = "  ok" if med < GOAL else f"  over the {GOAL} s goal"
        print(f"{name:<26}{med:>10.3f}{min(times[name]):>8.3f}{max(times[name]):>8.3f}"
              f"{med / floor:>10.1f}{statistics.median(cpu[name]):>8.3f}{mark}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
