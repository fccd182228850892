"""Text input preparation: validation, tokenisation, length-sorted batches, padding.

The path is: validate → tokenise (truncating at the model's limit, or a smaller user
``max_length``, and reporting it per text) → sort by token count into batches → pad. Running
a model on the batches is :mod:`voicesafety.pipeline`'s job. Empty or whitespace-only texts
are not run through the model: they get a defined "nothing here" result (:func:`empty_row`).
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Union, cast

import numpy as np

from .errors import InputTypeError, InvalidInputError, at_index
from .spec import ModelSpec

if TYPE_CHECKING:
    import tokenizers
    from transformers import PreTrainedTokenizerBase

Tokenizer = Union["tokenizers.Tokenizer", "PreTrainedTokenizerBase"]  # noqa: UP007 - py3.10
"""A bare ``tokenizers.Tokenizer`` or a Hugging Face tokenizer (fast or slow)."""


# --------------------------------------------------------------------------- normalisation

#: Cyrillic and Greek letters that look like Latin ones, and the Latin letter each is read as.
#: A small table instead of a dependency: the subset of Unicode's confusables.txt
#: (https://www.unicode.org/Public/security/latest/confusables.txt) for these two scripts that
#: matters for evading an English classifier. Fullwidth, mathematical and other compatibility
#: look-alikes (ｔｒａｓｈ, 𝐭𝐫𝐚𝐬𝐡) are NFKC's job, not this table's.
CONFUSABLES: dict[str, str] = {
    # Cyrillic lower case
    "а": "a", "в": "b", "е": "e", "ё": "e", "г": "r", "һ": "h", "і": "i", "ї": "i", "ј": "j",
    "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "п": "n", "р": "p", "с": "c", "ԛ": "q",
    "ѕ": "s", "т": "t", "у": "y", "ԝ": "w", "х": "x", "ԁ": "d", "ь": "b", "ү": "y",
    # Cyrillic upper case
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "Һ": "H", "І": "I", "Ї": "I", "Ј": "J", "К": "K",
    "Ӏ": "I", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Ԛ": "Q", "Ѕ": "S", "Т": "T",
    "У": "Y", "Ԝ": "W", "Х": "X", "Ү": "Y", "Ԁ": "D",
    # Greek lower case
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    # Greek upper case
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C",
}
_FOLD = str.maketrans(CONFUSABLES)
_LETTERS = re.compile(r"[^\W\d_]+")
#: Invisible characters that are not format (Cf) characters: variation selectors.
_VARIATION_SELECTORS = frozenset(
    [chr(c) for c in range(0xFE00, 0xFE10)] + [chr(c) for c in range(0xE0100, 0xE01F0)])


@lru_cache(maxsize=4096)
def _is_latin(char: str) -> bool:
    return char.isascii() or unicodedata.name(char, "").startswith("LATIN")


def _fold_word(word: str, latin_context: bool) -> str:
    """``word`` with its look-alikes read as Latin, when that is what it is meant to be."""
    folded = word.translate(_FOLD)
    if folded == word or not all(_is_latin(c) for c in folded):
        return word  # nothing to fold, or a real Cyrillic/Greek word (д, л, ж... in it)
    if latin_context or any(_is_latin(c) for c in word):
        return folded  # mixed scripts in one word, or a look-alike word among Latin ones
    return word


def normalize_text(text: str) -> str:
    """The text a tokenizer sees: the library's one text normalisation, used at inference and
    in training (both go through :meth:`TextEncoder.encode`).

    1. Invisible characters are removed: format characters (Unicode category Cf: zero-width
       space/joiners, word joiner, BOM, soft hyphen, and the bidi controls LRM/RLM/LRE/RLO/
       LRI/PDI...) and variation selectors.
    2. Unicode NFKC: fullwidth, mathematical and other compatibility forms become the plain
       characters (``ｔｒａｓｈ`` → ``trash``).
    3. Cyrillic and Greek look-alikes (:data:`CONFUSABLES`) are read as Latin in a word that
       mixes them with Latin letters (``trаsh`` with a Cyrillic ``а``), or in a word made
       only of look-alikes among mostly Latin text. A genuine Cyrillic or Greek word (one with
       letters that have no Latin look-alike) or text in those scripts is left alone.

    ASCII text is returned unchanged. The result of scoring keeps the original text.

    Example:
        >>> normalize_text("you\u200b are\u200b tr\u0430sh")
        'you are trash'
    """
    if text.isascii():
        return text
    text = "".join(c for c in text
                   if unicodedata.category(c) != "Cf" and c not in _VARIATION_SELECTORS)
    text = unicodedata.normalize("NFKC", text)
    if not any(c in CONFUSABLES for c in text):
        return text
    words = [(m.start(), m.end(), m.group()) for m in _LETTERS.finditer(text)]
    # Latin context: more letters in plainly Latin words than in words with other letters
    # that are not look-alikes (those are real Cyrillic/Greek).
    latin = other = 0
    for _, _, word in words:
        if all(_is_latin(c) for c in word):
            latin += len(word)
        elif not all(_is_latin(c) for c in word.translate(_FOLD)):
            other += len(word)
    context = latin > other
    out, last = [], 0
    for start, end, word in words:
        out.append(text[last:start])
        out.append(_fold_word(word, context))
        last = end
    out.append(text[last:])
    return "".join(out)


def check_unicode(text: str) -> None:
    """Raise :class:`InvalidInputError` if ``text`` holds a lone surrogate (not valid Unicode,
    e.g. from decoding with ``errors="surrogateescape"``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise InvalidInputError(
            f"text holds a lone surrogate U+{ord(bad):04X} at character {exc.start}, which is "
            "not valid Unicode (it often comes from decoding bytes with "
            "errors='surrogateescape'). Decode the bytes with errors='replace', or drop it: "
            "text.encode('utf-8', 'replace').decode('utf-8')"
        ) from None


@dataclass(frozen=True)
class Encoded:
    """Token ids of one text (already truncated) and whether truncation happened."""

    ids: list[int]
    truncated: bool


class TextEncoder:
    """Tokenises texts with a ``tokenizers.Tokenizer`` or a Hugging Face tokenizer.

    Truncation happens at ``max_length`` tokens (special tokens included) and is reported per
    text, never silent.
    """

    def __init__(self, tokenizer: Tokenizer, max_length: int | None) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        # Told apart by attributes, not isinstance, so that neither library is imported here:
        # a fast Hugging Face tokenizer wraps a tokenizers.Tokenizer (backend_tokenizer), a
        # bare tokenizers.Tokenizer has encode_batch, a slow Hugging Face tokenizer neither.
        backend: tokenizers.Tokenizer | None = getattr(tokenizer, "backend_tokenizer", None)
        self.hf: PreTrainedTokenizerBase | None = None
        fast: tokenizers.Tokenizer | None = backend
        if backend is not None or not hasattr(tokenizer, "encode_batch"):
            self.hf = cast("PreTrainedTokenizerBase", tokenizer)
        else:
            fast = cast("tokenizers.Tokenizer", tokenizer)
        if fast is not None:
            fast = copy.deepcopy(fast)  # we change its truncation/padding settings
            fast.no_padding()
            if max_length:
                fast.enable_truncation(max_length)
            else:
                fast.no_truncation()
        self.fast = fast
        self.pad_id = self._pad_id(tokenizer)
        self._limited: dict[int, TextEncoder] = {}

    @staticmethod
    def _pad_id(tokenizer: Tokenizer) -> int:
        pad = getattr(tokenizer, "pad_token_id", None)
        if isinstance(pad, int):
            return pad
        padding = getattr(tokenizer, "padding", None)
        if isinstance(padding, dict) and "pad_id" in padding:
            return int(padding["pad_id"])
        if hasattr(tokenizer, "token_to_id"):
            for token in ("<pad>", "[PAD]", "<PAD>"):
                found = tokenizer.token_to_id(token)
                if found is not None:
                    return int(found)
        return 0

    def limited(self, max_length: int | None) -> TextEncoder:
        """An encoder truncating at ``min(max_length, self.max_length)`` (cached)."""
        if max_length is None:
            return self
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise InvalidInputError(
                f"max_length must be a positive integer (tokens), got {max_length!r}"
            )
        if self.max_length is not None and max_length >= self.max_length:
            return self
        if max_length not in self._limited:
            self._limited[max_length] = TextEncoder(self.tokenizer, max_length)
        return self._limited[max_length]

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """Token ids per text (after :func:`normalize_text`), truncated to ``max_length``."""
        return self.encode_normalized([prepare_text(text) for text in texts])

    def encode_normalized(self, texts: Sequence[str]) -> list[Encoded]:
        """:meth:`encode` for texts that have already been through :func:`prepare_text`."""
        if self.fast is None and self.hf is None:
            raise InvalidInputError("this text model has no tokenizer; cannot encode text")
        try:
            if self.fast is not None:
                out = [
                    Encoded(list(e.ids), bool(e.overflowing))
                    for e in self.fast.encode_batch(list(texts))
                ]
            else:
                out = []  # a slow (pure-Python) Hugging Face tokenizer
                assert self.hf is not None
                for text in texts:
                    ids = self.hf(text, truncation=False, verbose=False)["input_ids"]
                    limited = self.hf(
                        text, truncation=True, max_length=self.max_length
                    )["input_ids"]
                    out.append(Encoded(list(limited), len(ids) > len(limited)))
        except Exception as exc:  # tokenizers raises plain Exception subclasses
            raise InvalidInputError(
                f"the tokenizer failed on this input (max_length={self.max_length}): {exc}. "
                "A max_length must leave room for the model's special tokens."
            ) from exc
        if self.max_length and any(len(e.ids) > self.max_length for e in out):
            # tokenizers gives up silently when max_length < its special tokens
            raise InvalidInputError(
                f"max_length={self.max_length} leaves no room for text after the model's "
                "special tokens; use a larger max_length"
            )
        return out


def prepare_text(text: str) -> str:
    """What a tokenizer sees of ``text``: checked (:func:`check_unicode`), then
    :func:`normalize_text`."""
    check_unicode(text)
    return normalize_text(text)


def check_texts(texts: object) -> tuple[list[str], bool]:
    """Validate input: a str or a list/tuple of str. Returns (texts, was_single)."""
    if isinstance(texts, str):
        check_unicode(texts)
        return [texts], True
    if isinstance(texts, (bytes, bytearray)):
        raise InputTypeError("score_text takes str, not bytes; decode it first: b.decode('utf-8')")
    if texts is None:
        raise InputTypeError("score_text got None; pass a str or a list of str")
    if isinstance(texts, np.ndarray):
        texts = texts.tolist()
    if not isinstance(texts, (list, tuple)):
        raise InputTypeError(
            f"score_text takes a str or a list of str, got {type(texts).__name__}. For audio, "
            "use clf.score(...)."
        )
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise at_index(InputTypeError(
                f"expected str, got {type(text).__name__} ({text!r:.40}); convert it with str() "
                "or drop it"), i)
        try:
            check_unicode(text)
        except InvalidInputError as exc:
            raise at_index(exc, i) from None
    return list(texts), False


def batches_by_length(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices sorted by length (longest first), cut into batches: padding stays small."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(encoded: Sequence[Encoded], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask)`` int64 arrays, right-padded to the longest."""
    width = max(1, max(len(e.ids) for e in encoded))
    ids = np.full((len(encoded), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(encoded), width), dtype=np.int64)
    for row, e in enumerate(encoded):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
    return ids, mask


def empty_row(spec: ModelSpec) -> np.ndarray:
    """Scores given to a blank text: 0 for every toxic label.

    Negative labels (``neutral``, ``NoViolation``...) get 1 with a sigmoid head, and share 1
    with a softmax head, so the row stays a valid distribution when the model has one.
    """
    labels = list(spec.labels)
    negatives = [i for i, label in enumerate(labels) if label in spec.negative_labels]
    row = np.zeros(len(labels), dtype=np.float32)
    if negatives:
        row[negatives] = 1.0 if spec.activation == "sigmoid" else 1.0 / len(negatives)
    return row


def encode_texts(
    texts: list[str], encoder: TextEncoder, max_length: int | None = None
) -> tuple[TextEncoder, list[Encoded], list[int]]:
    """Tokenise the non-blank texts: ``(encoder used, encodings per text, scored indices)``.

    Blank texts get an empty :class:`Encoded` and are left out of the scored indices.
    """
    encoder = encoder.limited(max_length)
    prepared = [prepare_text(text) for text in texts]  # checked and normalised once per text
    # blank: empty, whitespace or invisible characters only
    scored = [i for i, text in enumerate(prepared) if text.strip()]
    done = encoder.encode_normalized([prepared[i] for i in scored]) if scored else []
    encoded = [Encoded([], False)] * len(texts)
    for i, enc in zip(scored, done, strict=True):
        encoded[i] = enc
    return encoder, encoded, scored
