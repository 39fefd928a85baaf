"""A real, tiny byte-level tokenizer for pure-logic tests: token i < 256 is byte i, 256 is <eos>."""

from tokenizers import Tokenizer, decoders, models

EOS = 256


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table, the one tokenizers' ByteLevel decoder inverts."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    rest = [b for b in range(256) if b not in printable]
    return {**{b: chr(b) for b in printable}, **{b: chr(256 + n) for n, b in enumerate(rest)}}


def byte_tokenizer() -> Tokenizer:
    vocab = {char: byte for byte, char in _bytes_to_unicode().items()}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(["<eos>"])
    return tokenizer
