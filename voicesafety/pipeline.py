"""The scoring loops: prepared inputs → batches → backend → activation → results.

A :class:`ModelPart` is one loaded model (audio or text) on its backend. :func:`score_audio`
batches windows of equal length only and :func:`score_texts` batches texts sorted by length,
so an item's scores never depend on what else is in the call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .arrays import to_numpy
from .audio import AudioSource, describe, estimate_seconds, windows
from .backends import Backend
from .errors import BackendError, InvalidInputError, VoiceSafetyError, at_index
from .policy import ThresholdPolicy
from .results import AudioResult, ErrorResult, ModelInfo, TextResult, WindowScore
from .scoring import activate, activate_torch, aggregate
from .spec import ModelSpec
from .text import (
    Encoded,
    TextEncoder,
    Tokenizer,
    batches_by_length,
    empty_row,
    encode_texts,
    pad_batch,
)

if TYPE_CHECKING:
    import torch


@dataclass
class ModelPart:
    """One model of a classifier (audio or text) on its backend.

    ``clf.audio`` / ``clf.text`` give it: ``spec`` (labels, activation, policy, input),
    ``backend`` (runtime and device), ``tokenizer`` and ``encoder`` (text models), ``info()``.
    """

    spec: ModelSpec
    backend: Backend
    tokenizer: Tokenizer | None = None
    encoder: TextEncoder | None = field(default=None, repr=False)

    def info(self) -> ModelInfo:
        """Which model this is, on which backend and device (as results report it)."""
        return ModelInfo(
            name=self.spec.name, backend=self.backend.name, device=self.backend.device,
            trained=self.spec.trained,
        )

    @property
    def policy(self) -> ThresholdPolicy:
        """The threshold policy this model's results are flagged under."""
        return self.spec.policy

    def with_policy(self, policy: ThresholdPolicy) -> ModelPart:
        """The same model and backend under another threshold policy."""
        return ModelPart(self.spec.with_policy(policy), self.backend, self.tokenizer,
                         self.encoder)


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(f"batch_size must be a positive integer, got {batch_size!r}")


# --------------------------------------------------------------------------- audio


@dataclass
class _Item:
    index: int
    name: str
    duration: float = 0.0
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    rows: list[np.ndarray | None] = field(default_factory=list)
    error: Exception | None = None


def score_audio(
    items: Sequence[object],
    part: ModelPart,
    *,
    sample_rate: int | None = None,
    window: float | None = None,
    hop: float | None = None,
    batch_size: int = 8,
    errors: str = "raise",
    progress: bool | None = None,
    policy: ThresholdPolicy | None = None,
) -> list[AudioResult | ErrorResult]:
    """Score audio inputs; one :class:`AudioResult` (or :class:`ErrorResult`) per input.

    Windows are grouped by length and only windows of equal length share a batch, so a clip's
    scores never depend on the other inputs of the call.
    """
    # Plain tqdm: text bars work in terminals and notebooks alike, with no ipywidgets needed.
    from tqdm import tqdm

    spec, backend = part.spec, part.backend
    if errors not in ("raise", "return"):
        raise InvalidInputError(f"errors must be 'raise' or 'return', got {errors!r}")
    _check_batch_size(batch_size)
    if window is None:
        window, hop = spec.window, spec.hop if hop is None else float(hop)
    else:
        window = float(window)
        hop = window if hop is None else float(hop)
    if not window > 0 or not hop > 0:
        raise InvalidInputError(f"window and hop must be positive seconds, got {window}, {hop}")
    if hop > window:
        raise InvalidInputError(
            f"hop ({hop} s) is longer than window ({window} s): audio between windows would be "
            "skipped. Use hop <= window."
        )
    rate = spec.sample_rate
    labels = list(spec.labels)
    policy = policy or spec.policy
    single = len(items) == 1
    states = [_Item(i, describe(x)) for i, x in enumerate(items)]

    total = sum(estimate_seconds(x, sample_rate) for x in items)
    # progress=None: a bar only for long work (> 10 min of audio), and only on a terminal.
    disable = (not progress) if progress is not None else (None if total > 600 else True)
    bar = tqdm(total=round(total, 1), unit="s", unit_scale=True, desc="scoring audio",
               disable=disable, leave=False)

    buckets: dict[int, list[tuple[_Item, int, np.ndarray]]] = {}
    pending = 0

    def flush(length: int) -> None:
        nonlocal pending
        batch = buckets.pop(length, [])
        if not batch:
            return
        pending -= len(batch)
        live = [(st, k, x) for st, k, x in batch if st.error is None]
        if not live:
            return
        logits = _run_audio(backend, np.stack([x for _, _, x in live]), len(labels))
        probs = activate(logits, spec.activation)
        for (st, k, _), row in zip(live, probs):
            st.rows[k] = row

    for state, item in zip(states, items):
        try:
            source = AudioSource(item, rate, sample_rate)
            for win in windows(source.blocks(), rate, window, hop, spec.min_samples):
                k = len(state.rows)
                state.rows.append(None)
                state.starts.append(win.start)
                state.ends.append(win.end)
                bar.update(max(0.0, win.end - state.duration))
                state.duration = win.end
                bucket = buckets.setdefault(len(win.samples), [])
                bucket.append((state, k, win.samples))
                pending += 1
                if len(bucket) >= batch_size:
                    flush(len(win.samples))
                elif pending > 4 * batch_size:  # bound memory: flush the fullest bucket
                    flush(max(buckets, key=lambda n: len(buckets[n])))
        except VoiceSafetyError as exc:
            if errors == "raise":
                bar.close()
                raise (exc if single else at_index(exc, state.index)) from exc
            state.error = exc
    for length in list(buckets):
        flush(length)
    bar.close()

    results: list[AudioResult | ErrorResult] = []
    toxic = spec.toxic_labels
    info = part.info()
    for state in states:
        if state.error is not None:
            results.append(ErrorResult(index=state.index, source=state.name,
                                       error=type(state.error).__name__,
                                       message=str(state.error)))
            continue
        matrix = np.stack([r for r in state.rows if r is not None])
        wins = [
            WindowScore(start=s, end=e, scores=dict(zip(labels, map(float, row))))
            for s, e, row in zip(state.starts, state.ends, matrix)
        ]
        scores, flags, toxicity = aggregate(matrix.max(axis=0), labels, toxic, policy)
        results.append(AudioResult(
            source=state.name, duration=state.duration, scores=scores, windows=wins,
            flags=flags, flagged=bool(flags), toxicity=toxicity, policy=policy, model=info,
        ))
    return results


def _run_audio(backend: Backend, batch: np.ndarray, n_labels: int) -> np.ndarray:
    logits = to_numpy(backend.run({"input_values": batch}))
    if logits.ndim != 2 or logits.shape[1] != n_labels:
        raise BackendError(
            f"the model returned logits of shape {tuple(logits.shape)} but has {n_labels} labels"
        )
    return logits


# --------------------------------------------------------------------------- text


def _text_plan(
    texts: list[str], part: ModelPart, batch_size: int, max_length: int | None,
    progress: bool | None,
) -> tuple[TextEncoder, list[Encoded], Iterable[list[int]]]:
    """Tokenise and plan length-sorted batches (under a progress bar for long work)."""
    from tqdm.auto import tqdm

    _check_batch_size(batch_size)
    if part.encoder is None:
        raise InvalidInputError(f"{part.spec.name} has no tokenizer; cannot encode text")
    encoder, encoded, scored = encode_texts(texts, part.encoder, max_length)
    plan = batches_by_length([len(encoded[i].ids) for i in scored], batch_size)
    plan = [[scored[j] for j in batch] for batch in plan]
    disable = (not progress) if progress is not None else (None if len(texts) > 2000 else True)
    batches = tqdm(plan, desc="scoring text", unit="batch", disable=disable, leave=False)
    return encoder, encoded, batches


def score_texts(
    texts: list[str],
    part: ModelPart,
    *,
    batch_size: int = 32,
    max_length: int | None = None,
    policy: ThresholdPolicy | None = None,
    progress: bool | None = None,
) -> list[TextResult]:
    """One :class:`TextResult` per text, in input order."""
    encoder, encoded, batches = _text_plan(texts, part, batch_size, max_length, progress)
    spec = part.spec
    policy = policy or spec.policy
    labels = list(spec.labels)
    probs = np.tile(empty_row(spec), (len(texts), 1))
    for batch in batches:
        ids, mask = pad_batch([encoded[i] for i in batch], encoder.pad_id)
        logits = to_numpy(part.backend.run({"input_ids": ids, "attention_mask": mask}))
        probs[batch] = activate(logits, spec.activation)
    results = []
    info = part.info()
    for text, enc, row in zip(texts, encoded, probs, strict=True):
        scores, flags, toxicity = aggregate(row, labels, spec.toxic_labels, policy)
        results.append(TextResult(
            text=text, scores=scores, flags=flags, flagged=bool(flags), toxicity=toxicity,
            truncated=enc.truncated, num_tokens=len(enc.ids), policy=policy, model=info,
        ))
    return results


def text_probabilities(
    texts: list[str],
    part: ModelPart,
    *,
    batch_size: int = 32,
    max_length: int | None = None,
    progress: bool | None = None,
) -> torch.Tensor:
    """Probabilities ``[n, labels]`` as a tensor on the backend's device, without gradients.

    Computed in torch (no numpy round trip for the torch backend).
    """
    import torch

    encoder, encoded, batches = _text_plan(texts, part, batch_size, max_length, progress)
    spec, backend = part.spec, part.backend
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
