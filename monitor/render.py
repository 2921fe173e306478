"""Email rendering with Jinja2: alert and digest, each as a subject, a text part
and an HTML part (autoescaped: every value from a feed is escaped); and the
digest's short text form for push channels. Pure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from .model import NEW_STORY, NEW_TOPIC, SEED_STORY
from .prominence import describe
from .views import AlertView, DigestView, FeedAlertView, View, fields_of

_env: Environment | None = None


def _fmt_time(dt: datetime | None) -> str:
    if dt is None:
        return "unknown time"
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def mention_label(kind: str, topics: list[str], first_seen: datetime | None = None) -> str:
    """What a mention is, in words: "new story", "first mention of sora in a known story
    (first seen 2026-12-02 09:14 UTC)" (the date only when given), "follow-up",
    "known story (from your seeds)"."""
    if kind == NEW_STORY:
        return "new story"
    if kind == NEW_TOPIC:
        names = (", ".join(topics[:-1]) + " and " + topics[-1]) if len(topics) > 1 else "".join(topics)
        seen = f" (first seen {_fmt_time(first_seen)})" if first_seen is not None else ""
        return f"first mention of {names} in a known story{seen}"
    if kind == SEED_STORY:
        return "known story (from your seeds)"
    return "follow-up"


def first_upper(text: str) -> str:
    """'new story' -> 'New story' (a label opening a line; filter ``first_upper``)."""
    return text[:1].upper() + text[1:]


def short_alert(view: AlertView | FeedAlertView) -> str:
    """An alert's body for a chat or push channel (the webhook's ``text`` after
    the subject, an Apprise notification's body): what the mention is ("New
    story", "First mention of ... in a known story ...") and the link."""
    label = f"{first_upper(view.label)}\n" if isinstance(view, AlertView) else ""
    return f"{label}{view.url}"


def counted(n: int, one: str, many: str) -> str:
    """'1 try', '3 tries': the subjects and the templates (filter ``counted``) say it alike."""
    return f"{n} {one if n == 1 else many}"


def _mark(snippet: str, spans: list[tuple[int, int]] | None) -> Markup:
    """Bold the matched terms (spans from topics.highlight_spans), escaping the rest."""
    out, pos = [], 0
    for start, end in sorted(spans or []):
        if start < pos:
            continue
        out.append(escape(snippet[pos:start]))
        out.append(Markup("<b>%s</b>") % snippet[start:end])
        pos = end
    out.append(escape(snippet[pos:]))
    return Markup("").join(out)


def mark_matches(topic_key: str, snippet: str, topics: dict[str, Any]) -> list[tuple[int, int]]:
    """Where the topic's terms occur in a snippet (for bolding)."""
    from .topics import highlight_spans

    topic = topics.get(topic_key)
    return highlight_spans(topic, snippet) if topic is not None else []


def env() -> Environment:
    global _env
    if _env is None:
        _env = Environment(
            loader=PackageLoader("monitor", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        )
        _env.filters["when"] = _fmt_time
        _env.filters["mark"] = _mark
        _env.filters["counted"] = counted
        _env.filters["prominence"] = describe
        _env.filters["first_upper"] = first_upper
    return _env


def subject_for(view: View) -> str:
    if isinstance(view, AlertView):
        return f"[news monitor] {', '.join(view.topics)}: {view.title}"[:200]
    if isinstance(view, FeedAlertView):
        state = "failing" if view.status == "error" else view.status
        return (f"[news monitor] feed {state}: {view.feed}: {view.code} since "
                f"{_fmt_time(view.since)}, {counted(view.tries, 'try', 'tries')}")[:200]
    return (f"[news monitor] digest: {counted(view.story_count, 'story', 'stories')} "
            f"since {_fmt_time(view.since)}")


def short_digest(view: DigestView, max_stories: int = 10, max_chars: int = 1800
                 ) -> tuple[str, str]:
    """(title, body) of the digest for a chat or push channel: per topic, its
    new stories' headlines with a link each, follow-ups counted. At most
    ``max_stories`` stories and ``max_chars`` characters (push services cut
    long messages), then how many were left out."""
    title = (f"News digest: {counted(view.story_count, 'story', 'stories')} "
             f"since {_fmt_time(view.since)}")
    lines: list[str] = []
    stories = [(t.topic, s) for t in view.topics for s in t.stories if s.is_new]
    shown, size = 0, 0
    for t in view.topics:
        header = f"{t.topic}: {t.new_count} new, {counted(t.followup_count, 'follow-up', 'follow-ups')}"
        lines.append(header)
        size += len(header) + 1
        for s in t.stories:
            if not s.is_new:
                continue
            link = s.articles[0].url if s.articles else ""
            line = f"- {s.headline[:120]} {link}".rstrip()
            if shown >= max_stories or size + len(line) + 1 > max_chars - 60:
                continue
            lines.append(line)
            size += len(line) + 1
            shown += 1
    if shown < len(stories):
        lines.append(f"... and {counted(len(stories) - shown, 'more new story', 'more new stories')}")
    if view.known:
        lines.append(f"Known stories (from your seeds): {len(view.known)} with new articles")
    return title, "\n".join(lines) or "Nothing new."


def render(kind: str, view: View) -> tuple[str, str, str]:
    """(subject, text, html) for kind 'alert', 'feed_alert' or 'digest'."""
    e = env()
    text = e.get_template(f"{kind}.txt.j2").render(**fields_of(view))
    html = e.get_template(f"{kind}.html.j2").render(**fields_of(view))
    return subject_for(view), text, html
