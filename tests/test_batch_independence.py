"""An item's scores never depend on what else is in the call, on every backend (int8 included).

Property tests on the embedded model: a text or clip scored alone equals the same item scored
within a batch of others, within ``TOL``. Why 1e-6: on the fp32 backends the only difference is
the shape of the batch (text padding to the longest item; BLAS blocking), measured at most
1.2e-7 on scores in [0, 1] (one float32 ulp at 1.0); 1e-6 leaves room for other CPUs' kernels
while being ~3,000× tighter than the int8 batch effect it guards against (up to 3.5e-3 on the
embedded text model, 0.032 reported on others). ``onnx-int8`` runs each item alone (dynamic
activation scales otherwise span the batch) and is held to the same bound; it is bit-identical.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import voicesafety as vs

TOL = 1e-6
BACKENDS = ("torch", "torchscript", "onnx", "onnx-int8")
WORDS = ["you", "are", "trash", "good", "game", "gg", "noob", "shut", "up", "nice", "shot",
         "idiot", "loser", "hello", "friend", "kill", "boss", "thanks", "lets", "play", "!"]

SETTINGS = settings(max_examples=8, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory) -> dict[str, vs.Classifier]:
    """The embedded model on every backend (conversions cached in a private folder)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOICESAFETY_CACHE", str(tmp_path_factory.mktemp("vs-cache")))
        return {b: vs.Classifier.from_pretrained(backend=b, device="cpu") for b in BACKENDS}


def _max_diff(a: dict[str, float], b: dict[str, float]) -> float:
    assert a.keys() == b.keys()
    return max(abs(a[k] - b[k]) for k in a)


texts = st.lists(
    st.one_of(st.lists(st.sampled_from(WORDS), min_size=1, max_size=25).map(" ".join),
              st.text(min_size=0, max_size=30)),
    min_size=2, max_size=7)


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(batch=texts, batch_size=st.integers(1, 8))
def test_text_scores_do_not_depend_on_the_batch(classifiers, backend, batch, batch_size):
    clf = classifiers[backend]
    together = clf.score_text(batch, batch_size=batch_size)
    for text, result in zip(batch, together, strict=True):
        alone = clf.score_text(text)
        assert _max_diff(alone.scores, result.scores) <= TOL
        assert alone.flags == result.flags


def _clip(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(16000 * seconds)) * 0.1).astype(np.float32)


# durations from a small set, so that windows of equal length really share forward passes
clips = st.lists(st.tuples(st.sampled_from([0.6, 1.0, 1.0, 1.7, 2.5]), st.integers(0, 10**6)),
                 min_size=2, max_size=5)


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(spec=clips, batch_size=st.integers(2, 8))
def test_audio_scores_do_not_depend_on_the_batch(classifiers, backend, spec, batch_size):
    clf = classifiers[backend]
    audio = [_clip(seconds, seed) for seconds, seed in spec]
    together = clf.score(audio, window=1.0, batch_size=batch_size)
    for clip, result in zip(audio, together, strict=True):
        alone = clf.score(clip, window=1.0, batch_size=1)
        assert len(alone.windows) == len(result.windows)
        for a, b in zip(alone.windows, result.windows, strict=True):
            assert _max_diff(a.scores, b.scores) <= TOL


def test_int8_would_depend_on_the_batch_without_running_items_alone(classifiers):
    """The guard above can fail: the same int8 file run as one batch moves a text's scores."""
    from voicesafety.backends.onnx import OnnxBackend, OnnxInt8Backend

    part = classifiers["onnx-int8"].text
    assert isinstance(part.backend, OnnxInt8Backend)
    encoded = part.encoder.encode(["you are trash", "shut up noob go away loser you idiot",
                                   "gg", "hello there friend thanks for the help"])
    from voicesafety.text import pad_batch

    ids, mask = pad_batch(encoded, part.encoder.pad_id)
    whole = OnnxBackend(part.backend.path, "cpu").run({"input_ids": ids, "attention_mask": mask})
    alone = OnnxBackend(part.backend.path, "cpu").run(
        {"input_ids": ids[:1, : len(encoded[0].ids)],
         "attention_mask": mask[:1, : len(encoded[0].ids)]})
    assert float(np.abs(whole[0] - alone[0]).max()) > 1e-4  # what per-item running removes
    fixed = part.backend.run({"input_ids": ids, "attention_mask": mask})
    assert np.array_equal(fixed[0], alone[0])
