"""Files are trusted only when the user says so: content hashes on exported folders and cache
entries, manifest names that cannot leave their folder, TorchScript only with trust_code."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import voicesafety as vs
from voicesafety import export as ex
from voicesafety.export.cache import record_of
from voicesafety.formats.exported import sha256_file


@pytest.fixture(scope="module")
def exported(tmp_path_factory, v1_dir) -> dict[str, Path]:
    """The tiny v1 WavLM exported (by the library) to onnx and torchscript folders."""
    root = tmp_path_factory.mktemp("trust")
    out = {}
    for backend in ("onnx", "torchscript"):
        ex.export(v1_dir, backend, root / backend, log=None)
        out[backend] = root / backend
    return out


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("VOICESAFETY_CACHE", str(folder))
    return folder


def _clip(seconds: float = 1.5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(16000 * seconds)) * 0.1).astype(np.float32)


def _tamper_onnx(path: Path) -> None:
    """Rewrite an ONNX file with one weight changed: still a valid model, other scores."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    init = max(model.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    weights = numpy_helper.to_array(init).copy()
    weights *= -3.0
    init.CopyFrom(numpy_helper.from_array(weights, init.name))
    onnx.save(model, str(path))


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def test_export_records_the_sha256_of_every_file(exported):
    folder = exported["onnx"]
    manifest = json.loads((folder / "voicesafety.json").read_text())
    files = {p.name for p in folder.iterdir() if p.name != "voicesafety.json"}
    assert set(manifest["sha256"]) == files >= {"model.onnx", "policy.json"}
    for name, digest in manifest["sha256"].items():
        assert sha256_file(folder / name) == digest
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a hashed folder loads without a warning
        clf = vs.Classifier.from_pretrained(folder, device="cpu")
    assert clf.audio.backend.name == "onnx"


def test_swapped_model_file_fails_loudly_with_the_fix(exported, tmp_path):
    folder = _copy(exported["onnx"], tmp_path)
    _tamper_onnx(folder / "model.onnx")
    with pytest.raises(vs.IntegrityError, match="does not match the sha256") as info:
        vs.Classifier.from_pretrained(folder, device="cpu")
    assert "voicesafety export CHECKPOINT --to onnx --out DIR" in str(info.value)
    # the lone file, with the manifest beside it, is checked too
    with pytest.raises(vs.IntegrityError):
        vs.Classifier.from_pretrained(folder / "model.onnx", device="cpu")


def test_truncated_model_file_fails_loudly(exported, tmp_path):
    folder = _copy(exported["onnx"], tmp_path)
    data = (folder / "model.onnx").read_bytes()
    (folder / "model.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(vs.IntegrityError, match="truncated"):
        vs.Classifier.from_pretrained(folder, device="cpu")


def test_changed_policy_file_fails_loudly(exported, tmp_path):
    folder = _copy(exported["onnx"], tmp_path)
    (folder / "policy.json").write_text(json.dumps({"default": 0.99}))
    with pytest.raises(vs.IntegrityError, match="policy.json"):
        vs.Classifier.from_pretrained(folder, device="cpu")


@pytest.mark.parametrize("name", ["../outside.onnx", "/etc/hostname", "sub/model.onnx", ".."])
def test_manifest_file_cannot_leave_its_folder(exported, tmp_path, name):
    folder = _copy(exported["onnx"], tmp_path / "inner")
    shutil.copy(folder / "model.onnx", tmp_path / "outside.onnx")
    manifest = json.loads((folder / "voicesafety.json").read_text())
    manifest["file"] = name
    (folder / "voicesafety.json").write_text(json.dumps(manifest))
    with pytest.raises(vs.IntegrityError, match="not a plain file name inside"):
        vs.Classifier.from_pretrained(folder, device="cpu")


def test_symlink_leading_out_of_the_folder_is_refused(exported, tmp_path):
    folder = _copy(exported["onnx"], tmp_path / "inner")
    outside = tmp_path / "elsewhere.onnx"
    shutil.move(str(folder / "model.onnx"), outside)
    os.symlink(outside, folder / "model.onnx")
    with pytest.raises(vs.IntegrityError, match="symlinks"):
        vs.Classifier.from_pretrained(folder, device="cpu")


def test_hashed_name_cannot_leave_its_folder(exported, tmp_path):
    folder = _copy(exported["onnx"], tmp_path / "inner")
    (tmp_path / "secret").write_text("x")
    manifest = json.loads((folder / "voicesafety.json").read_text())
    manifest["sha256"]["../secret"] = "0" * 64
    (folder / "voicesafety.json").write_text(json.dumps(manifest))
    with pytest.raises(vs.IntegrityError, match="'../secret'"):
        vs.Classifier.from_pretrained(folder, device="cpu")


# ------------------------------------------------------------------ TorchScript needs trust


def test_torchscript_from_a_user_path_needs_trust_code(exported, tmp_path, monkeypatch):
    monkeypatch.delenv("VOICESAFETY_TRUST_CODE", raising=False)
    folder = exported["torchscript"]
    for path in (folder, folder / "model.pt"):
        with pytest.raises(vs.UntrustedCodeError, match="trust_code=True") as info:
            vs.Classifier.from_pretrained(path, device="cpu")
        assert "runs the program stored in it" in str(info.value)
        assert isinstance(info.value, vs.ModelLoadError)
    clf = vs.Classifier.from_pretrained(folder, device="cpu", trust_code=True)
    assert clf.backend == "torchscript"
    clf.score(_clip())
    monkeypatch.setenv("VOICESAFETY_TRUST_CODE", "1")  # the command line's opt-in
    assert vs.Classifier.from_pretrained(folder / "model.pt", device="cpu").backend == (
        "torchscript")
    with pytest.raises(vs.UntrustedCodeError):  # an explicit False wins over the variable
        vs.Classifier.from_pretrained(folder, device="cpu", trust_code=False)


def test_lone_torchscript_manifest_is_read_without_loading_it(exported, tmp_path, monkeypatch):
    from voicesafety.formats.exported import load_exported

    lone = tmp_path / "m.pt"
    shutil.copy(exported["torchscript"] / "model.pt", lone)
    import torch

    def boom(*args, **kwargs):
        raise AssertionError("torch.jit.load was called while reading the manifest")

    monkeypatch.setattr(torch.jit, "load", boom)
    model, spec, _ = load_exported(lone)
    assert model.backend == "torchscript" and "NoViolation" in spec.labels


# ------------------------------------------------------------------ the export cache


def _entry(cache: Path, backend: str) -> Path:
    (entry,) = [p for p in (cache / "exports").iterdir() if p.is_dir()
                and p.name.startswith(backend)]
    return entry


def test_cache_entry_has_a_record_and_its_torchscript_is_trusted(v1_dir, cache, monkeypatch):
    monkeypatch.delenv("VOICESAFETY_TRUST_CODE", raising=False)
    clf = vs.Classifier.from_pretrained(v1_dir, backend="torchscript", device="cpu")
    assert clf.backend == "torchscript"  # voicesafety's own, hash-checked output
    entry = _entry(cache, "torchscript")
    record = record_of(entry)
    assert record.read_text().strip() == sha256_file(entry / "voicesafety.json")
    with pytest.raises(vs.UntrustedCodeError):  # the same file given as a path is the user's
        vs.Classifier.from_pretrained(entry / "model.pt", device="cpu")


@pytest.mark.parametrize("damage", ["tamper", "truncate", "rewrite-manifest", "no-record"])
def test_corrupt_cache_entry_is_rebuilt(v1_dir, cache, damage):
    ref = vs.Classifier.from_pretrained(v1_dir, backend="torch", device="cpu").score(_clip())
    vs.Classifier.from_pretrained(v1_dir, backend="onnx", device="cpu")
    entry = _entry(cache, "onnx")
    model = entry / "model.onnx"
    record = record_of(entry)
    if damage == "truncate":
        model.write_bytes(model.read_bytes()[:1000])
    elif damage == "no-record":
        record.unlink()
    else:
        _tamper_onnx(model)
        if damage == "rewrite-manifest":  # someone updates the manifest's hash to match
            manifest = json.loads((entry / "voicesafety.json").read_text())
            manifest["sha256"]["model.onnx"] = sha256_file(model)
            (entry / "voicesafety.json").write_text(json.dumps(manifest))
    with pytest.warns(UserWarning, match="corrupt"):
        clf = vs.Classifier.from_pretrained(v1_dir, backend="onnx", device="cpu")
    got = clf.score(_clip())
    assert max(abs(got.scores[k] - ref.scores[k]) for k in ref.scores) <= 1e-4
    assert record.read_text().strip() == sha256_file(entry / "voicesafety.json")
    manifest = json.loads((entry / "voicesafety.json").read_text())
    assert manifest["sha256"]["model.onnx"] == sha256_file(model)


def _load_in_child(job: tuple[str, str]) -> float:
    import warnings as w

    folder, cache_path = job
    os.environ["VOICESAFETY_CACHE"] = cache_path
    with w.catch_warnings():
        w.simplefilter("error", UserWarning)  # no entry may be found "corrupt" mid-write
        clf = vs.Classifier.from_pretrained(folder, backend="onnx", device="cpu", threads=1)
    return clf.score(_clip()).toxicity


def test_processes_converting_at_once_share_one_entry(v1_dir, cache):
    import multiprocessing as mp

    pool = mp.get_context("spawn").Pool(2)
    try:
        got = pool.map_async(_load_in_child, [(str(v1_dir), str(cache))] * 2).get(timeout=600)
    finally:
        pool.terminate()
        pool.join()
    assert got[0] == pytest.approx(got[1], abs=1e-6)
    assert len([p for p in (cache / "exports").iterdir() if p.name.startswith("onnx")]) == 1
