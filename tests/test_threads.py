"""One thread setting (``threads=`` / ``$VOICESAFETY_THREADS``) for torch, TorchScript and ONNX,
a default that does not oversubscribe a busy machine, and torch's global count restored."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import voicesafety as vs
from voicesafety.backends import threads as th


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICESAFETY_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(th.ENV, raising=False)


def _clip() -> np.ndarray:
    return (np.random.default_rng(0).standard_normal(16000) * 0.1).astype(np.float32)


def _threads_of(clf: vs.Classifier) -> int:
    backend = clf.audio.backend
    if hasattr(backend, "session"):
        return int(backend.session.get_session_options().intra_op_num_threads)
    return int(backend.threads)


@pytest.mark.parametrize("backend", ["torch", "torchscript", "onnx", "onnx-int8"])
def test_threads_argument_and_env_reach_every_backend(v1_dir, cache, monkeypatch, backend):
    clf = vs.Classifier.from_pretrained(v1_dir, backend=backend, device="cpu", threads=1)
    assert _threads_of(clf) == 1
    monkeypatch.setenv(th.ENV, "2")
    assert _threads_of(vs.Classifier.from_pretrained(v1_dir, backend=backend,
                                                     device="cpu")) == 2
    assert _threads_of(vs.Classifier.from_pretrained(v1_dir, backend=backend, device="cpu",
                                                     threads=1)) == 1  # the argument wins


@pytest.mark.parametrize("backend", ["torch", "torchscript"])
def test_torch_runs_on_its_threads_and_restores_the_callers(v1_dir, cache, backend):
    clf = vs.Classifier.from_pretrained(v1_dir, backend=backend, device="cpu", threads=1)
    seen: list[int] = []
    if backend == "torch":
        clf.audio.backend.module.register_forward_pre_hook(
            lambda *_: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with th.torch_threads(1) as n:
            assert n == 1 and torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        clf.score(_clip())
        assert torch.get_num_threads() == 2  # the caller's setting, untouched
    finally:
        torch.set_num_threads(before)
    if backend == "torch":
        assert seen == [1]


@pytest.mark.parametrize("bad", [0, -1, True, "2", 1.5])
def test_bad_threads_argument_is_a_clear_error(v1_dir, bad):
    with pytest.raises(vs.InvalidInputError, match="threads must be a positive integer"):
        vs.Classifier.from_pretrained(v1_dir, device="cpu", threads=bad)


def test_bad_env_value_is_a_clear_error(v1_dir, monkeypatch):
    monkeypatch.setenv(th.ENV, "many")
    with pytest.raises(vs.InvalidInputError, match="VOICESAFETY_THREADS='many'"):
        vs.Classifier.from_pretrained(v1_dir, device="cpu")


@pytest.mark.parametrize("load,cpus,want", [(0.0, 8, 8), (3.2, 8, 5), (7.9, 8, 1),
                                            (40.0, 8, 1), (1.6, 2, 1), (0.3, 2, 2)])
def test_default_leaves_busy_cpus_alone(monkeypatch, load, cpus, want):
    monkeypatch.setattr(th.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(th.os, "sched_getaffinity", lambda pid: set(range(cpus)))
    assert th.default_threads() == want
    assert th.resolve_threads(None) == want
