"""Seeds into the store: each seed file analysed, decided among the seeds
(and any stored story, which then becomes a seed story) and stored, once.
Called by `monitor init`, `monitor seeds load`, the daemon's start and the demo.

Side effects: database writes only.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from . import dedup
from .analyze import analyze_text, topic_spec
from .canonical import text_hash
from .db import repo, story_index
from .pipeline import Context
from .writer import utcnow

log = logging.getLogger("monitor.pipeline")


def load_seeds(ctx: Context) -> tuple[int, int]:
    """(Re)load the seeds idempotently: new seed files are stored and clustered
    among the seeds (and any stored story, which then becomes a seed story);
    unchanged ones are left alone, except that one stored undated is dated
    once its file gives a date. A seed is dated by its front matter, else by
    its text (seeds.read_seed); an undated one stays undated (published None),
    for the store and for the story decision. Returns (added, unchanged)."""
    from .seeds import read_seeds

    now = utcnow()
    docs = read_seeds(ctx.settings.seeds.path, now)
    with Session(ctx.engine) as s:
        existing = repo.seed_articles(s)
        # the index only when a seed is new (every command that needs the store checks)
        index = (story_index.load_index(s, ctx.settings, now)
                 if any(d.file not in existing for d in docs) else None)
    added = unchanged = 0
    spec = topic_spec(ctx.topics)
    for doc in docs:
        if doc.file in existing:
            unchanged += 1
            stored = existing[doc.file]
            if stored.text_hash != text_hash(doc.text):
                log.warning("seed %s changed since it was loaded; the stored copy is kept", doc.file)
            if stored.published_at is None and doc.published is not None:
                # stored undated (before seeds were dated by their text): date it now
                with Session(ctx.engine) as s:
                    repo.set_published_at(s, stored.id, doc.published)
                log.info("seed %s dated %s (from its %s)", doc.file, doc.published.date(),
                         doc.date_source)
            continue
        assert index is not None
        a = analyze_text(doc.title, doc.text, spec)
        # an undated seed is undated for the time window too (not "now": its
        # event may be far older than the day it was loaded)
        decision = index.decide(a.features, a.text_hash, a.signature,
                                dedup.Query(published=doc.published, lang=a.lang, lone=a.lone))
        draft = repo.ArticleDraft(
            url=doc.url, original_url=doc.url, title=doc.title, text=doc.text,
            text_hash=a.text_hash, features=a.features, signature=a.signature, seen_at=now,
            published_at=doc.published, lang=a.lang, seed_file=doc.file,
            text_source="seed")
        with Session(ctx.engine) as s:
            res = repo.store_article(s, draft, decision, a.matches, is_seed=True)
        index.add(dedup.Candidate(res.article_id, res.story_id, a.features, a.text_hash, True,
                                  a.signature, published=doc.published, lang=a.lang))
        added += 1
    return added, unchanged
