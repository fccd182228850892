"""Worker processes: a classifier used in the parent keeps working in ``fork``-started children
(torch's OpenMP pool does not survive fork; voicesafety runs torch on one thread there), and
one loaded in ``spawn``-started children works too. Every wait has a timeout, so a regression
fails instead of hanging CI.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys

import numpy as np
import pytest

import voicesafety as vs

TIMEOUT_S = 240
BACKENDS = ("torch", "torchscript", "onnx")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork needs a POSIX system")


def _clip(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(16000 * 2) * 0.1).astype(np.float32)


_parent: dict[str, vs.Classifier] = {}


def _score_in_forked_child(job: tuple[str, int]) -> tuple[float, int]:
    import torch

    backend, seed = job
    return _parent[backend].score(_clip(seed)).toxicity, torch.get_num_threads()


def _score_in_spawned_child(job: tuple[str, str, int]) -> float:
    backend, cache, seed = job
    os.environ["VOICESAFETY_CACHE"] = cache
    clf = vs.Classifier.from_pretrained(backend=backend, device="cpu", threads=2)
    return clf.score(_clip(seed)).toxicity


def _run(ctx: mp.context.BaseContext, fn, jobs: list) -> list:
    pool = ctx.Pool(2)
    try:
        return pool.map_async(fn, jobs).get(timeout=TIMEOUT_S)
    except mp.TimeoutError:
        pytest.fail(f"{ctx.get_start_method()} workers hung for {TIMEOUT_S} s")
    finally:
        pool.terminate()
        pool.join()


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("vs-cache"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_fork_workers_do_not_hang(backend, cache, monkeypatch):
    monkeypatch.setenv("VOICESAFETY_CACHE", cache)
    # two threads, and used once in the parent: the OpenMP pool that fork breaks is live
    clf = vs.Classifier.from_pretrained(backend=backend, device="cpu", threads=2)
    want = [clf.score(_clip(seed)).toxicity for seed in (0, 1)]
    _parent[backend] = clf
    try:
        got = _run(mp.get_context("fork"), _score_in_forked_child,
                   [(backend, 0), (backend, 1)])
    finally:
        del _parent[backend]
    assert [g for g, _ in got] == pytest.approx(want, abs=1e-6)
    if backend != "onnx":
        assert all(threads == 1 for _, threads in got)  # the guard's doing


@pytest.mark.parametrize("backend", BACKENDS)
def test_spawn_workers_load_and_score(backend, cache, monkeypatch):
    monkeypatch.setenv("VOICESAFETY_CACHE", cache)
    want = vs.Classifier.from_pretrained(backend=backend, device="cpu").score(_clip(2)).toxicity
    got = _run(mp.get_context("spawn"), _score_in_spawned_child, [(backend, cache, 2)])
    assert got == pytest.approx([want], abs=1e-6)
