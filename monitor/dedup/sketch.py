"""datasketch's MinHash class, loaded without the rest of datasketch.

``import datasketch`` runs the package's ``__init__``, which imports every
sketch the library has, its LSH indexes among them, and with those scipy:
0.4-0.5 s of CPU and about 40 MB in every process that computes a signature
(the workers' forkserver on each poll, the main process of `monitor init` and
of the demo). The MinHash class itself needs only numpy and hashlib. Its
module is imported under a package shell that has datasketch's search path
but runs no ``__init__``; the shell is removed at once, so a later
``import datasketch`` (anywhere in the process) loads the whole package as
usual and finds this same MinHash module in place.

Side effects: imports modules.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def minhash_class() -> Any:
    """datasketch.minhash.MinHash (the class the package exports as MinHash)."""
    module = sys.modules.get("datasketch.minhash")
    if module is None and "datasketch" not in sys.modules:
        spec = importlib.util.find_spec("datasketch")
        if spec is not None and spec.submodule_search_locations is not None:
            shell = types.ModuleType("datasketch")
            shell.__path__ = list(spec.submodule_search_locations)
            sys.modules["datasketch"] = shell
            try:
                module = importlib.import_module("datasketch.minhash")
            finally:
                if sys.modules.get("datasketch") is shell:
                    del sys.modules["datasketch"]
    if module is None:   # datasketch imported whole already, or laid out otherwise
        module = importlib.import_module("datasketch.minhash")
    return module.MinHash
