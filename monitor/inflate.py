"""gzip and deflate undone in bounded steps, for a raw gzip feed body (``feeds.py``)
and a response's Content-Encoding (``http_response.py``).

Pure: no I/O.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

INFLATE_STEP = 64 * 1024                  # most bytes one Inflate step may produce


class Inflate:
    """One gzip or deflate stream, undone at most INFLATE_STEP output bytes per step.

    Inflating a whole input at once lets a small gzip bomb (64 KB of input can be 64 MB
    of output) allocate its full size before any limit is checked; a caller that counts
    the pieces ``feed`` yields stops a bomb at most one step past its limit. Concatenated
    gzip members are read in turn; trailing bytes after the stream are ignored. Raises
    zlib.error for a corrupt stream.
    """

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
        self._fresh = True
        self._done = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The output for the next piece of input, in pieces of at most INFLATE_STEP."""
        while not self._done:
            try:
                out = self._d.decompress(data, INFLATE_STEP)
            except zlib.error:
                if self._gzip or not self._fresh:
                    raise
                # "deflate" is often sent as a raw stream without the zlib header.
                self._d, self._fresh = zlib.decompressobj(-zlib.MAX_WBITS), False
                continue
            self._fresh = False
            if out:
                yield out
            data = self._d.unconsumed_tail
            if self._d.eof:
                rest = self._d.unused_data
                if self._gzip and rest.startswith(b"\x1f\x8b"):   # concatenated members
                    self._d, data = zlib.decompressobj(16 + zlib.MAX_WBITS), rest
                    continue
                self._done = True                               # ignore trailing junk
            elif not data and len(out) < INFLATE_STEP:
                return          # input used up and nothing pending (a full step may be)

    def flush(self) -> Iterator[bytes]:
        """What is left once the input has ended (a truncated stream ends here too)."""
        if not self._done:
            yield self._d.flush()
