"""Property tests: scores in range, batch independence, order kept."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import voicesafety as vs


@pytest.fixture(scope="module")
def clf(v1_dir):
    return vs.Classifier.from_pretrained(v1_dir, backend="torch", device="cpu")


clip_lengths = st.lists(st.integers(min_value=1, max_value=16_000 * 2), min_size=1, max_size=5)
settings_ = settings(max_examples=12, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


def make_clips(lengths, seed):
    rng = np.random.default_rng(seed)
    return [(0.3 * rng.standard_normal(n)).astype(np.float32) for n in lengths]


@settings_
@given(lengths=clip_lengths, seed=st.integers(0, 1000), batch=st.integers(1, 8))
def test_scores_in_range_and_order_kept(clf, lengths, seed, batch):
    clips = make_clips(lengths, seed)
    results = clf.score(clips, batch_size=batch)
    assert len(results) == len(clips)
    for clip, result in zip(clips, results):
        assert result.duration == pytest.approx(len(clip) / 16_000)
        assert all(0.0 <= v <= 1.0 for v in result.scores.values())
        for w in result.windows:
            assert all(0.0 <= v <= 1.0 for v in w.scores.values())


@settings_
@given(others=clip_lengths, seed=st.integers(0, 1000), batch=st.integers(1, 8),
       position=st.integers(0, 5))
def test_a_clip_scores_the_same_whatever_else_is_in_the_call(clf, others, seed, batch, position):
    target = make_clips([16_000 + 123], seed + 1)[0]
    alone = clf.score(target)
    # The same length as the target among the others makes them share batches.
    crowd = make_clips(others, seed) + make_clips([len(target)] * 2, seed + 2)
    position = min(position, len(crowd))
    crowd.insert(position, target)
    together = clf.score(crowd, batch_size=batch)[position]
    np.testing.assert_allclose(list(together.scores.values()), list(alone.scores.values()),
                               atol=1e-5)
