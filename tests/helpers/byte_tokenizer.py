"""A real (tokenizers library) byte-level tokenizer with no merges: token ``i`` < 256 is byte ``i``.

Engine unit tests feed it to the output processor in place of a model's tokenizer: text is
exactly the bytes of the token ids, and a multi-byte character spans several tokens, as in
byte-level BPE. Building it needs no files and no download.
"""

from __future__ import annotations

from functools import cache

from tokenizers import Tokenizer, decoders
from tokenizers.models import BPE


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map of the 256 byte values onto printable characters (what ByteLevel decodes back)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {byte: chr(char) for byte, char in zip(printable, chars, strict=True)}


@cache
def byte_tokenizer() -> Tokenizer:
    mapping = _bytes_to_unicode()
    tokenizer = Tokenizer(BPE(vocab={mapping[byte]: byte for byte in range(256)}, merges=[]))
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer
