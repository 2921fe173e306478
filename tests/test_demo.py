"""`monitor demo` works offline and shows a new mention for every shipped topic."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from monitor.cli import main


def test_demo_prints_new_mentions_for_each_topic(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """As the README runs it, without --output: the digest lands in the current
    folder as digest.html, its path is printed, and the temporary database is gone."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert f"database {scratch}/monitor-demo-" in out      # the database was made there...
    assert list(scratch.glob("monitor-demo-*")) == []     # ...and nothing of it is left behind
    new_section = out.split("NEW MENTIONS")[1].split("MENTIONS THAT DID NOT ALERT")[0]
    for topic in ("netflix", "sora", "guild_ai_policy"):
        assert f"\n{topic} " in new_section, topic
    # seed rewrites and the follow-up are shown as not alerting
    assert "Sarandos Says Netflix Is 'All In'" in out.split("MENTIONS THAT DID NOT ALERT")[1]
    digest = tmp_path / "digest.html"
    assert digest.exists() and f"written to {digest.resolve()}\n" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digest.html", "tmp"]
    html = digest.read_text()
    assert "<script" not in html and "Netflix Lands Global Rights" in html
