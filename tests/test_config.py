"""Config validation: a bad key or value stops the monitor with a message
naming the file, the key and what is wrong; relative paths follow the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.cli import main
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.units import parse_duration

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    return p


def test_shipped_config_is_valid_and_ready_to_run() -> None:
    s = load_config(ROOT / "config.yaml")
    assert len(s.feeds) >= 15
    assert all(f.url.startswith("https://") for f in s.feeds)
    assert set(s.topics) == {"netflix", "sora", "guild_ai_policy"}
    assert s.seeds.path == (ROOT / "seeds").resolve()
    assert s.database.url == f"sqlite:///{(ROOT / 'monitor.db').resolve()}"


def test_demo_topics_are_the_shipped_topics() -> None:
    from monitor.demo import demo_topics

    shipped = yaml.safe_load((ROOT / "config.yaml").read_text())["topics"]
    assert demo_topics() == shipped


def test_unknown_key_is_named(tmp_path: Path) -> None:
    p = write(tmp_path, {"fetch": {"timeout": "10s", "user_agnet": "x"}})
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert "fetch.user_agnet: unknown key" in str(e.value)
    assert str(p) in str(e.value)


def test_replaced_story_thresholds_are_named_with_their_replacement(tmp_path: Path) -> None:
    """The cosine thresholds of the former story rule mean nothing to the model:
    a config that still sets one stops with the key and what replaced it."""
    for key in ("same_story_threshold", "headline_threshold"):
        with pytest.raises(ConfigError) as e:
            load_config(write(tmp_path, {"dedup": {key: 0.35}}))
        msg = str(e.value)
        assert f"dedup.{key} is no longer used" in msg and "dedup.same_story_probability" in msg, msg
    assert load_config(write(tmp_path, {"dedup": {"same_story_probability": 0.6}})) \
        .dedup.same_story_probability == 0.6
    with pytest.raises(ConfigError, match="dedup.same_story_probability"):
        load_config(write(tmp_path, {"dedup": {"same_story_probability": 1.5}}))


def test_bad_values_are_named(tmp_path: Path) -> None:
    p = write(tmp_path, {"feeds": [{"name": "Variety", "url": "ftp://x"}],
                         "schedule": {"poll_interval": "soon"}})
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert "feeds[0].url (feed 'Variety')" in msg and "not an http(s) URL" in msg
    assert "schedule.poll_interval" in msg and "not a duration" in msg


def test_bad_cron_and_timezone(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="digest.timezone: unknown time zone 'Mars/Base'"):
        load_config(write(tmp_path, {"digest": {"timezone": "Mars/Base"}}))
    with pytest.raises(ConfigError, match="not a cron expression"):
        load_config(write(tmp_path, {"digest": {"schedule": "every morning"}}))


def test_bad_query_shows_position(tmp_path: Path) -> None:
    p = write(tmp_path, {"topics": {"sora": {"query": 'Sora AND (OpenAI OR'}}})
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert "topics.sora.query" in msg and "Sora AND (OpenAI OR" in msg and "^" in msg


def test_relative_paths_follow_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = tmp_path / "etc"
    sub.mkdir()
    p = write(sub, {"database": {"url": "sqlite:///data/m.db"}, "seeds": {"path": "myseeds"}})
    monkeypatch.chdir(tmp_path)
    s = load_config(p)
    assert s.database.url == f"sqlite:///{sub.resolve() / 'data/m.db'}"
    assert s.seeds.path == sub.resolve() / "myseeds"
    monkeypatch.setenv("MONITOR_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert load_config(p).database.url == "postgresql+psycopg://u@h/db"


def test_duplicate_feed_names(tmp_path: Path) -> None:
    p = write(tmp_path, {"feeds": [{"name": "A", "url": "https://a/x"}, {"name": "A", "url": "https://b/y"}]})
    with pytest.raises(ConfigError, match="feed name 'A' is used twice"):
        load_config(p)


def test_cli_exit_2_with_message_for_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = write(tmp_path, {"alerts": {"email": {"smtp_port": 99999}}})
    assert main(["feeds", "--config", str(p)]) == 2
    err = capsys.readouterr().err
    assert "alerts.email.smtp_port" in err and str(p) in err and "Traceback" not in err
    assert main(["feeds", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "configuration file not found" in capsys.readouterr().err


def test_durations() -> None:
    assert parse_duration("90m").total_seconds() == 5400
    assert parse_duration("36h").total_seconds() == 129600
    assert parse_duration(15).total_seconds() == 15
    with pytest.raises(ValueError):
        parse_duration("7 days")


@pytest.mark.parametrize(("section", "message"), [
    ({"alerts": {"email": {"to": ["not-an-address"]}}}, "alerts.email.to: not an email address"),
    ({"alerts": {"email": {"from": "monitor at example"}}}, "alerts.email.from: not an email address"),
    ({"alerts": {"webhook_url": "not a url"}}, "alerts.webhook_url: not an http(s) URL"),
    ({"schedule": {"min_interval": "7h", "max_interval": "6h"}},
     "min_interval (7:00:00) is above max_interval"),
    ({"schedule": {"backoff_base": "2d"}}, "backoff_base (2 days, 0:00:00) is above backoff_max"),
    ({"schedule": {"lease": "10s"}}, "lease (0:00:10) is shorter than tick"),
    ({"schedule": {"tick": "0s"}}, "schedule.tick: must be longer than 0s"),
    ({"schedule": {"lease": "60s"}, "fetch": {"timeout": "45s"}},
     "schedule.lease (0:01:00) is shorter than two fetch.timeout (0:00:45)"),
    ({"fetch": {"timeout": "0s"}}, "fetch.timeout: must be longer than 0s"),
    ({"alerts": {"email": {"timeout": "0s"}}}, "alerts.email.timeout: must be longer than 0s"),
])
def test_values_that_pass_their_type_but_cannot_work_are_errors(tmp_path: Path, section: dict,
                                                                  message: str) -> None:
    """A config that validates but cannot work (no address to send to, a lease a
    daemon loses between its own ticks, a zero timeout) stops with the key named."""
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, section))
    assert message in str(e.value), str(e.value)


@pytest.mark.parametrize("url, problem", [
    ("sqlite://monitor.db", "Invalid SQLite URL"),
    ("monitor.db", "Could not parse SQLAlchemy URL"),
    ("mysql://u@h/db", "unsupported database 'mysql'"),
    ("postgresql+nodriver://u@h/db", "no database driver 'postgresql+nodriver'"),
    ("postgresql+psycopg://u@h:five/db", "cannot be read"),
])
def test_a_bad_database_url_is_a_config_error_naming_where_it_came_from(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        url: str, problem: str) -> None:
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    p = write(tmp_path, {"database": {"url": url}})
    for args in (["db", "upgrade"], ["mentions"], ["poll"]):
        assert main([*args, "--config", str(p)]) == 2, args
        err = capsys.readouterr().err
        assert err.startswith(f"configuration error: {p}: database.url: {url!r} is not a usable "
                              f"database URL: {problem}"), err
        assert "sqlite:///monitor.db" in err and "postgresql+psycopg://user@host/db" in err
    # the same URL from the environment names the variable, whatever the file says
    monkeypatch.setenv("MONITOR_DATABASE_URL", url)
    good = write(tmp_path, {"database": {"url": "sqlite:///m.db"}})
    assert main(["feeds", "--config", str(good)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"configuration error: MONITOR_DATABASE_URL: {url!r} is not a usable"), err
    assert "Traceback" not in err and "ArgumentError" not in err
    assert not (tmp_path / "m.db").exists() and not (tmp_path / "monitor.db").exists()


def test_good_database_urls_pass_and_a_bad_urls_password_is_hidden(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    for url in ("sqlite:///monitor.db", f"sqlite:///{tmp_path}/abs.db", "sqlite://",
                "postgresql://u@h/db", "postgresql+psycopg://u:pw@h:5433/db"):
        assert load_config(write(tmp_path, {"database": {"url": url}})).database.url
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, {"database": {"url": "postgresql+nodriver://u:s3cret@h/db"}}))
    assert "s3cret" not in str(e.value) and "'postgresql+nodriver://u:***@h/db'" in str(e.value)
