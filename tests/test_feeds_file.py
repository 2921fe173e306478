"""The feed list as every reader keeps it: OPML exports of Miniflux, FreshRSS and
Feedly imported into the feeds file (new, duplicate, invalid), exported and
imported back as a no-op, feeds added from a home page and removed, and the
errors a user meets naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from monitor.opml import read_feeds_file

from .httpserver import LoopbackServer
from .test_cli_admin import run

DATA = Path(__file__).resolve().parent / "data" / "opml"
ROOT = Path(__file__).resolve().parent.parent


def config(tmp: Path, *, feeds_file: str | None = "feeds.opml", feeds: list[dict[str, str]] | None = None,
           **extra: object) -> Path:
    cfg: dict[str, object] = {
        "database": {"url": "sqlite:///m.db"},
        "seeds": {"path": str(ROOT / "seeds")},
        "feeds": feeds if feeds is not None else [{"name": "Variety", "url": "https://variety.com/feed/"}],
        "topics": {"netflix": {"query": "Netflix"}},
        **extra,
    }
    if feeds_file:
        cfg["feeds_file"] = feeds_file
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path



def names(path: Path) -> list[str]:
    return [o.name for o in read_feeds_file(path.read_bytes(), str(path))]


def test_import_of_three_readers_exports_reports_new_duplicate_and_invalid(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(config(tmp_path))
    feeds = tmp_path / "feeds.opml"
    assert not feeds.exists()

    code, out, _ = run(capsys, "feeds", "import", str(DATA / "miniflux.opml"), "--config", cfg)
    assert code == 0
    assert out.splitlines() == [
        "new        Deadline  https://deadline.com/feed/",
        "new        The Verge — AI  https://www.theverge.com/rss/ai-artificial-intelligence/index.xml",
        "new        Ars <Technica>  https://feeds.arstechnica.com/arstechnica/index",
        "duplicate  Variety  https://variety.com/feed/  (same URL as feed 'Variety')",
        f"3 new, 1 duplicate, 0 invalid; added to {feeds}",
    ]
    # the file is created, readable by another reader, titles escaped
    assert names(feeds) == ["Deadline", "The Verge — AI", "Ars <Technica>"]
    assert "Ars &lt;Technica&gt;" in feeds.read_text(encoding="utf-8")

    code, out, _ = run(capsys, "feeds", "import", str(DATA / "freshrss.opml"), "--config", cfg)
    assert code == 0
    lines = out.splitlines()
    # the same feed under another spelling of its URL (host case, a tracking parameter)
    assert "duplicate  Deadline  https://Deadline.com/feed/?utm_source=freshrss  " \
           "(same URL as feed 'Deadline')" in lines
    assert "invalid    Newsroom drafts  file:///srv/drafts/feed.xml  " \
           "(not an http(s) URL: 'file:///srv/drafts/feed.xml')" in lines
    assert lines[-1] == f"2 new, 1 duplicate, 1 invalid; added to {feeds}"

    code, out, _ = run(capsys, "feeds", "import", str(DATA / "feedly.opml"), "--config", cfg)
    lines = out.splitlines()
    assert code == 0
    # an outline with an empty text takes its title; a site without xmlUrl is refused
    assert "new        Guild Notes  https://guild.example.org/news.atom" in lines
    assert "invalid    Cartoon Brew  https://www.cartoonbrew.com/  " \
           "(no xmlUrl (only a web page's htmlUrl))" in lines
    assert lines[-1] == f"2 new, 1 duplicate, 1 invalid; added to {feeds}"

    # the monitor's own listing now has the inline feed and the file's seven
    code, out, _ = run(capsys, "init", "--config", cfg)
    code, out, _ = run(capsys, "feeds", "--format", "json", "--config", cfg)
    assert [r["name"] for r in json.loads(out)] == [
        "Variety", "Deadline", "The Verge — AI", "Ars <Technica>", "The Hollywood Reporter",
        "Screen Daily", "IndieWire", "Guild Notes"]
    # Feedly's nested category is kept as nesting
    assert '<outline text="Film" title="Film">\n      <outline text="Studios"' in \
        feeds.read_text(encoding="utf-8")


def test_export_then_import_is_a_no_op(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(config(tmp_path))
    run(capsys, "feeds", "import", str(DATA / "miniflux.opml"), "--config", cfg)
    before = (tmp_path / "feeds.opml").read_bytes()

    code, out, _ = run(capsys, "feeds", "export", "--config", cfg)
    assert code == 0
    exported = tmp_path / "exported.opml"
    exported.write_text(out, encoding="utf-8")
    assert names(exported) == ["Variety", "Deadline", "The Verge — AI", "Ars <Technica>"]
    assert [o.category for o in read_feeds_file(exported.read_bytes(), "x")] == [
        (), ("All",), ("Tech & AI",), ("Tech & AI",)]

    code, out, _ = run(capsys, "feeds", "import", str(exported), "--config", cfg)
    assert code == 0
    assert out.splitlines()[-1] == f"0 new, 4 duplicate, 0 invalid; {tmp_path / 'feeds.opml'} unchanged"
    assert (tmp_path / "feeds.opml").read_bytes() == before

    code, _, err = run(capsys, "feeds", "export", "--output", str(tmp_path / "out.opml"),
                       "--config", cfg)
    assert code == 0 and err.strip() == f"wrote 4 feed(s) to {tmp_path / 'out.opml'}"
    assert (tmp_path / "out.opml").read_bytes() == exported.read_bytes()

    # and into a monitor with no feeds at all, the export brings every feed back
    other = tmp_path / "other"
    other.mkdir()
    cfg2 = str(config(other, feeds=[]))
    code, out, _ = run(capsys, "feeds", "import", str(exported), "--config", cfg2)
    assert out.splitlines()[-1].startswith("4 new, 0 duplicate, 0 invalid")
    code, out2, _ = run(capsys, "feeds", "export", "--config", cfg2)
    assert names_of(out2) == names_of(exported.read_text(encoding="utf-8"))


def names_of(text: str) -> list[str]:
    return [o.name for o in read_feeds_file(text.encode(), "export")]


def test_without_feeds_file_import_says_how_and_config_is_untouched(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, feeds_file=None)
    before = cfg.read_bytes()
    code, _, err = run(capsys, "feeds", "import", str(DATA / "feedly.opml"), "--config", str(cfg))
    assert code == 2
    assert f"feeds import: {cfg} names no feeds file; add the line `feeds_file: feeds.opml`" in err
    assert cfg.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]
    # export works from the inline feeds alone
    code, out, _ = run(capsys, "feeds", "export", "--config", str(cfg))
    assert code == 0 and names_of(out) == ["Variety"]


def test_bad_files_are_errors_naming_them_and_nothing_is_lost(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(config(tmp_path))
    junk = tmp_path / "notes.opml"
    junk.write_text("just some notes, not a feed list\n")
    code, _, err = run(capsys, "feeds", "import", str(junk), "--config", cfg)
    assert code == 2 and f"{junk}: not an OPML document" in err
    assert not (tmp_path / "feeds.opml").exists()

    # a feeds file saved half-way: the config is refused, naming the file and the line
    feeds = tmp_path / "feeds.opml"
    assert run(capsys, "feeds", "import", str(DATA / "miniflux.opml"), "--config", cfg)[0] == 0
    whole = feeds.read_bytes()
    feeds.write_bytes(whole[: len(whole) // 2])
    half = feeds.read_bytes()
    code, _, err = run(capsys, "feeds", "add", "https://example.org/feed", "--config", cfg)
    assert code == 2 and f"{feeds}: not well-formed XML at line" in err
    code, _, err = run(capsys, "feeds", "import", str(DATA / "feedly.opml"), "--config", cfg)
    assert code == 2 and f"{feeds}: not well-formed XML at line" in err
    assert feeds.read_bytes() == half

    # a name in both config.yaml and the feeds file: both places named
    feeds.write_bytes(whole)
    code, _, err = run(capsys, "feeds", "import", str(DATA / "feedly.opml"), "--config",
                       str(config(tmp_path, feeds=[{"name": "Deadline", "url": "https://example.org/d"}])))
    assert code == 2
    assert "feed name 'Deadline' is defined twice: in" in err and "(feeds[0]) and in" in err
    assert str(feeds) in err
    assert feeds.read_bytes() == whole

    # a scheme in capitals (some exports) is taken, written as config.yaml would accept it
    cfg = str(config(tmp_path))
    shouting = tmp_path / "shouting.opml"
    shouting.write_text('<opml version="1.0"><body><outline text="Loud" '
                        'xmlUrl="HTTPS://loud.example.org/feed"/></body></opml>')
    code, out, _ = run(capsys, "feeds", "import", str(shouting), "--config", cfg)
    assert code == 0 and out.splitlines()[0] == "new        Loud  https://loud.example.org/feed"
    code, out, _ = run(capsys, "feeds", "export", "--config", cfg)
    assert code == 0 and 'xmlUrl="https://loud.example.org/feed"' in out


def test_reading_the_feeds_file_at_start_stays_light(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Every command reads the feeds file as it starts: that loads neither
    listparser nor lxml (an import does)."""
    import subprocess
    import sys

    cfg = str(config(tmp_path))
    run(capsys, "feeds", "import", str(DATA / "miniflux.opml"), "--config", cfg)
    probe = ("import sys; from monitor.config import load_config; s = load_config(sys.argv[1]); "
             "print(len(s.feeds), 'lxml' in sys.modules, 'listparser' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe, cfg], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.split() == ["4", "False", "False"], done.stderr


HOME = """<!doctype html><html><head><title>Pixel Wire</title>
<link rel="alternate" type="application/rss+xml" title="Pixel Wire" href="/rss.xml">
</head><body><h1>Pixel Wire</h1></body></html>"""
RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Pixel Wire News</title>
<link>{base}</link>
<item><title>A story</title><link>{base}/a</link><guid>a</guid></item>
<item><title>Another</title><link>{base}/b</link><guid>b</guid></item>
</channel></rss>"""


def test_add_from_a_home_page_and_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer() as srv:
        srv.route("/", HOME, content_type="text/html")
        srv.route("/rss.xml", RSS.format(base=srv.url("").rstrip("/")),
                  content_type="application/rss+xml")
        srv.route("/about", "<html><body>No feed here</body></html>", content_type="text/html")
        cfg = str(config(tmp_path, fetch={"allow_private_networks": True}))
        feeds = tmp_path / "feeds.opml"

        code, out, err = run(capsys, "feeds", "add", srv.url("/"), "--config", cfg)
        assert code == 0, err
        assert out.strip() == (f"added Pixel Wire News: {srv.url('/rss.xml')} (found on "
                               f"{srv.url('/')}), 2 entries now; recorded in {feeds}")
        assert [(o.name, o.url) for o in read_feeds_file(feeds.read_bytes(), "f")] == [
            ("Pixel Wire News", srv.url("/rss.xml"))]
        # one fetch of each: the page, then the feed it links to
        assert [r.path for r in srv.requests] == ["/", "/rss.xml"]

        code, _, err = run(capsys, "feeds", "add", srv.url("/rss.xml"), "--name", "Pixels",
                           "--config", cfg)
        assert code == 2
        assert f"{srv.url('/rss.xml')} is already configured as the feed 'Pixel Wire News'" in err
        code, _, err = run(capsys, "feeds", "add", srv.url("/about"), "--config", cfg)
        assert code == 1 and "an HTML page, not a feed, and it advertises none" in err
        code, _, err = run(capsys, "feeds", "add", "ftp://example.org/feed", "--config", cfg)
        assert code == 2 and "not an http(s) URL: 'ftp://example.org/feed'" in err
        assert len(read_feeds_file(feeds.read_bytes(), "f")) == 1

        code, out, _ = run(capsys, "feeds", "remove", "Pixel Wire News", "--config", cfg)
        assert code == 0
        assert out.strip() == (f"removed Pixel Wire News ({srv.url('/rss.xml')}) from {feeds}; "
                               "its stored articles stay")
        assert read_feeds_file(feeds.read_bytes(), "f") == []
        code, _, err = run(capsys, "feeds", "remove", "Variety", "--config", cfg)
        assert code == 2 and "the feed 'Variety' is defined in" in err and "not in a feeds file" in err
        code, _, err = run(capsys, "feeds", "remove", "Nope", "--config", cfg)
        assert code == 2 and f"no feed named 'Nope' in {feeds}" in err


def test_a_running_daemon_follows_the_edited_feeds_file(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Feeds added to or removed from the file are polled or dropped at the next
    tick, without a restart (the removed feed's articles stay); a broken file is
    one error line, and the feeds polled so far go on."""
    import logging

    from monitor.app import Monitor
    from monitor.config import load_config
    from monitor.daemon import Daemon
    from monitor.opml import Outline, render

    page = ("<html lang='en'><head><title>Harbor lights</title></head><body><article>"
            "<h1>Harbor lights</h1>" + "<p>The harbor lanterns were lit again tonight after "
            "a long repair of the old quay, the town council said.</p>" * 3
            + "</article></body></html>")
    with LoopbackServer() as srv:
        base = srv.url("").rstrip("/")
        srv.route("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
        srv.route("/p/0", page, content_type="text/html")
        srv.route("/f0.xml", "<rss version='2.0'><channel><title>F0</title><item><title>Harbor"
                  f"</title><link>{base}/p/0</link><guid>0</guid></item></channel></rss>",
                  content_type="application/rss+xml")
        srv.route("/f1.xml", "<rss version='2.0'><channel><title>F1</title></channel></rss>",
                  content_type="application/rss+xml")
        (tmp_path / "seeds").mkdir()
        feeds = tmp_path / "feeds.opml"
        feeds.write_bytes(render([Outline("F0", srv.url("/f0.xml"))]))
        cfg = config(tmp_path, feeds=[], seeds={"path": "seeds"},
                     fetch={"allow_private_networks": True, "extract_workers": 1,
                            "min_host_delay": "0s"})
        monitor = Monitor(load_config(cfg))
        monitor.prepare()
        daemon = Daemon(monitor)
        daemon.tick()
        assert [(a["source"], a["title"]) for a in monitor.articles()] == [("F0", "Harbor")]

        feeds.write_bytes(render([Outline("F1", srv.url("/f1.xml"), ("News",))]))
        with caplog.at_level(logging.INFO, logger="monitor.daemon"):
            daemon.tick()
        assert [r.path for r in srv.requests].count("/f1.xml") == 1
        assert [r.path for r in srv.requests].count("/f0.xml") == 1
        assert [(f["name"], f["status"]) for f in monitor.feeds()] == [("F1", "ok")]
        assert f"feeds file {feeds} changed: 1 feed(s) now; added: F1; removed: F0" in caplog.text
        # the removed feed's articles stay
        assert [(a["source"], a["title"]) for a in monitor.articles()] == [("F0", "Harbor")]

        caplog.clear()
        feeds.write_text(feeds.read_text()[:-40])          # saved half-way
        with caplog.at_level(logging.INFO, logger="monitor.daemon"):
            daemon.tick()
            daemon.tick()
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert errors[0].startswith(f"{feeds}: not well-formed XML at line")
        assert errors[0].endswith("; still polling the previous 1 feed(s)")
        assert [f.name for f in daemon.settings.feeds] == ["F1"]
        monitor.engine.dispose()
