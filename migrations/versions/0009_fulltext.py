"""full-text index over the articles' title and text, so that `monitor search`
and `monitor topics test --store` find whole words without scanning every row
(a substring LIKE matched "said" for "AI"). The index only narrows the
candidates; the project's matcher decides (monitor/search_plan.py).

SQLite: an FTS5 table with external content (the articles table), Unicode
folding (unicode61, diacritics removed), kept in step by triggers.
PostgreSQL: a generated tsvector column (title weight A, text B) over the text
cut into runs of letters and digits (the matcher's words), lowercased and
accent-folded (the text search configuration monitor_words: 'simple' plus
unaccent), with a GIN index. Both are back-filled here.

Note for later migrations: on SQLite a batch migration that recreates the
articles table drops these triggers; such a migration must create them again.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import logging

from alembic import op

log = logging.getLogger(__name__)

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TRIGGERS = {
    "articles_fts_ai": "AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "articles_fts_ad": "AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); END",
    "articles_fts_au": "AFTER UPDATE OF title, text ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
}


def _words(col: str) -> str:
    # runs of letters and digits (the matcher's words: "SAG-AFTRA" is two, an URL
    # several); the configuration lowercases and folds accents word by word
    return f"to_tsvector('monitor_words'::regconfig, regexp_replace(coalesce({col}, ''), '[^[:alnum:]]+', ' ', 'g'))"


def _words_config() -> None:
    """The text search configuration 'monitor_words': PostgreSQL's 'simple' (no
    stemming, no stop words) with accents folded by the unaccent extension, a
    trusted extension any database owner may create. Without it, accents are not
    folded (a word written with accents is then found only as written)."""
    op.execute("CREATE TEXT SEARCH CONFIGURATION monitor_words (COPY = simple)")
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
    except Exception as e:  # noqa: BLE001 - any refusal: go on without folding, and say so
        log.warning("full-text index: the unaccent extension is not available (%s); "
                    "accents are not folded in the index", str(e).splitlines()[0])
        return
    op.execute("ALTER TEXT SEARCH CONFIGURATION monitor_words ALTER MAPPING FOR "
               "asciiword, word, numword, asciihword, hword, numhword, hword_asciipart, "
               "hword_part, hword_numpart WITH unaccent, simple")


def upgrade() -> None:
    # searches sorted by time walk this index (an article's time: published, else first seen)
    op.execute("CREATE INDEX ix_articles_when ON articles ((coalesce(published_at, seen_at)))")
    if op.get_bind().dialect.name == "postgresql":
        _words_config()
        op.execute("ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
                   f"(setweight({_words('title')}, 'A') || setweight({_words('text')}, 'B')) STORED")
        op.execute("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")
        return
    op.execute("CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', "
               "content_rowid='id', tokenize='unicode61 remove_diacritics 2')")
    for name, body in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")


def downgrade() -> None:
    op.execute("DROP INDEX ix_articles_when")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_articles_search_vector")
        op.execute("ALTER TABLE articles DROP COLUMN search_vector")
        op.execute("DROP TEXT SEARCH CONFIGURATION monitor_words")
        return
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE articles_fts")
