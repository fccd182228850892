"""The ParaDetox J metric for text detoxification (Logacheva et al., ACL 2022).

For each (source, output) pair:

- **STA** (style transfer accuracy): ``1 - toxicity(output)`` from any voicesafety text
  classifier (ParaDetox uses ``s-nlp/roberta_toxicity_classifier``). With
  ``sta_threshold=t``, STA is binary instead: 1 when toxicity < t, as in ParaDetox's scripts.
- **SIM** (content preservation): a callable ``sim(sources, outputs) -> [n]`` in [0, 1], e.g.
  :func:`cosine_similarity` over a sentence-embedding model.
- **FL** (fluency): a callable ``fl(outputs) -> [n]`` in [0, 1], e.g. :func:`acceptability`
  of a CoLA classifier loaded with :meth:`voicesafety.Classifier.from_pretrained`.
- **J** = STA · SIM · FL per sample; the reported J is its mean over samples (not the product
  of the means).

Plugging in the ParaDetox choices::

    import voicesafety as vs
    from sentence_transformers import SentenceTransformer   # pip install sentence-transformers
    from voicesafety.metrics import acceptability, cosine_similarity, j_score

    sta = vs.Classifier.from_pretrained("s-nlp/roberta_toxicity_classifier")
    cola = vs.Classifier.from_pretrained("cointegrated/roberta-large-cola-krishna2020")
    labse = SentenceTransformer("sentence-transformers/LaBSE")
    report = j_score(
        sources, outputs, sta=sta,
        sim=cosine_similarity(labse.encode),
        fl=acceptability(cola, label="LABEL_0"),  # index 0 = acceptable for this checkpoint
    )
    report.j, report.sta, report.sim, report.fl          # means; per sample: report.j_per_sample

(The original ParaDetox SIM is Wieting et al.'s paraphrase embedding model; any
``encode(list[str]) -> [n, d]`` function plugs in the same way.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Union, cast

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict

from .arrays import is_tensor, to_numpy
from .classifier import Classifier
from .errors import InputTypeError, InvalidInputError
from .text import check_texts

if TYPE_CHECKING:
    import torch

#: What a component function may return: numbers per sample (a list, an array or a tensor).
Values = Union[ArrayLike, "torch.Tensor"]  # noqa: UP007 - a runtime alias, py3.10

SimFn = Callable[[list[str], list[str]], Values]
FlFn = Callable[[list[str]], Values]
StaFn = Callable[[list[str]], Values]

__all__ = ["JScore", "acceptability", "cosine_similarity", "j_score"]


class JScore(BaseModel):
    """Result of :func:`j_score`: means (``sta``, ``sim``, ``fl``, ``j``) and per-sample lists.

    ``sim``/``fl`` (and their lists) are None when that component was left out
    (``sim=None``/``fl=None``); it then counts as 1 in J.
    """

    model_config = ConfigDict(frozen=True)

    n: int
    sta: float
    sim: float | None
    fl: float | None
    j: float
    sta_per_sample: list[float]
    sim_per_sample: list[float] | None
    fl_per_sample: list[float] | None
    j_per_sample: list[float]

    def to_dict(self) -> dict[str, object]:
        """Plain-Python version (JSON-compatible)."""
        return self.model_dump(mode="json")

    def summary(self) -> dict[str, float | None]:
        """The four means: ``{"STA": ..., "SIM": ..., "FL": ..., "J": ...}``."""
        return {"STA": self.sta, "SIM": self.sim, "FL": self.fl, "J": self.j}


def _as_texts(values: object, name: str) -> list[str]:
    if isinstance(values, str):
        raise InputTypeError(f"{name} must be a list of str, got one str; wrap it in a list")
    try:
        texts, _ = check_texts(values)
    except InputTypeError as exc:
        raise type(exc)(f"{name}: {exc}") from exc
    return texts


def _component(values: Values, n: int, name: str) -> np.ndarray:
    """Validate a per-sample component: ``n`` finite values in [0, 1]."""
    try:
        arr = np.asarray(
            to_numpy(values) if is_tensor(values) else values,
            dtype=np.float64,
        ).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} did not return numbers: {exc}") from exc
    if arr.shape[0] != n:
        raise InvalidInputError(f"{name} returned {arr.shape[0]} values for {n} samples")
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError(f"{name} returned NaN or infinite values")
    if arr.min() < -1e-6 or arr.max() > 1 + 1e-6:
        raise InvalidInputError(
            f"{name} returned values outside [0, 1] (min {arr.min():.4g}, max {arr.max():.4g}); "
            "rescale or clip them first (cosine_similarity clips negative cosines to 0)"
        )
    return np.clip(arr, 0.0, 1.0)


def j_score(
    sources: Sequence[str],
    outputs: Sequence[str],
    *,
    sta: Classifier | StaFn,
    sim: SimFn | None,
    fl: FlFn | None,
    sta_threshold: float | None = None,
    batch_size: int | None = None,
) -> JScore:
    """ParaDetox's J: the mean over samples of STA · SIM · FL.

    Args:
        sources: the original (toxic) texts.
        outputs: the detoxified texts, one per source.
        sta: a voicesafety :class:`~voicesafety.Classifier` with a text model (STA =
            1 - toxicity of each output), or a callable ``outputs -> STA values``.
        sim: ``sim(sources, outputs) -> [n]`` content similarity in [0, 1], or None to leave
            it out (counts as 1).
        fl: ``fl(outputs) -> [n]`` fluency in [0, 1], or None to leave it out.
        sta_threshold: if set, STA is 1 when toxicity < this, else 0 (ParaDetox's scripts
            binarise the classifier's decision); default: soft STA = 1 - toxicity.
        batch_size: batch size for scoring with ``sta`` when it is a classifier (default:
            the classifier's own default for its device).

    Raises:
        InvalidInputError: lengths differ, no samples, or a component returned values that
            are not finite numbers in [0, 1].
    """
    src = _as_texts(sources, "sources")
    out = _as_texts(outputs, "outputs")
    if len(src) != len(out):
        raise InvalidInputError(f"{len(src)} sources but {len(out)} outputs; pass one per source")
    if not out:
        raise InvalidInputError("j_score needs at least one (source, output) pair")
    n = len(out)
    if hasattr(sta, "score_text"):  # a Classifier, or anything scoring texts like one
        results = cast(Classifier, sta).score_text(out, batch_size=batch_size)
        toxicity = np.asarray([r.toxicity for r in results], dtype=np.float64)
        sta_values = (
            1.0 - toxicity if sta_threshold is None else (toxicity < sta_threshold).astype(float)
        )
    elif callable(sta):
        sta_values = _component(sta(out), n, "sta")
    else:
        raise InputTypeError(
            f"sta must be a voicesafety Classifier or a callable, got {type(sta).__name__}"
        )
    sta_values = _component(sta_values, n, "sta")
    sim_values = _component(sim(src, out), n, "sim") if sim is not None else None
    fl_values = _component(fl(out), n, "fl") if fl is not None else None
    j_values = sta_values.copy()
    for part in (sim_values, fl_values):
        if part is not None:
            j_values = j_values * part

    def listed(values: np.ndarray | None) -> list[float] | None:
        return None if values is None else [float(v) for v in values]

    def mean(values: np.ndarray | None) -> float | None:
        return None if values is None else float(values.mean())

    return JScore(
        n=n, sta=float(sta_values.mean()), sim=mean(sim_values), fl=mean(fl_values),
        j=float(j_values.mean()), sta_per_sample=listed(sta_values) or [],
        sim_per_sample=listed(sim_values), fl_per_sample=listed(fl_values),
        j_per_sample=listed(j_values) or [],
    )


def cosine_similarity(encode: Callable[[list[str]], Values]) -> SimFn:
    """A SIM function from a sentence encoder ``encode(list[str]) -> [n, d]``.

    Returns ``sim(sources, outputs)``: the cosine of each pair's embeddings, negative
    cosines clipped to 0. ``encode`` may return numpy arrays, torch tensors or lists.
    """

    def sim(sources: list[str], outputs: list[str]) -> list[float]:
        def as_array(x: Values) -> np.ndarray:
            return np.asarray(to_numpy(x) if is_tensor(x) else x, dtype=np.float64)

        a, b = as_array(encode(sources)), as_array(encode(outputs))
        if a.shape != b.shape or a.ndim != 2:
            raise InvalidInputError(
                f"encode must return [n, d] arrays; got {a.shape} and {b.shape}"
            )
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        cos = np.sum(a * b, axis=1) / np.maximum(norms, 1e-12)
        return [float(v) for v in np.clip(cos, 0.0, 1.0)]

    return sim


def acceptability(clf: Classifier, label: str, *, batch_size: int | None = None) -> FlFn:
    """An FL function from a text classifier: the probability of ``label`` per output.

    ``clf`` is a voicesafety :class:`~voicesafety.Classifier` with a text model, e.g. a CoLA
    acceptability classifier (``cointegrated/roberta-large-cola-krishna2020``, whose
    "acceptable" class is index 0, ``LABEL_0``).
    """
    labels = clf.text_labels
    if label not in labels:
        raise InvalidInputError(
            f"label {label!r} is not one of the classifier's labels {labels}"
        )

    def fl(outputs: list[str]) -> list[float]:
        return [float(r.scores[label]) for r in clf.score_text(outputs, batch_size=batch_size)]

    return fl
