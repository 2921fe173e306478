"""`monitor run` as a daemon: it polls the due feeds on its own, delivers the
alerts, and stops cleanly on SIGTERM well within 30 seconds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from monitor.demo import demo_topics, serve_site

ROOT = Path(__file__).resolve().parent.parent


def test_run_polls_delivers_and_stops_on_sigterm(tmp_path: Path, smtp_server: Any) -> None:
    with serve_site() as base:
        cfg = tmp_path / "config.yaml"
        cfg.write_text(yaml.safe_dump({
            "database": {"url": "sqlite:///m.db"},
            "seeds": {"path": str(ROOT / "seeds")},
            "fetch": {"allow_private_networks": True, "extract_workers": 1},
            "feeds": [{"name": "Pixel Wire", "url": f"{base}/feeds/pixelwire.xml", "interval": "1h"}],
            "schedule": {"tick": "1s", "delivery_interval": "2s"},
            "topics": demo_topics(),
            "alerts": {"email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port,
                                 "to": ["desk@test.example"]}},
        }))
        env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
        log = tmp_path / "daemon.log"   # a file, not a pipe: an unread pipe can block the daemon
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(cfg)],
                                stdout=subprocess.DEVNULL, stderr=log.open("w"), env=env)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not smtp_server.messages:
                assert proc.poll() is None, log.read_text()
                time.sleep(0.5)
            assert smtp_server.messages, "the daemon delivered no alert in 90 s"
            # the Sora story of the sample site is Pixel Wire's one alert
            assert "sora" in smtp_server.messages[0]["Subject"]
            time.sleep(2)
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=40)
            stopped_in = time.monotonic() - started
            err = log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert stopped_in < 30
    assert "received SIGTERM" in err and "stopped" in err
    assert len(smtp_server.messages) == 1  # later ticks find the feed not due: no repeat
    feeds = subprocess.run([sys.executable, "-m", "monitor", "feeds", "--format", "json",
                            "--config", str(cfg)], capture_output=True, text=True, env=env)
    row = json.loads(feeds.stdout)[0]
    assert row["status"] == "ok" and row["article_count"] == 6 and row["next_poll_at"]
