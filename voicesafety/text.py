"""Text input: tokenisation with the checkpoint's tokenizer, length-sorted batching, scoring."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputTypeError, InvalidInputError, at_index


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

    def __init__(self, tokenizer: Any, max_length: int | None) -> None:
        self.max_length = max_length
        backend = getattr(tokenizer, "backend_tokenizer", None)
        self.hf = tokenizer if backend is not None or not hasattr(tokenizer, "encode_batch") else None
        fast = backend if backend is not None else (tokenizer if self.hf is None else None)
        if fast is not None:
            import copy

            fast = copy.deepcopy(fast)  # we change its truncation/padding settings
            fast.no_padding()
            if max_length:
                fast.enable_truncation(max_length)
            else:
                fast.no_truncation()
        self.fast = fast
        self.pad_id = self._pad_id(tokenizer)

    @staticmethod
    def _pad_id(tokenizer: Any) -> int:
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

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """Token ids per text, truncated to ``max_length``."""
        if self.fast is not None:
            return [Encoded(list(e.ids), bool(e.overflowing)) for e in self.fast.encode_batch(list(texts))]
        assert self.hf is not None  # a slow (pure-Python) Hugging Face tokenizer
        out = []
        for text in texts:
            ids = self.hf(text, truncation=False, verbose=False)["input_ids"]
            limited = self.hf(text, truncation=True, max_length=self.max_length)["input_ids"]
            out.append(Encoded(list(limited), len(ids) > len(limited)))
        return out


def check_texts(texts: Any) -> tuple[list[str], bool]:
    """Validate input: a str or a list/tuple of str. Returns (texts, was_single)."""
    if isinstance(texts, str):
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


def score_texts(
    texts: list[str],
    spec: Any,
    backend: Any,
    encoder: TextEncoder,
    model_info: Any,
    *,
    batch_size: int = 32,
    policy: Any = None,
    progress: bool | None = None,
) -> list[Any]:
    """One :class:`TextResult` per text, in input order."""
    from tqdm.auto import tqdm

    from .backends import to_numpy
    from .results import TextResult
    from .scoring import activate, aggregate

    if not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(f"batch_size must be a positive integer, got {batch_size!r}")
    policy = policy or spec.policy
    labels = list(spec.labels)
    encoded = encoder.encode(texts)
    probs = np.zeros((len(texts), len(labels)), dtype=np.float32)
    plan = batches_by_length([len(e.ids) for e in encoded], batch_size)
    disable = (not progress) if progress is not None else (None if len(texts) > 2000 else True)
    for batch in tqdm(plan, desc="scoring text", unit="batch", disable=disable, leave=False):
        ids, mask = pad_batch([encoded[i] for i in batch], encoder.pad_id)
        logits = to_numpy(backend.run({"input_ids": ids, "attention_mask": mask}))
        probs[batch] = activate(logits, spec.activation)
    results = []
    for text, enc, row in zip(texts, encoded, probs):
        scores, flags, toxicity = aggregate(row, labels, spec.toxic_labels, policy)
        results.append(TextResult(
            text=text, scores=scores, flags=flags, flagged=bool(flags), toxicity=toxicity,
            truncated=enc.truncated, num_tokens=len(enc.ids), policy=policy, model=model_info,
        ))
    return results
