"""`monitor demo` works offline and shows a new mention for every shipped topic."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main


def test_demo_prints_new_mentions_for_each_topic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    new_section = out.split("NEW MENTIONS")[1].split("MENTIONS THAT DID NOT ALERT")[0]
    for topic in ("netflix", "sora", "guild_ai_policy"):
        assert f"\n{topic} " in new_section, topic
    # seed rewrites and the follow-up are shown as not alerting
    assert "Sarandos Says Netflix Is 'All In'" in out.split("MENTIONS THAT DID NOT ALERT")[1]
    digest = tmp_path / "digest.html"
    assert digest.exists() and str(digest) in out
    html = digest.read_text()
    assert "<script" not in html and "Netflix Lands Global Rights" in html
