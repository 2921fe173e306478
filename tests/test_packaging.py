"""The install step the Dockerfile uses (a plain, non-editable `pip install .`)
ships everything the monitor needs at run time: migrations, templates, the
demo site and the seeds. With no Docker engine here, the image's build is
replayed from the Dockerfile itself: its COPY lines make the build context,
its install step installs from it, and its CMD runs with its ENV."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_runtime_files(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("news_monitor-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "monitor/migrations/env.py" in names
    assert "monitor/migrations/script.py.mako" in names
    assert any(n.startswith("monitor/migrations/versions/0001") for n in names)
    assert "monitor/templates/digest.html.j2" in names and "monitor/templates/alert.txt.j2" in names
    assert "monitor/demo/site/manifest.json" in names and "monitor/demo/topics.yaml" in names
    assert "monitor/demo/config.yaml.in" in names
    assert sum(n.startswith("monitor/demo/site/articles/") for n in names) >= 20
    assert sum(n.startswith("monitor/bundled_seeds/") and n.endswith(".txt") for n in names) == 5
    entry = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "monitor = monitor.cli:run" in entry


def test_dockerfile_installs_the_project_and_runs_the_daemon() -> None:
    """What the replay below cannot run: the base image and the install command."""
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text
    assert "RUN pip install ." in text
    for folder in ("monitor", "migrations", "seeds"):
        assert f"COPY {folder} ./{folder}" in text
    assert "USER monitor" in text and 'VOLUME ["/data"]' in text
    assert 'CMD ["monitor", "run"]' in text


def _dockerfile() -> tuple[dict[str, str], str, list[tuple[list[str], str]], list[str]]:
    """The Dockerfile's ENV, WORKDIR, COPY (sources, destination) and CMD."""
    import json
    import shlex

    lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    env: dict[str, str] = {}
    workdir, copies, cmd = "/", [], []
    for line in lines:
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(rest))
        elif word == "WORKDIR":
            workdir = rest.strip()
        elif word == "COPY":
            *sources, dest = rest.split()
            copies.append((sources, dest))
        elif word == "CMD":
            cmd = json.loads(rest)
    return env, workdir, copies, cmd


def test_dockerfile_build_steps_replayed(tmp_path: Path) -> None:
    """No Docker engine here: the image's build is replayed instead. Only what the
    Dockerfile COPYs goes into the build context, the project is installed from
    it as the Dockerfile does (`pip install .`, not editable, into a fresh venv
    that borrows this one's dependencies), and its CMD runs the daemon with the
    image's environment: it makes the store, loads the seeds, records the
    (unreachable, no outside network here) feeds and stops on SIGTERM."""
    import os
    import shutil
    import signal
    import sqlite3
    import time

    env_vars, workdir, copies, cmd = _dockerfile()
    assert workdir == "/app" and cmd == ["monitor", "run"]
    app = tmp_path / "app"
    app.mkdir()
    for sources, dest in copies:
        target = app / dest
        for src in sources:
            path = ROOT / src
            if path.is_dir():
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(path, target)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    site = next(venv.glob("lib/python3*/site-packages"))
    import sqlalchemy  # this venv's site-packages: the dependencies, not the project

    (site / "deps.pth").write_text(str(Path(sqlalchemy.__file__).parent.parent) + "\n")
    proc = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-deps", "-q", str(app)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import monitor; print(monitor.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr

    data = tmp_path / "data"
    data.mkdir()
    assert env_vars["MONITOR_CONFIG"] == "/app/config.yaml"
    assert env_vars["MONITOR_DATABASE_URL"] == "sqlite:////data/monitor.db"
    env = {**os.environ, **env_vars, "MONITOR_CONFIG": str(app / "config.yaml"),
           "MONITOR_DATABASE_URL": f"sqlite:///{data / 'monitor.db'}",
           "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("VIRTUAL_ENV", None)
    daemon = subprocess.Popen(cmd, cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        deadline = time.monotonic() + 90
        polled = 0
        while time.monotonic() < deadline and daemon.poll() is None:
            time.sleep(1)
            try:
                with sqlite3.connect(data / "monitor.db") as db:
                    polled = db.execute("SELECT count(*) FROM feeds WHERE last_polled_at IS NOT NULL"
                                        ).fetchone()[0]
                    seeds = db.execute("SELECT count(*) FROM articles WHERE seed_file IS NOT NULL"
                                       ).fetchone()[0]
            except sqlite3.Error:
                continue                      # not made yet
            if polled and seeds:
                break
        assert daemon.poll() is None, daemon.communicate()[1][-3000:]
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.communicate()
    assert daemon.returncode == 0, err[-3000:]
    assert polled > 0 and seeds == 5, err[-3000:]
    assert "stopped" in err
