"""Fit the same-story model (monitor/dedup/weights.json) on public training data.

    .venv/bin/pip install -e '.[bench]'          # scikit-learn, for the fit only
    .venv/bin/python bench/dedup_train.py [--dry-run]

What it fits on, and only on:
  - SemEval-2022 Task 8 split a: article pairs in English, Spanish, German,
    French, Italian, Portuguese and Polish, within and across languages (same
    story = Overall <= 1.5); the signals of text2 against text1 as a stored story;
  - the UCI News Aggregator slice, half A of the stories (even positions of the
    sorted story ids), headlines only: the documents go one at a time through
    the index in shuffled orders, clustered online by the previous hand-set
    rule (mean of best-article and centroid cosine >= 0.16), and every candidate
    story the index retrieves for a headline is a training row, positive when
    most of that story's headlines share the headline's gold story. So the rows
    are the decisions the monitor faces, stories fragmented as they are online
    (rows made with the gold stories instead, teacher forcing, gave a model
    that clusters worse: UCI half B 0.74-0.80 against 0.81-0.82).

Two logistic regressions (scikit-learn, standardised signals, L2): the
headline model on the UCI rows (every signal), its threshold chosen to
maximise the online clustering BCubed F1 on UCI half A; the article model on
the SemEval rows (ARTICLE_SIGNALS), whose operating point is the one number
chosen on project data, by two-fold cross-validation over the labelled set's
events (see choose_article_threshold: no public set clusters full articles by
event). The monitor mixes the two by a text's length (monitor/dedup/model.py).
Reported, on data not fitted on: ROC-AUC on SemEval split b per language pair,
and UCI half B F1 (bench/dedup_eval.py gives the full report, with the baselines).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._data import Doc, Pair, bcubed, roc_auc, semeval_split, shuffled, split_by_story, uci_docs  # noqa: E402
from monitor import dedup  # noqa: E402
from monitor.canonical import text_hash  # noqa: E402
from monitor.dedup.model import WEIGHTS_FILE, Model, StoryModel  # noqa: E402
from monitor.dedup.retrieval import INDEX_FEATURES  # noqa: E402

LATIN = ("en", "es", "de", "fr", "it", "pt", "pl")
FIT_ORDERS = 3
# the article model's signals: SemEval pairs are single articles (centroid = link,
# story containment = containment), carry no feed, and are few (655 rows)
ARTICLE_SIGNALS = ("story_cosine", "cross_cosine", "contain_story")
WEIGHTS = Path(dedup.__file__).resolve().parent / WEIGHTS_FILE


def latin_pairs(split: str) -> list[Pair]:
    return [p for p in semeval_split(split) if p.lang1 in LATIN and p.lang2 in LATIN]


def top_counts(pairs: list[Pair]) -> tuple[dict[str, int], int]:
    """How many of the pairs' articles lead with each feature (their top
    features, as the index counts them): the store a pair is scored against."""
    texts = {}
    for p in pairs:
        a, b = p.pair_id.split("_")
        texts.setdefault(a, (p.text1, p.lang1))
        texts.setdefault(b, (p.text2, p.lang2))
    counts: Counter[str] = Counter()
    for text, lang in texts.values():
        f = dedup.features("", text, lang)
        counts.update(sorted(f, key=lambda k: -f[k])[:INDEX_FEATURES])
    return dict(counts), len(texts)


def pair_signals(p: Pair, background: tuple[dict[str, int], int] | None = None) -> tuple[float, ...] | None:
    """text2's signals against text1 as a one-article story, in a store of the
    background articles (None: nothing shared)."""
    index = dedup.StoryIndex(window=None)
    if background is not None:
        index.count_background(*background)
    f1 = dedup.features("", p.text1, p.lang1)
    index.add(dedup.Candidate(0, 0, f1, "1", lang=p.lang1))
    ranked = index.scored(dedup.features("", p.text2, p.lang2), dedup.Query(lang=p.lang2),
                          evidence_rule=False, all_signals=True)
    return ranked[0].signals if ranked else None


_feats: dict[str, dict[str, float]] = {}


def doc_features(d: Doc) -> dict[str, float]:
    f = _feats.get(d.id)
    if f is None:
        f = _feats[d.id] = dedup.features(d.title, d.text, d.lang)
    return f


def feed_ids(docs: list[Doc]) -> dict[str, int]:
    return {s: i for i, s in enumerate(sorted({d.source for d in docs if d.source}))}


def hand_rule() -> StoryModel:
    """The previous hand-set rule as a model: (link + centroid) / 2 >= 0.16."""
    n = len(dedup.SIGNALS)
    weights = [0.0] * n
    weights[dedup.SIGNALS.index("link")] = weights[dedup.SIGNALS.index("centroid")] = 10.0
    rule = Model(-3.2, tuple(weights), (0.0,) * n, (1.0,) * n, 0.5, "hand-set")
    return StoryModel(rule, rule)


def uci_rows(docs: list[Doc], orders: int) -> tuple[list[tuple[float, ...]], list[int]]:
    """Decision rows: every retrieved candidate story of every headline, as the
    hand rule clusters them online; positive when the story's majority is the
    headline's gold story."""
    feeds = feed_ids(docs)
    rule = hand_rule()
    xs: list[tuple[float, ...]] = []
    ys: list[int] = []
    for seed in range(orders):
        index = dedup.StoryIndex(window=None, model=rule)
        members: dict[int, Counter[str]] = defaultdict(Counter)
        next_story = 1
        for i, d in enumerate(shuffled(docs, seed)):
            feats = doc_features(d)
            q = dedup.Query(lang=d.lang, feed_id=feeds.get(d.source or ""))
            for s in index.scored(feats, q, all_signals=True):
                xs.append(s.signals)
                ys.append(int(members[s.story_id].most_common(1)[0][0] == d.story))
            sid = index.decide(feats, text_hash(d.text), None, q).story_id
            if sid is None:
                sid, next_story = next_story, next_story + 1
            members[sid][d.story] += 1
            index.add(dedup.Candidate(i, sid, feats, text_hash(d.text), feed_id=q.feed_id, lang=d.lang,
                                      title=d.title))
    return xs, ys


def cluster(docs: list[Doc], model: StoryModel) -> list[int]:
    """The pipeline's loop: decide, then add with the decided (or a new) story id."""
    feeds = feed_ids(docs)
    index = dedup.StoryIndex(window=None, model=model)
    labels: list[int] = []
    next_story = 1
    for i, d in enumerate(docs):
        feats = doc_features(d)
        feed = feeds.get(d.source or "")
        dec = index.decide(feats, text_hash(d.text), None, dedup.Query(lang=d.lang, feed_id=feed))
        sid = dec.story_id
        if sid is None:
            sid, next_story = next_story, next_story + 1
        index.add(dedup.Candidate(i, sid, feats, text_hash(d.text), feed_id=feed, lang=d.lang, title=d.title))
        labels.append(sid)
    return labels


def clustering_f1(docs: list[Doc], model: StoryModel, orders: range) -> float:
    runs = []
    for seed in orders:
        order = shuffled(docs, seed)
        runs.append(bcubed([d.story for d in order], cluster(order, model))[2])
    return statistics.mean(runs)


def pair_precision(scores: list[float], labels: list[int], threshold: float) -> float:
    joined = [y for s, y in zip(scores, labels) if s >= threshold]
    return sum(joined) / len(joined) if joined else 1.0


def pair_f1(scores: list[float], labels: list[int], threshold: float) -> float:
    tp = sum(s >= threshold and y for s, y in zip(scores, labels))
    fp = sum(s >= threshold and not y for s, y in zip(scores, labels))
    fn = sum(s < threshold and y for s, y in zip(scores, labels))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def fit(xs: list[tuple[float, ...]], ys: list[int], weights: list[float],
        only: tuple[str, ...] | None = None) -> tuple[float, list[float], list[float], list[float]]:
    """Logistic regression on standardised signals; ``only``: the signals it may
    use (the others get weight 0)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(xs, dtype=float)
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0
    cols = [i for i, n in enumerate(dedup.SIGNALS) if only is None or n in only]
    lr = LogisticRegression(C=1.0, max_iter=2000)
    lr.fit(((x - means) / scales)[:, cols], np.asarray(ys), sample_weight=np.asarray(weights))
    coef = [0.0] * len(dedup.SIGNALS)
    for i, w in zip(cols, lr.coef_[0]):
        coef[i] = float(w)
    return float(lr.intercept_[0]), coef, list(means), list(scales)


def choose_article_threshold(headline: Model, article: Model) -> Model:
    """The article model's operating point, by two-fold cross-validation over the
    events of the project's labelled set (tests/data/stories + the seeds).

    The one number not fitted on public data: SemEval's "same story" (Overall <=
    1.5, texts cut at about 1,000 characters) is broader than one news event, so
    its best pairwise threshold (F1 on split a, about 0.3) merges three Netflix
    earnings calls into one story, and no public set clusters full articles by
    event. The folds choose on half the events and report on the other half."""
    from bench._data import seed_docs, story_docs
    from bench.dedup_eval import monitor_clusters

    docs = seed_docs() + story_docs()
    events = sorted({d.story for d in docs})

    def f1(part: list[Doc], t: float) -> float:
        """Mean BCubed F1 over publication order and 4 shuffled orders (one order
        alone swings on a single early decision)."""
        seeds = [d for d in part if d.is_seed]
        rest = [d for d in part if not d.is_seed]
        runs = []
        for seed in (None, 0, 1, 2, 3):
            order = seeds + (rest if seed is None else shuffled(rest, seed))
            index = dedup.StoryIndex(model=StoryModel(headline, replace(article, threshold=t)))
            runs.append(bcubed([d.story for d in order], monitor_clusters(order, index, True))[2])
        return statistics.mean(runs)

    grid = [round(0.40 + 0.02 * i, 2) for i in range(16)]

    def robust(scores: dict[float, float]) -> float:
        """The threshold whose neighbourhood (two grid steps either side) scores
        best on average: the curve is flat and noisy, and a point between two
        dips is no operating point."""
        def near(t: float) -> float:
            i = grid.index(t)
            return statistics.mean(scores[u] for u in grid[max(0, i - 2):i + 3])
        return max(grid, key=lambda t: (near(t), -t))

    held = []
    for k in (0, 1):
        tune = [d for d in docs if events.index(d.story) % 2 == k]
        test = [d for d in docs if events.index(d.story) % 2 != k]
        t = robust({t: f1(tune, t) for t in grid})
        held.append(f1(test, t))
        print(f"article threshold, fold {k + 1}: {t:.2f} chosen on {len({d.story for d in tune})} events, "
              f"F1 {held[-1]:.3f} on the other {len({d.story for d in test})}")
    scores = {t: f1(docs, t) for t in grid}
    best = robust(scores)
    print("article threshold, all events: " + ", ".join(f"{t:.2f} {f:.3f}" for t, f in scores.items())
          + f" -> {best:.2f} (held-out folds F1 {statistics.mean(held):.3f})")
    return replace(article, threshold=best)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="print, do not write weights.json")
    args = ap.parse_args()
    started = time.monotonic()
    train_pairs = latin_pairs("a")
    background = top_counts(train_pairs)
    sem = [(pair_signals(p, background), int(p.same)) for p in train_pairs]
    sem_xs = [x for x, _ in sem if x is not None]
    sem_ys = [y for x, y in sem if x is not None]
    half_a, half_b = split_by_story(uci_docs())
    uci_xs, uci_ys = uci_rows(half_a, FIT_ORDERS)
    print(f"rows: SemEval split a {len(sem_xs)} pairs ({sum(sem_ys)} same story; "
          f"{len(sem) - len(sem_xs)} share nothing), UCI half A {len(uci_xs)} decisions "
          f"({sum(uci_ys)} the headline's story) over {FIT_ORDERS} orders")
    def fitted(xs: list[tuple[float, ...]], ys: list[int], what: str,
               only: tuple[str, ...] | None = None) -> Model:
        bias, coef, means, scales = fit(xs, ys, [1.0] * len(ys), only)
        return Model(bias, tuple(coef), tuple(means), tuple(scales), 0.5, what)

    headline = fitted(uci_xs, uci_ys, "UCI News Aggregator half A (headlines)")
    article = fitted(sem_xs, sem_ys, "SemEval-2022 Task 8 split a (articles; en, es, de, fr, it, pt, pl)",
                     ARTICLE_SIGNALS)
    print(f"  {'signal':18s} {'headline':>9s} {'article':>9s}")
    for name, h, a in zip(dedup.SIGNALS, headline.weights, article.weights):
        print(f"  {name:18s} {h:+9.3f} {a:+9.3f}")
    grid = [0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]
    f1s = {t: clustering_f1(half_a, StoryModel(replace(headline, threshold=t), article), range(2))
           for t in grid}
    headline = replace(headline, threshold=max(grid, key=lambda t: (f1s[t], -abs(t - 0.5))))
    print("headline threshold, UCI half A clustering F1: "
          + ", ".join(f"{t:.2f} {f:.3f}" for t, f in f1s.items()) + f" -> {headline.threshold:.2f}")
    article = choose_article_threshold(headline, article)
    model = StoryModel(headline, article)
    # held out: each pair in the store of split b's articles (their text only, no label)
    held_background = top_counts(latin_pairs("b"))
    for langs in ("en-en", "es-en", "de-en", "pl-en", "es-it", "de-fr"):
        pairs = [p for p in semeval_split("b", [langs])]
        scores = [article.probability(x) if (x := pair_signals(p, held_background)) is not None else 0.0
                  for p in pairs]
        labels = [p.same for p in pairs]
        if 0 < sum(labels) < len(labels):
            print(f"  SemEval split b {langs}: ROC-AUC {roc_auc(scores, labels):.3f} "
                  f"({len(pairs)} pairs, {sum(labels)} same story)")
    print(f"  UCI half B clustering F1 (3 orders): {clustering_f1(half_b, model, range(3)):.3f}")
    if not args.dry_run:
        WEIGHTS.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS}")
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
