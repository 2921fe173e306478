"""`monitor serve` serves the web view alone; `monitor run` serves it beside the
jobs and still stops within its deadline on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from monitor.cli import main

from .conftest import free_port

ENV = {k: v for k, v in os.environ.items()
       if k not in ("MONITOR_DATABASE_URL", "MONITOR_WEB_TOKEN")}


def _config(tmp_path: Path, port: int) -> Path:
    (tmp_path / "seeds").mkdir(exist_ok=True)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({
        "database": {"url": "sqlite:///m.db"}, "seeds": {"path": str(tmp_path / "seeds")},
        "fetch": {"extract_workers": 1}, "schedule": {"tick": "1s"},
        "topics": {"netflix": {"query": "Netflix"}}, "web": {"listen": f"127.0.0.1:{port}"}}))
    return cfg


def _wait_for_page(proc: subprocess.Popen[bytes], url: str, log: Path) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered at {url}: {log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> tuple[int, float]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=40)
    return proc.returncode, time.monotonic() - started


def test_run_serves_the_web_view_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    cfg = _config(tmp_path, port)
    assert main(["init", "--config", str(cfg)]) == 0
    log = tmp_path / "run.log"
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=log.open("w"), env=ENV)
    try:
        page = _wait_for_page(proc, f"http://127.0.0.1:{port}/", log)
        assert page.status_code == 200 and "<h1>Today</h1>" in page.text
        assert "netflix" in page.text
        # the daemon's operations endpoints ride along: ready (database and ticks), and metrics
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz?format=json", timeout=5)
        assert ready.status_code == 200 and ready.json()["ready"] is True, ready.text
        assert "monitor_poll_ticks_skipped_total" in httpx.get(
            f"http://127.0.0.1:{port}/metrics", timeout=5).text
        code, took = _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = log.read_text()
    assert code == 0 and took < 30, err
    assert "Traceback" not in err and "stopped" in err, err


def test_serve_alone_lists_the_feeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    cfg = _config(tmp_path, 1)                          # the config's port is overridden
    assert main(["init", "--config", str(cfg)]) == 0
    assert main(["serve", "--listen", "0.0.0.0:8080", "--config", str(cfg)]) == 2   # no token
    assert "--listen: 0.0.0.0:8080 is not a loopback address" in capsys.readouterr().err
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "serve", "--listen",
                             f"127.0.0.1:{port}", "--config", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=log.open("w"), env=ENV)
    try:
        page = _wait_for_page(proc, f"http://127.0.0.1:{port}/feeds?format=json", log)
        assert page.json() == {"feeds": [], "recent_failures": []}
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).text == "ok\n"
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz?format=json", timeout=5).json()
        assert ready["ready"] is True and "scheduler" not in ready["checks"], ready
        code, _ = _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, log.read_text()
