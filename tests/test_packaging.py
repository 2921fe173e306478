"""The install step the Dockerfile uses (a plain, non-editable `pip install .`)
ships everything the monitor needs at run time: migrations, templates, the
demo site and the seeds."""

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
    assert "monitor = monitor.cli:main" in entry


def test_dockerfile_installs_the_project_and_runs_the_daemon() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text
    assert "RUN pip install ." in text
    for folder in ("monitor", "migrations", "seeds"):
        assert f"COPY {folder} ./{folder}" in text
    assert "USER monitor" in text and 'VOLUME ["/data"]' in text
    assert 'CMD ["monitor", "run"]' in text
