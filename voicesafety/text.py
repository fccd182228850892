"""Text input: tokenisation with the checkpoint's tokenizer, length-sorted batching, scoring.

The path is: validate → tokenise (truncating at the model's limit, or a smaller user
``max_length``, and reporting it per text) → sort by token count into batches → backend →
sigmoid/softmax → policy. Empty or whitespace-only texts are not run through the model: they
get a defined "nothing here" result (see :func:`empty_row`).
"""

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
        self.tokenizer = tokenizer
        self.max_length = max_length
        backend = getattr(tokenizer, "backend_tokenizer", None)
        self.hf = (
            tokenizer if backend is not None or not hasattr(tokenizer, "encode_batch") else None
        )
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
        self._limited: dict[int, TextEncoder] = {}

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
        """Token ids per text, truncated to ``max_length``."""
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


def is_blank(text: str) -> bool:
    """Whether a text has nothing to score (empty or whitespace only)."""
    return not text.strip()


def empty_row(spec: Any) -> np.ndarray:
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
    scored = [i for i, text in enumerate(texts) if not is_blank(text)]
    done = encoder.encode([texts[i] for i in scored]) if scored else []
    encoded = [Encoded([], False)] * len(texts)
    for i, enc in zip(scored, done, strict=True):
        encoded[i] = enc
    return encoder, encoded, scored


def score_texts(
    texts: list[str],
    spec: Any,
    backend: Any,
    encoder: TextEncoder,
    model_info: Any,
    *,
    batch_size: int = 32,
    max_length: int | None = None,
    policy: Any = None,
    progress: bool | None = None,
    as_tensor: bool = False,
) -> Any:
    """One :class:`TextResult` per text, in input order (or a ``[n, labels]`` tensor).

    With ``as_tensor=True`` the probabilities are computed and returned in torch on the
    backend's device (no numpy round trip for the torch backend), without gradients.
    """
    from tqdm.auto import tqdm

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(f"batch_size must be a positive integer, got {batch_size!r}")
    encoder, encoded, scored = encode_texts(texts, encoder, max_length)
    plan = batches_by_length([len(encoded[i].ids) for i in scored], batch_size)
    plan = [[scored[j] for j in batch] for batch in plan]
    disable = (not progress) if progress is not None else (None if len(texts) > 2000 else True)
    batches = tqdm(plan, desc="scoring text", unit="batch", disable=disable, leave=False)
    if as_tensor:
        return _score_tensor(texts, spec, backend, encoder, encoded, batches)

    from .arrays import to_numpy
    from .results import TextResult
    from .scoring import activate, aggregate

    policy = policy or spec.policy
    labels = list(spec.labels)
    probs = np.tile(empty_row(spec), (len(texts), 1))
    for batch in batches:
        ids, mask = pad_batch([encoded[i] for i in batch], encoder.pad_id)
        logits = to_numpy(backend.run({"input_ids": ids, "attention_mask": mask}))
        probs[batch] = activate(logits, spec.activation)
    results = []
    for text, enc, row in zip(texts, encoded, probs, strict=True):
        scores, flags, toxicity = aggregate(row, labels, spec.toxic_labels, policy)
        results.append(TextResult(
            text=text, scores=scores, flags=flags, flagged=bool(flags), toxicity=toxicity,
            truncated=enc.truncated, num_tokens=len(enc.ids), policy=policy, model=model_info,
        ))
    return results


def _score_tensor(
    texts: list[str], spec: Any, backend: Any, encoder: TextEncoder,
    encoded: list[Encoded], batches: Any,
) -> Any:
    import torch

    from .scoring import activate_torch

    device = torch.device(backend.device)
    with torch.no_grad():
        out = torch.from_numpy(np.tile(empty_row(spec), (len(texts), 1))).to(device)
        for batch in batches:
            ids, mask = pad_batch([encoded[i] for i in batch], encoder.pad_id)
            logits = backend.run({"input_ids": ids, "attention_mask": mask})
            if isinstance(logits, np.ndarray):  # runtimes that answer in numpy (ONNX)
                logits = torch.from_numpy(logits)
            rows = torch.as_tensor(batch, dtype=torch.long, device=device)
            # Written into a normal tensor: no inference-mode tensor escapes to the caller.
            out.index_copy_(0, rows, activate_torch(logits.to(device).float(), spec.activation))
    return out
