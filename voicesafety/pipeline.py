"""The scoring loops: prepared inputs → batches → backend → activation → results.

A :class:`ModelPart` is one loaded model (audio or text) on its backend. :func:`score_audio`
batches windows of equal length only and :func:`score_texts` batches texts sorted by length,
so an item's scores never depend on what else is in the call.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .arrays import to_numpy
from .audio import (
    AudioSource,
    Window,
    check_rate,
    check_window,
    describe,
    estimate_samples,
    windows,
)
from .backends import Backend
from .errors import BackendError, InvalidInputError, VoiceSafetyError, at_index
from .judge import JudgeEncoder, score_judged
from .policy import ThresholdPolicy
from .results import AudioResult, ErrorResult, ModelInfo, SpeechRegion, TextResult, WindowScore
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
from .vad import SpeechWindower, VadOptions

if TYPE_CHECKING:
    import torch
    from tqdm import tqdm


@dataclass
class ModelPart:
    """One model of a classifier (audio or text) on its backend.

    ``clf.audio`` / ``clf.text`` give it: ``spec`` (labels, activation, policy, input),
    ``backend`` (runtime and device), ``tokenizer`` and ``encoder`` (text models), ``info()``;
    for an LLM judge ``judge`` (its prompt encoder: ``part.judge.prompt`` is the prompt).
    """

    spec: ModelSpec
    backend: Backend
    tokenizer: Tokenizer | None = None
    encoder: TextEncoder | None = field(default=None, repr=False)
    judge: JudgeEncoder | None = field(default=None, repr=False)

    def info(self) -> ModelInfo:
        """Which model this is, on which backend and device (as results report it)."""
        return ModelInfo(
            name=self.spec.name, backend=self.backend.name, device=self.backend.device,
            trained=self.spec.trained, precision=self.backend.precision,
        )

    @property
    def policy(self) -> ThresholdPolicy:
        """The threshold policy this model's results are flagged under."""
        return self.spec.policy

    def with_policy(self, policy: ThresholdPolicy) -> ModelPart:
        """The same model and backend under another threshold policy."""
        return ModelPart(self.spec.with_policy(policy), self.backend, self.tokenizer,
                         self.encoder, self.judge)


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
    too_short: bool = False
    speech: list[SpeechRegion] | None = None
    speech_seconds: float | None = None


class _Failed(Exception):
    """Carries a model failure out of a batch (it concerns every input of the batch)."""

    def __init__(self, error: VoiceSafetyError) -> None:
        super().__init__(str(error))
        self.error = error


def progress_bar(**kwargs: object) -> tqdm:
    """A tqdm bar: the notebook widget when ipywidgets is installed, else a text bar.

    ``tqdm.auto`` without ipywidgets warns "IProgress not found" in notebooks; a text bar
    works everywhere, so that is the silent fallback.
    """
    import importlib.util

    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    return tqdm(**kwargs)


def _disabled(progress: bool | None, long_work: bool) -> bool | None:
    """tqdm's ``disable``: None lets tqdm hide the bar when stderr is not a terminal."""
    if progress is False or (progress is None and not long_work):
        return True
    return None if progress is None else False


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
    vad: VadOptions | None = None,
) -> list[AudioResult | ErrorResult]:
    """Score audio inputs; one :class:`AudioResult` (or :class:`ErrorResult`) per input.

    Windows are grouped by length and only windows of equal length share a batch, so a clip's
    scores never depend on the other inputs of the call. A clip shorter than the model's
    ``min_samples`` is not run through the model: it gets ``too_short=True``, no windows, the
    scores of "nothing here" and no flags.

    With ``vad``, only speech is scored: :class:`~voicesafety.vad.SpeechWindower` cuts each
    clip's speech regions into windows (times in the original clip), and the result carries
    ``speech`` and ``speech_seconds``. A speech window shorter than ``min_samples`` (only
    possible with a ``min_speech`` below the model's shortest input) is not scored.
    """
    spec, backend = part.spec, part.backend
    if errors not in ("raise", "return"):
        raise InvalidInputError(f"errors must be 'raise' or 'return', got {errors!r}")
    _check_batch_size(batch_size)
    check_rate(sample_rate)
    if window is None:
        window, hop = spec.window, spec.hop if hop is None else hop
    else:
        hop = window if hop is None else hop
    check_window(window, hop, spec.sample_rate, spec.min_samples)
    window, hop = float(window), float(hop)
    rate = spec.sample_rate
    labels = list(spec.labels)
    policy = policy or spec.policy
    single = len(items) == 1
    states = [_Item(i, describe(x)) for i, x in enumerate(items)]

    # The bar counts samples at the model rate (shown in seconds): integers, so it ends exactly
    # at its total. Each item adds its estimated length, never more.
    sizes = [estimate_samples(x, sample_rate, rate) for x in items]
    total = sum(sizes)
    bar = progress_bar(total=total, unit="s", unit_scale=1.0 / rate, desc="scoring audio",
                       disable=_disabled(progress, total > 600 * rate), leave=False,
                       bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}]")

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
        if not np.isfinite(logits).all():
            names = sorted({st.name for st, _, _ in live})
            error = BackendError(
                f"the model returned NaN or infinite scores for {', '.join(names)}: a broken "
                "model or export, or input it cannot handle. Check the audio (is it speech in "
                "[-1, 1]?) and try backend='torch'"
            )
            if errors == "raise":
                raise _Failed(error)  # names its inputs; not re-wrapped with one index below
            for st, _, _ in live:
                st.error = error
            return
        probs = activate(logits, spec.activation)
        for (st, k, _), row in zip(live, probs):
            st.rows[k] = row

    for state, item, size in zip(states, items, sizes):
        done = 0  # samples of this item shown on the bar
        try:
            source = AudioSource(item, rate, sample_rate)
            if vad is None:
                cuts = windows(source.blocks(), rate, window, hop)
            else:
                windower = SpeechWindower(vad, window, hop)
                cuts = _speech_windows(source.blocks(), windower, rate, state)
            for win in cuts:
                state.duration = max(state.duration, win.end)
                step = min(round(win.end * rate), size) - done
                if step > 0:
                    bar.update(step)
                    done += step
                if len(win.samples) < spec.min_samples:
                    if vad is None:
                        state.too_short = True  # only ever a whole clip: windows are longer
                    continue
                k = len(state.rows)
                state.rows.append(None)
                state.starts.append(win.start)
                state.ends.append(win.end)
                bucket = buckets.setdefault(len(win.samples), [])
                bucket.append((state, k, win.samples))
                pending += 1
                if len(bucket) >= batch_size:
                    flush(len(win.samples))
                elif pending > 4 * batch_size:  # bound memory: flush the fullest bucket
                    flush(max(buckets, key=lambda n: len(buckets[n])))
        except _Failed as failed:
            bar.close()
            raise failed.error from None
        except VoiceSafetyError as exc:
            if errors == "raise":
                bar.close()
                raise (exc if single else at_index(exc, state.index)) from exc
            state.error = exc
        if size > done:
            bar.update(size - done)
    try:
        for length in list(buckets):
            flush(length)
    except _Failed as failed:
        raise failed.error from None
    finally:
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
        if state.too_short or not any(r is not None for r in state.rows):
            matrix = empty_row(spec)[None, :]  # too short, or (VAD) no speech
            wins = []
        else:
            matrix = np.stack([r for r in state.rows if r is not None])
            wins = [
                WindowScore(start=s, end=e, scores=dict(zip(labels, map(float, row))))
                for s, e, row in zip(state.starts, state.ends, matrix)
            ]
        scores, flags, toxicity = aggregate(matrix.max(axis=0), labels, toxic, policy)
        results.append(AudioResult(
            source=state.name, duration=state.duration, scores=scores, windows=wins,
            flags=flags, flagged=bool(flags), toxicity=toxicity, policy=policy, model=info,
            too_short=state.too_short, speech=state.speech, speech_seconds=state.speech_seconds,
        ))
    return results


def _speech_windows(blocks: Iterable[np.ndarray], windower: SpeechWindower, rate: int,
                    state: _Item) -> Iterator[Window]:
    """The speech windows of one clip; records its duration and speech regions."""
    if rate != windower.model_rate:
        raise InvalidInputError(
            f"vad=True needs a model at {windower.model_rate} Hz (Silero VAD's rate); this "
            f"model takes {rate} Hz")
    for block in blocks:
        yield from windower.feed(block)
    yield from windower.finish()
    if windower.received == 0:
        raise InvalidInputError("audio is empty (0 samples)")
    state.duration = windower.received / rate
    state.speech = list(windower.regions)
    state.speech_seconds = windower.speech_samples / rate


def window_probabilities(part: ModelPart, samples: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per-label probabilities of each window (16 kHz samples), in order.

    Windows of equal length share a forward pass, as in :func:`score_audio`, so a window's
    scores do not depend on the others; for live streams.

    Raises:
        BackendError: the model returned NaN or infinite scores.
    """
    spec = part.spec
    out: list[np.ndarray | None] = [None] * len(samples)
    groups: dict[int, list[int]] = {}
    for i, x in enumerate(samples):
        groups.setdefault(len(x), []).append(i)
    for indices in groups.values():
        logits = _run_audio(part.backend, np.stack([samples[i] for i in indices]),
                            len(spec.labels))
        if not np.isfinite(logits).all():
            raise BackendError(
                f"{spec.name} returned NaN or infinite scores: a broken model or export, or "
                "input it cannot handle (is the stream speech in [-1, 1]?); try backend='torch'")
        for i, row in zip(indices, activate(logits, spec.activation)):
            out[i] = row
    return [row for row in out if row is not None]


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
    _check_batch_size(batch_size)
    if part.encoder is None:
        raise InvalidInputError(f"{part.spec.name} has no tokenizer; cannot encode text")
    encoder, encoded, scored = encode_texts(texts, part.encoder, max_length)
    plan = batches_by_length([len(encoded[i].ids) for i in scored], batch_size)
    plan = [[scored[j] for j in batch] for batch in plan]
    batches = progress_bar(iterable=plan, desc="scoring text", unit="batch",
                           disable=_disabled(progress, len(texts) > 2000), leave=False)
    return encoder, encoded, batches


def score_texts(
    texts: list[str],
    part: ModelPart,
    *,
    batch_size: int = 32,
    max_length: int | None = None,
    policy: ThresholdPolicy | None = None,
    progress: bool | None = None,
    explain: bool = False,
) -> list[TextResult]:
    """One :class:`TextResult` per text, in input order (``explain``: LLM judges only)."""
    if part.judge is not None:
        return _score_judged(texts, part, batch_size, max_length, policy, progress, explain)[0]
    if explain:
        raise InvalidInputError(
            f"explain=True needs an LLM judge (docs/judge.md); {part.spec.name} is a classifier "
            "and gives no reasons")
    encoder, encoded, batches = _text_plan(texts, part, batch_size, max_length, progress)
    spec = part.spec
    policy = policy or spec.policy
    labels = list(spec.labels)
    probs = np.tile(empty_row(spec), (len(texts), 1))
    for batch in batches:
        ids, mask = pad_batch([encoded[i] for i in batch], encoder.pad_id)
        logits = to_numpy(part.backend.run({"input_ids": ids, "attention_mask": mask}))
        if not np.isfinite(logits).all():
            raise BackendError(
                f"{spec.name} returned NaN or infinite scores (texts "
                f"{', '.join(f'#{i}' for i in batch)}): a broken model or export; try "
                "backend='torch'"
            )
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

    if part.judge is not None:
        probs = _score_judged(texts, part, batch_size, max_length, None, progress, False)[1]
        return torch.from_numpy(probs[:, None].astype(np.float32)).to(part.backend.device)
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
        if not bool(torch.isfinite(out).all()):
            raise BackendError(
                f"{spec.name} returned NaN or infinite scores: a broken model or export; try "
                "backend='torch'"
            )
    return out


def _score_judged(
    texts: list[str], part: ModelPart, batch_size: int, max_length: int | None,
    policy: ThresholdPolicy | None, progress: bool | None, explain: bool,
) -> tuple[list[TextResult], np.ndarray]:
    """:func:`voicesafety.judge.score_judged` for a judge part, under a progress bar (judges
    are slow: shown from 8 texts on)."""
    from .backends.causal_lm import CausalLMBackend

    _check_batch_size(batch_size)
    assert part.judge is not None and isinstance(part.backend, CausalLMBackend)
    bar = progress_bar(total=len(texts), desc="judging text", unit="text",
                       disable=_disabled(progress, len(texts) >= 8), leave=False)
    try:
        return score_judged(texts, part.spec, part.backend, part.judge, part.info(),
                            batch_size=batch_size, max_length=max_length, policy=policy,
                            explain_=explain, bar=bar)
    finally:
        bar.close()
