"""Would static word embeddings earn their place in the same-story layer?

    .venv/bin/pip install 'wordllama>=0.4,<0.5'     # not a dependency of the monitor
    .venv/bin/python bench/dedup_embeddings.py       # about 2 minutes

WordLlama (l2_supercat, 256 dimensions) ships its weights inside its PyPI
package and runs on numpy: no model is downloaded at run time, no torch. This
bench measures what its sentence embeddings (mean of token vectors, l2) add to
the monitor's keyword vectors, on the same data and protocol as
bench/dedup_eval.py:

  1. pairwise ROC-AUC on the SemEval-2022 Task 8 English pairs and on sampled
     pairs of UCI headlines (same story or not): keyword cosine, embedding
     cosine, and their mix;
  2. BCubed F1 of online clustering of the UCI headlines, half B (threshold and
     mix weight chosen on half A), 5 shuffled orders: the monitor's StoryIndex
     alone, and its story scores mixed with the embedding score of a story
     (mean of its centroid's and its best article's cosine), either for the
     monitor's own candidates only (bounded work per decision) or for every
     stored story (a scan linear in the stored stories).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench._data import Doc, bcubed, dot, roc_auc, semeval_pairs, shuffled, split_by_story, uci_docs  # noqa: E402
from bench.dedup_eval import prepare  # noqa: E402
from monitor import dedup  # noqa: E402

ORDERS_A, ORDERS_B = 2, 5
MIXES = (0.0, 0.4, 0.5, 0.6)
THRESHOLDS = (0.12, 0.14, 0.16, 0.20, 0.24, 0.28)


def load_wordllama():  # type: ignore[no-untyped-def]
    """WordLlama from the files in its package. WordLlama.load() looks for the
    tokenizer under tokenizer/ while the wheel puts it under tokenizers/, and
    then tries to download it: the pieces are loaded directly instead."""
    try:
        import wordllama
        from safetensors import safe_open
        from wordllama import WordLlama
        from wordllama.inference import WordLlamaInference
    except ImportError:
        sys.exit("bench/dedup_embeddings.py needs wordllama: .venv/bin/pip install 'wordllama>=0.4,<0.5'")
    root = Path(wordllama.__file__).parent
    tokenizer = WordLlama.load_tokenizer(root / "tokenizers" / "l2_supercat_tokenizer_config.json")
    with safe_open(str(root / "weights" / "l2_supercat_256.safetensors"), framework="np",
                   device="cpu") as f:
        weights = f.get_tensor("embedding.weight")
    return WordLlamaInference(weights, tokenizer, binary=False)


def pairs(model, docs: list[Doc], vecs: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    sem = semeval_pairs()
    labels = [overall <= 1.5 for _, _, overall in sem]
    a = model.embed([x for x, _, _ in sem], norm=True)
    b = model.embed([y for _, y, _ in sem], norm=True)
    emb = [float(v) for v in (a * b).sum(axis=1)]
    kw = [dot(dedup.features("", x), dedup.features("", y)) for x, y, _ in sem]
    print(f"SemEval EN pairs ({len(sem)}), ROC-AUC: keywords {roc_auc(kw, labels):.3f}  "
          f"embeddings {roc_auc(emb, labels):.3f}  " + "  ".join(
              f"mix {m}: {roc_auc([(1 - m) * k + m * e for k, e in zip(kw, emb)], labels):.3f}"
              for m in (0.2, 0.5)))
    rng = random.Random(1)
    sample = [tuple(rng.sample(range(len(docs)), 2)) for _ in range(20000)]
    by_story: dict[str, list[int]] = {}
    for i, d in enumerate(docs):
        by_story.setdefault(d.story, []).append(i)
    for members in by_story.values():
        sample += [tuple(rng.sample(members, 2)) for _ in range(60)]
    same = [docs[i].story == docs[j].story for i, j in sample]
    kw = [dot(prepare(docs[i]).feats, prepare(docs[j]).feats) for i, j in sample]
    emb = [float(vecs[i] @ vecs[j]) for i, j in sample]
    print(f"UCI headline pairs ({len(sample)}, {sum(same)} same story), ROC-AUC: keywords "
          f"{roc_auc(kw, same):.3f}  embeddings {roc_auc(emb, same):.3f}  "
          f"mix 0.5: {roc_auc([(k + e) / 2 for k, e in zip(kw, emb)], same):.3f}")


def cluster(order: Sequence[Doc], vec: dict[str, np.ndarray], threshold: float, mix: float,
            scan_all: bool) -> list[int]:
    """Online clustering through StoryIndex, its story scores mixed with embedding
    scores: of the index's own candidate stories (bounded work), or of every
    stored story (scan_all: work linear in the stored stories)."""
    index = dedup.StoryIndex(headline_threshold=threshold, window=None)
    stored = np.zeros((len(order), 256), dtype=np.float32)
    story_of = np.zeros(len(order), dtype=np.int64)
    rows: dict[int, list[int]] = {}                      # story -> its articles' rows in `stored`
    sums: dict[int, np.ndarray] = {}
    hashes: dict[str, int] = {}                          # the exact-copy layer, as StoryIndex keeps it
    labels: list[int] = []
    for i, d in enumerate(order):
        p, e = prepare(d), vec[d.id]
        sid = hashes.get(p.hash)
        if sid is None:
            lexical = {s: score for s, score, _ in index.scored(p.feats)}
            ids = list(sums) if scan_all else list(lexical)
            best, best_score = None, -1.0
            if mix > 0 and ids:
                cent = np.stack([sums[s] for s in ids])
                cent = (cent / np.linalg.norm(cent, axis=1, keepdims=True)) @ e
                if scan_all:                             # every stored article, in one product
                    every = np.full(len(sums) + 1, -1.0)
                    np.maximum.at(every, story_of[:i], stored[:i] @ e)
                    links = [float(every[s]) for s in ids]
                else:                                    # the candidates' articles only
                    links = [float((stored[rows[s]] @ e).max()) for s in ids]
                for s, c, link in zip(ids, cent, links):
                    score = (1 - mix) * lexical.get(s, 0.0) + mix * (c + link) / 2
                    if score > best_score:
                        best, best_score = s, score
            elif lexical:
                best, best_score = max(lexical.items(), key=lambda kv: kv[1])
            sid = best if best is not None and best_score >= threshold else len(sums) + 1
        index.add(dedup.Candidate(i, sid, p.feats, p.hash))
        hashes.setdefault(p.hash, sid)
        stored[i], story_of[i] = e, sid
        rows.setdefault(sid, []).append(i)
        sums[sid] = sums.get(sid, 0) + e
        labels.append(sid)
    return labels


def online(docs: list[Doc], vecs: np.ndarray) -> None:
    vec = dict(zip((d.id for d in docs), vecs))
    tune, test = split_by_story(docs)

    def f1(part: list[Doc], th: float, mix: float, scan_all: bool, orders: int) -> list[float]:
        out = []
        for seed in range(orders):
            order = shuffled(part, seed)
            out.append(bcubed([d.story for d in order], cluster(order, vec, th, mix, scan_all))[2])
        return out

    print(f"\nUCI headlines, online clustering: chosen on half A ({ORDERS_A} orders), "
          f"half B ({ORDERS_B} orders)")
    for name, scan_all, mixes in (("monitor alone", False, (0.0,)),
                                  ("mix, the monitor's candidates", False, MIXES[1:]),
                                  ("mix, every stored story", True, MIXES[1:])):
        started = time.monotonic()
        best = max(((statistics.mean(f1(tune, th, m, scan_all, ORDERS_A)), m, th)
                    for m in mixes for th in THRESHOLDS), key=lambda x: x[0])
        _, m, th = best
        runs = f1(test, th, m, scan_all, ORDERS_B)
        print(f"  {name:32s} mix {m:.1f} threshold {th:.2f} (A F1 {best[0]:.3f}): half B F1 "
              f"{statistics.mean(runs):.3f} (min {min(runs):.3f})  [{time.monotonic() - started:.0f} s]")


def main() -> None:
    started = time.monotonic()
    model = load_wordllama()
    t = time.perf_counter()
    model.embed(["Netflix raises prices for new subscribers in the US and Canada"] * 1000)
    print(f"WordLlama l2_supercat 256-d: {(time.perf_counter() - t):.3f} ms per headline, "
          f"{model.embedding.nbytes / 2**20:.0f} MiB of weights")
    docs = uci_docs()
    vecs = model.embed([d.title for d in docs], norm=True)   # once, for pairs and clustering
    pairs(model, docs, vecs)
    online(docs, vecs)
    print(f"\n({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
