"""The MinHash signature comes from datasketch's own MinHash class, loaded
without the rest of the package (whose LSH indexes import scipy): the same
bytes as through ``import datasketch``, at a fraction of the import cost."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import json, sys
from monitor.dedup.text import MINHASH_SEED, NUM_PERM, SHINGLE, _text_tokens, signature
text = sys.argv[1]
ours = signature(text).hex()
before = {m: m in sys.modules for m in ("scipy", "datasketch", "datasketch.lsh")}
import numpy as np
from datasketch import MinHash, MinHashLSH   # the whole package still imports afterwards
words = _text_tokens(text)
mh = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED)
mh.update_batch([" ".join(words[i:i + SHINGLE]).encode()
                 for i in range(max(1, len(words) - SHINGLE + 1))])
theirs = np.asarray(mh.hashvalues, dtype=np.uint64).tobytes().hex()
print(json.dumps({"before": before, "same": ours == theirs, "lsh": MinHashLSH.__name__}))
"""

TEXT = ("LOS ANGELES, Oct. 21 - The Writers Guild of America reached a tentative deal "
        "with the studios on Tuesday that limits the use of generative AI in film and "
        "television writing; Netflix, Disney and Warner Bros. Discovery signed on. ") * 3


def test_the_signature_is_datasketchs_minhash_without_scipy() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, TEXT], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out == {"before": {"scipy": False, "datasketch": False, "datasketch.lsh": False},
                   "same": True, "lsh": "MinHashLSH"}
