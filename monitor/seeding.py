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
from .db.engine import reading
from .model import ArticleDraft, Context
from .writer import store_batch, utcnow

log = logging.getLogger("monitor.pipeline")


def load_seeds(ctx: Context) -> tuple[int, int]:
    """(Re)load the seeds idempotently: new seed files are stored and clustered
    among the seeds (and any stored story, which then becomes a seed story);
    unchanged ones are left alone, except that one stored undated is dated
    once its file gives a date. A seed is dated by its front matter, else by
    its text (seeds.read_seed); an undated one stays undated (published None),
    for the store and for the story decision. Returns (added, unchanged).

    Several processes may load at once (daemons starting together on one
    PostgreSQL database): the store is changed in one transaction under a
    lock (repo.lock_seeds), which reads the stored seeds again, so each seed
    is stored once and the loser of the race finds it there."""
    from .seeds import read_seeds

    now = utcnow()
    with Session(reading(ctx.engine)) as s:
        existing = repo.seed_articles(s)
    # a seed stored with its date needs no date from its text (dateparser, 0.6 s a poll)
    docs = read_seeds(ctx.settings.seeds.path, now,
                      dated={f for f, a in existing.items() if a.published_at is not None})
    for doc in docs:
        stored = existing.get(doc.file)
        if stored is not None and stored.text_hash != text_hash(doc.text):
            log.warning("seed %s changed since it was loaded; the stored copy is kept", doc.file)
    todo = [d for d in docs if d.file not in existing or
            (existing[d.file].published_at is None and d.published is not None)]
    if not todo:
        return 0, len(docs)
    spec = topic_spec(ctx.topics)     # analysed before the lock: it needs no store
    analysed = {d.file: analyze_text(d.title, d.text, spec) for d in todo if d.file not in existing}
    added = 0
    with Session(ctx.engine) as s, s.begin():
        repo.lock_seeds(s)
        existing = repo.seed_articles(s)
        index = (story_index.load_index(s, dedup.StoryIndex.from_settings(ctx.settings.dedup),
                                        now, ctx.settings.dedup.window)
                 if any(d.file not in existing for d in todo) else None)
        drafts = []
        for doc in todo:
            stored = existing.get(doc.file)
            if stored is not None:
                if stored.published_at is None and doc.published is not None:
                    # stored undated (before seeds were dated by their text): date it now
                    repo.set_published_at(s, stored.id, doc.published)
                    log.info("seed %s dated %s (from its %s)", doc.file, doc.published.date(),
                             doc.date_source)
                continue
            a = analysed[doc.file]
            # an undated seed is undated for the time window too (not "now": its
            # event may be far older than the day it was loaded)
            drafts.append(ArticleDraft(
                url=doc.url, original_url=doc.url, title=doc.title, text=doc.text,
                text_hash=a.text_hash, features=a.features, signature=a.signature, seen_at=now,
                published_at=doc.published, lang=a.lang, lone=a.lone, matches=a.matches,
                seed_file=doc.file, text_source="seed"))
        if drafts:
            assert index is not None
            added = len(store_batch(s, index, drafts, is_seed=True).stored)
    return added, len(docs) - added
