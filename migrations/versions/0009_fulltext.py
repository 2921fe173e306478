"""full-text index over the articles' title and text, so that `monitor search`
and `monitor topics test --store` find whole words without scanning every row
(a substring LIKE matched "said" for "AI"). The index only narrows the
candidates; the project's matcher decides (monitor/search_plan.py).

SQLite: an FTS5 table with external content (the articles table), Unicode
folding (unicode61, diacritics removed), kept in step by triggers.
PostgreSQL: a generated tsvector column (title weight A, text B) over the text
lowercased, accent-folded and cut into runs of letters and digits (the
matcher's words), with a GIN index. Both are back-filled here.

Note for later migrations: on SQLite a batch migration that recreates the
articles table drops these triggers; such a migration must create them again.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import unicodedata

from alembic import op

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


def _folding() -> tuple[str, str]:
    """translate() arguments that fold accented letters as the matcher does
    (NFKD, combining marks dropped), one character for one."""
    src, dst = [], []
    for lo, hi in ((0xC0, 0x250), (0x370, 0x530), (0x1E00, 0x1F00)):
        for cp in range(lo, hi):
            ch = chr(cp).lower()
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            if len(ch) == 1 and len(base) == 1 and base != ch and ch not in src:
                src.append(ch)
                dst.append(base)
    return "".join(src), "".join(dst)


def _words(col: str) -> str:
    src, dst = _folding()
    return (f"to_tsvector('simple'::regconfig, regexp_replace(translate(lower(coalesce({col}, '')), "
            f"'{src}', '{dst}'), '[^[:alnum:]]+', ' ', 'g'))")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
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
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_articles_search_vector")
        op.execute("ALTER TABLE articles DROP COLUMN search_vector")
        return
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE articles_fts")
