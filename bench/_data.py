"""Shared loaders and measures for the dedup benches (bench/dedup_eval.py,
bench/dedup_scale.py) and the labelled-set test.

Reads, never copies, the public data in ``../shared/data`` (override with
$MONITOR_SHARED_DATA): SemEval-2022 Task 8 English pairs, the UCI News
Aggregator slice, the ScrapingHub pages' hand-made article bodies. Reads the
project's own labelled set in ``tests/data/stories/`` and the seeds.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("MONITOR_SHARED_DATA", ROOT.parent / "shared" / "data"))
CLUSTERING = SHARED / "clustering"
STORIES = ROOT / "tests" / "data" / "stories" / "stories.jsonl"
SEEDS = ROOT / "seeds"

# The gold story of each seed in the labelled set (see tests/data/stories/README.md):
# 001, 002 and 004 report the Q3-2025 earnings call; 000 the Q1 call (Cameron),
# 003 the Q2 call (The Eternaut).
SEED_STORY = {"000": "nflx-q1-2025-cameron", "001": "nflx-q3-2025-ai",
              "002": "nflx-q3-2025-ai", "003": "nflx-q2-2025-eternaut",
              "004": "nflx-q3-2025-ai"}


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    text: str
    story: str
    published: datetime | None = None
    kind: str = ""
    is_seed: bool = False
    source: str | None = None        # the feed (outlet) it came from
    lang: str | None = None


@dataclass(frozen=True)
class Pair:
    """A SemEval-2022 Task 8 pair: two article texts, their languages, and the
    annotators' Overall score (1-4, 1 = the same story)."""

    pair_id: str
    text1: str
    text2: str
    lang1: str
    lang2: str
    overall: float

    @property
    def same(self) -> bool:
        return self.overall <= 1.5

    @property
    def langs(self) -> str:
        return f"{self.lang1}-{self.lang2}"


# --- loaders -----------------------------------------------------------------

def semeval_pairs() -> list[tuple[str, str, float]]:
    """Unique English-English pairs (text1, text2, Overall); the first row of a
    pair_id wins (62 ids appear in both files, some twice in one)."""
    seen: dict[str, tuple[str, str, float]] = {}
    for name in ("semeval2022t8_pairs_split_a.csv", "semeval2022t8_pairs_split_b.csv"):
        with open(CLUSTERING / name, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                if r["lang1"] == "en" and r["lang2"] == "en" and r["pair_id"] not in seen:
                    seen[r["pair_id"]] = (r["text1"], r["text2"], float(r["Overall"]))
    return [seen[k] for k in sorted(seen)]


def semeval_split(split: str, langs: Iterable[str] | None = None) -> list[Pair]:
    """Unique pairs of one split ("a" for fitting, "b" for reporting), optionally
    only some language pairs ("es-en"). Split b leaves out the pair ids that
    split a holds too, so nothing fitted on a is reported on b."""
    other: set[str] = set()
    if split == "b":
        with open(CLUSTERING / "semeval2022t8_pairs_split_a.csv", newline="", encoding="utf-8") as f:
            other = {r["pair_id"] for r in csv.DictReader(f)}
    wanted = set(langs) if langs is not None else None
    seen: dict[str, Pair] = {}
    with open(CLUSTERING / f"semeval2022t8_pairs_split_{split}.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            pid = r["pair_id"]
            if pid in seen or pid in other:
                continue
            if wanted is not None and f"{r['lang1']}-{r['lang2']}" not in wanted:
                continue
            seen[pid] = Pair(pid, r["text1"], r["text2"], r["lang1"], r["lang2"], float(r["Overall"]))
    return [seen[k] for k in sorted(seen)]


def uci_docs() -> list[Doc]:
    """Headlines only: the title is the whole text, as the pipeline stores a feed
    entry without a page. No published time: the crawl time leaks the label."""
    out = []
    with open(CLUSTERING / "uci_news_aggregator_subset.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            out.append(Doc(str(r["id"]), r["title"], r["title"], r["story"],
                           source=str(r.get("publisher") or "") or None, lang="en"))
    return out


def split_by_story(docs: Sequence[Doc]) -> tuple[list[Doc], list[Doc]]:
    """Two halves by story: the stories in sorted-id order, alternately. Thresholds
    are chosen on the first half and reported on the second."""
    ids = sorted({d.story for d in docs})
    half = {s: i % 2 for i, s in enumerate(ids)}
    return [d for d in docs if half[d.story] == 0], [d for d in docs if half[d.story] == 1]


def seed_docs() -> list[Doc]:
    from monitor.seeds import read_seeds

    return [Doc("seed:" + s.file, s.title, s.text, SEED_STORY[s.file[:3]], s.published, "seed", True,
                lang="en") for s in read_seeds(SEEDS)]


def story_docs(path: Path = STORIES) -> list[Doc]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                out.append(Doc(r["id"], r["title"], r["text"], r["story"],
                               datetime.fromisoformat(r["published"]), r["kind"],
                               source=r.get("source"), lang=r.get("lang", "en")))
    out.sort(key=lambda d: (d.published or datetime.min, d.id))
    return out


def page_bodies() -> list[str]:
    """The 181 hand-made article bodies of the ScrapingHub pages (real news text)."""
    with open(SHARED / "pages" / "ground-truth.json", encoding="utf-8") as f:
        gt = json.load(f)
    return [v["articleBody"] for _, v in sorted(gt.items()) if v.get("articleBody")]


# --- measures ------------------------------------------------------------------

def bcubed(gold: Sequence[str], pred: Sequence[object]) -> tuple[float, float, float]:
    """BCubed precision, recall, F1 (Amigó et al. 2009) of a flat clustering."""
    by_pred: dict[object, list[int]] = defaultdict(list)
    by_gold: dict[str, list[int]] = defaultdict(list)
    for i, (g, p) in enumerate(zip(gold, pred)):
        by_pred[p].append(i)
        by_gold[g].append(i)
    # |cluster(i) & class(i)| per (pred, gold) cell
    cell: dict[tuple[object, str], int] = defaultdict(int)
    for g, p in zip(gold, pred):
        cell[(p, g)] += 1
    n = len(gold)
    prec = sum(cell[(p, g)] / len(by_pred[p]) for g, p in zip(gold, pred)) / n
    rec = sum(cell[(p, g)] / len(by_gold[g]) for g, p in zip(gold, pred)) / n
    return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Probability that a positive outscores a negative (ties count half)."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def shuffled(docs: Sequence[Doc], seed: int) -> list[Doc]:
    out = list(docs)
    random.Random(seed).shuffle(out)
    return out


# --- the baseline: plain TF-IDF cosine, nearest centroid ---------------------

def _plain_tokens(text: str) -> list[str]:
    import re

    return re.findall(r"\w+", text.lower())


class TfIdf:
    """Plain TF-IDF (raw term counts x smoothed IDF, l2-normalised), IDF fitted
    on the whole collection up front, as scikit-learn's TfidfVectorizer does."""

    def __init__(self, texts: Iterable[str]) -> None:
        import math

        df: dict[str, int] = defaultdict(int)
        n = 0
        for t in texts:
            n += 1
            for w in set(_plain_tokens(t)):
                df[w] += 1
        self.idf = {w: math.log((1 + n) / (1 + c)) + 1.0 for w, c in df.items()}

    def vector(self, text: str) -> dict[str, float]:
        import math

        counts: dict[str, int] = defaultdict(int)
        for w in _plain_tokens(text):
            counts[w] += 1
        v = {w: c * self.idf.get(w, 1.0) for w, c in counts.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {w: x / norm for w, x in v.items()}


def dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(k, 0.0) for k, v in a.items())


def cluster_tfidf(docs: Sequence[Doc], tfidf: TfIdf, threshold: float) -> list[int]:
    """Online nearest-centroid clustering: join the story whose centroid is the
    most similar if the cosine reaches the threshold, else start a new one."""
    import math

    sums: list[dict[str, float]] = []
    sq: list[float] = []
    postings: dict[str, set[int]] = defaultdict(set)
    labels = []
    for d in docs:
        v = tfidf.vector(f"{d.title}\n{d.text}" if d.text != d.title else d.title)
        dots: dict[int, float] = defaultdict(float)
        for w, x in v.items():
            for c in postings.get(w, ()):
                dots[c] += x * sums[c][w]
        best, best_s = -1, 0.0
        for c, dp in dots.items():
            score = dp / (math.sqrt(sq[c]) or 1.0)
            if score > best_s:
                best, best_s = c, score
        if best < 0 or best_s < threshold:
            best = len(sums)
            sums.append({})
            sq.append(0.0)
        s = sums[best]
        for w, x in v.items():
            old = s.get(w, 0.0)
            s[w] = old + x
            sq[best] += 2 * old * x + x * x
            postings[w].add(best)
        labels.append(best)
    return labels
