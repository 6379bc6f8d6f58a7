"""The CLIP tokenizer of NovelAI's v1 image models, built as a Hugging Face `tokenizers.Tokenizer`.

OpenAI's CLIP tokenizes with a byte-level BPE whose words end in `</w>`, after cleaning the text: ftfy's
`fix_text`, HTML unescaping (twice), whitespace collapsing, stripping and lower-casing. This module builds the
same BPE with `tokenizers` from the merges in `bpe_simple_vocab_16e6.txt.gz`, and cleans text in Python without
ftfy: it applies the parts of `fix_text` that change well-formed text (NFC, full-width to ASCII, Latin ligatures,
curly quotes, control characters) but does not repair mojibake, which needs ftfy's heuristics.
"""

from __future__ import annotations

import contextlib
import gzip
import html
import re
import unicodedata
from collections.abc import Callable
from functools import cache

import tokenizers
from tokenizers import AddedToken, Regex, decoders, models, pre_tokenizers

from nai_sdk.errors import TokenizerError
from nai_sdk.tokenizers._hf import HFTokenizer

__all__ = ["ClipTokenizer", "clean_text", "load_clip"]

# The number of merges CLIP reads from the file (after its header line), as OpenAI's tokenizer does; its
# vocabulary is then 256 bytes, 256 bytes ending a word, the merges, <|startoftext|> and <|endoftext|>: 49408 ids.
_N_MERGES = 49152 - 256 - 2
_START, _END = "<|startoftext|>", "<|endoftext|>"
# CLIP's word pattern: its two special strings, English contractions, runs of letters, single digits, and runs of
# anything else but whitespace. Text is lower-cased before it is applied.
_WORDS = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+"""
_SPACES = re.compile(r"\s+")


def _byte_alphabet() -> list[tuple[int, str]]:
    """GPT-2's printable stand-in for each byte, in the order CLIP numbers them: printable bytes first, as
    themselves, then the others as the characters from U+0100 on."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [byte for byte in range(256) if byte not in printable]
    return [(byte, chr(byte)) for byte in printable] + [(byte, chr(256 + n)) for n, byte in enumerate(others)]


# Latin ligatures and digraphs split as ftfy's fix_latin_ligatures does (not quite NFKC: U+FB05 keeps its long s).
_LIGATURES = {
    "Ĳ": "IJ", "ĳ": "ij", "ŉ": "ʼn", "Ǳ": "DZ", "ǲ": "Dz", "ǳ": "dz", "Ǆ": "DŽ", "ǅ": "Dž", "ǆ": "dž",
    "Ǉ": "LJ", "ǈ": "Lj", "ǉ": "lj", "Ǌ": "NJ", "ǋ": "Nj", "ǌ": "nj",
    "ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "ſt", "ﬆ": "st",
}  # fmt: skip


@cache
def _fix_tables() -> tuple[dict[int, str], dict[int, str]]:
    """Two str.translate tables for the parts of ftfy's fix_text that apply to well-formed text, in its order."""
    first: dict[int, str] = {}
    # C1 controls read as Windows-1252, as browsers do (ftfy's fix_c1_controls); its holes stay as they are.
    for code in range(0x80, 0xA0):
        with contextlib.suppress(UnicodeDecodeError):
            first[code] = bytes([code]).decode("cp1252")
    first.update({ord(char): split for char, split in _LIGATURES.items()})
    # Full-width and half-width forms, and the ideographic space (ftfy's fix_character_width).
    for code in range(0xFF01, 0xFFF0):
        folded = unicodedata.normalize("NFKC", chr(code))
        if folded != chr(code):
            first[code] = folded
    first[0x3000] = " "
    # Curly quotes (ftfy's uncurl_quotes), then control characters other than whitespace and invisible format
    # marks (ftfy's remove_control_chars).
    second = {code: "'" for code in [0x02BC, *range(0x2018, 0x201C)]}
    second.update({code: '"' for code in range(0x201C, 0x2020)})
    for code in [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F, *range(0x206A, 0x2070), 0xFEFF,
                 *range(0xFFF9, 0xFFFD)]:  # fmt: skip
        second[code] = ""
    return first, second


def clean_text(text: str) -> str:
    """CLIP's text cleaning: ftfy-like fixes, HTML unescaping twice, whitespace collapsed, stripped, lower case."""
    first, second = _fix_tables()
    text = unicodedata.normalize("NFC", text.translate(first).translate(second))
    text = html.unescape(html.unescape(text))
    return _SPACES.sub(" ", text).strip().lower()


class ClipTokenizer(HFTokenizer):
    """CLIP: text is cleaned (see `clean_text`) before encoding; decoding turns each `</w>` into a space."""

    def __init__(self, backend: tokenizers.Tokenizer, plain_factory: Callable[[], tokenizers.Tokenizer]) -> None:
        super().__init__("clip", backend, plain_factory, bos_id=backend.token_to_id(_START), eos_id=None)
        self.eos_id = backend.token_to_id(_END)
        self._pieces: list[bytes] | None = None

    def _piece_table(self) -> list[bytes]:
        """The bytes each id decodes to, built on first decode (two threads may both build it: harmless)."""
        pieces = self._pieces
        if pieces is None:
            decode_byte = {char: byte for byte, char in _byte_alphabet()}
            pieces = []
            for token_id in range(self.vocab_size):
                token = self._backend.id_to_token(token_id)
                if token is None:
                    raise TokenizerError(f"the CLIP vocabulary has no token {token_id}")
                if token in self.special_tokens:
                    pieces.append(token.encode("ascii"))
                else:
                    word, end, _ = token.partition("</w>")
                    pieces.append(bytes(decode_byte[char] for char in word) + (b" " if end else b""))
            self._pieces = pieces
        return pieces

    def _encode(self, text: str, allowed: frozenset[str]) -> list[int]:
        return super()._encode(clean_text(text), allowed)

    def _encode_batch(self, texts: list[str], allowed: frozenset[str], num_threads: int | None) -> list[list[int]]:
        return super()._encode_batch([clean_text(text) for text in texts], allowed, num_threads)

    def _decode(self, ids: list[int], skip_special: bool) -> str:
        pieces = self._piece_table()
        if skip_special:
            special = self._special_ids
            ids = [token_id for token_id in ids if token_id not in special]
        return b"".join([pieces[token_id] for token_id in ids]).decode("utf-8", errors="replace")


def _build_backend(data: bytes) -> tokenizers.Tokenizer:
    try:
        lines = gzip.decompress(data).decode("utf-8").split("\n")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise TokenizerError(f"the CLIP merges file is not a gzip of UTF-8 text: {exc}") from exc
    merges: list[tuple[str, str]] = []
    for line in lines[1 : _N_MERGES + 1]:
        first, second = line.split()
        merges.append((first, second))
    alphabet = [char for _, char in _byte_alphabet()]
    vocab_list = [*alphabet, *(char + "</w>" for char in alphabet), *(a + b for a, b in merges), _START, _END]
    vocab = {token: token_id for token_id, token in enumerate(vocab_list)}
    backend = tokenizers.Tokenizer(models.BPE(vocab, merges, end_of_word_suffix="</w>"))
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_WORDS), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([AddedToken(_START, special=True), AddedToken(_END, special=True)])
    return backend


def load_clip(read: Callable[[], bytes]) -> ClipTokenizer:
    """Build the CLIP tokenizer from the bytes of `bpe_simple_vocab_16e6.txt.gz` (already verified)."""
    return ClipTokenizer(_build_backend(read()), lambda: _build_backend(read()))
