"""The command line's shared options: --config and --debug given before or
after any group or command name, and `monitor topics test` with a raw query
run where there is no config at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_cli_admin import run


def test_config_is_taken_at_every_level(tmp_path: Path, nowhere: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "seeds").mkdir()
    cfg = tmp_path / "config.yaml"
    cfg.write_text("database:\n  url: sqlite:///m.db\nseeds:\n  path: seeds\n", encoding="utf-8")
    c = str(cfg)
    code, out, err = run(capsys, "--config", c, "db", "upgrade")
    assert code == 0 and out.startswith("database at revision "), err
    head = out.split()[-1]
    for args in (["--config", c, "db", "current"], ["db", "--config", c, "current"],
                 ["db", "current", "--config", c]):
        assert run(capsys, *args) == (0, f"current: {head}  head: {head}  (up to date)\n", ""), args
    for args in (["--config", c, "seeds", "list"], ["seeds", "--config", c, "list"],
                 ["--config", c, "feeds"], ["--config", c, "stories"], ["--config", c, "mentions"]):
        assert run(capsys, *args) == (0, "(nothing)\n", ""), args
    # the innermost --config wins; a named config that is missing is an error naming it
    assert run(capsys, "--config", "gone.yaml", "db", "--config", c, "current")[0] == 0
    code, out, err = run(capsys, "--config", c, "db", "--config", "gone.yaml", "current")
    assert (code, out, err) == (2, "", "configuration error: gone.yaml: configuration file not found\n")
    # --debug at the top reaches the command: the configuration error is raised, not printed
    with pytest.raises(Exception, match="gone.yaml: configuration file not found"):
        run(capsys, "--debug", "seeds", "list", "--config", "gone.yaml")


def test_topics_test_runs_a_query_without_any_config(nowhere: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    doc = nowhere / "a.txt"
    doc.write_text("Netflix buys a studio\nThe streamer Netflix said on Monday it bought it.\n")
    code, out, err = run(capsys, "topics", "test", "Netflix AND studio", str(doc))
    assert (code, err) == (0, "")
    assert out.startswith("MATCHES: query on 'Netflix buys a studio'\n")
    assert "'studio' in the title at 15-21" in out
    code, out, err = run(capsys, "topics", "test", "Sora", str(doc))
    assert code == 0 and out.startswith("does not match: query") and "why not: no query term found" in out
    # a word that could be a topic key is tested as a word, and the user is told why
    code, out, err = run(capsys, "topics", "test", "netflix", str(doc))
    assert code == 0 and out.startswith("MATCHES: query")
    assert err == ("no config.yaml here: 'netflix' is tested as a query, not as a topic "
                   "(name the config with --config)\n")
    # a config that is named must exist, at either level
    for args in (["topics", "test", "netflix", str(doc), "--config", "gone.yaml"],
                 ["topics", "--config", "gone.yaml", "test", "netflix", str(doc)]):
        assert run(capsys, *args) == (2, "", "configuration error: gone.yaml: configuration file not found\n")
