"""Page bytes to text: the declared charset when the bytes are in it, else
the page's <meta charset>, else UTF-8, else the likeliest guess, with the
web's default (windows-1252) among equal guesses."""

from __future__ import annotations

import pytest

from monitor.extract import decode_html

ITALIAN = "<html><head><title>Città</title></head><body><p>Il caffè è pronto. La città è bella. " \
          "Perché? Così è la vita, già. Però non è facile trovare un caffè aperto in città.</p></body></html>"
RUSSIAN = "<html><body><p>Москва — столица России. Городские власти объявили о новом парке " \
          "в центре города, который откроется весной следующего года.</p></body></html>"


@pytest.mark.parametrize(("data", "declared", "expected"), [
    (ITALIAN.encode("latin-1"), "utf-8", ITALIAN),            # declared wrong: a guess, Western first
    (ITALIAN.encode("latin-1"), "iso-8859-1", ITALIAN),       # declared right
    (ITALIAN.encode("utf-8"), None, ITALIAN),                 # undeclared UTF-8
    (ITALIAN.encode("utf-8"), "utf-8", ITALIAN),
    (ITALIAN.replace("<head>", '<head><meta charset="windows-1252">').encode("cp1252"), None,
     ITALIAN.replace("<head>", '<head><meta charset="windows-1252">')),   # <meta> when no header
    (ITALIAN.encode("latin-1"), "no-such-charset", ITALIAN),  # an unknown label is no answer
    (RUSSIAN.encode("cp1251"), None, RUSSIAN),                # not Western at all: detected
])
def test_decode_html(data: bytes, declared: str | None, expected: str) -> None:
    assert decode_html(data, declared) == expected
