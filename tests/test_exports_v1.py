"""Exported folders written by voicesafety 0.1.0 (manifest format 1) keep loading and scoring.

``tests/fixtures/exports_v1`` was written once by ``tests/fixtures/make_exports_v1.py`` with the
export code as it was before the layers were split (issue 14), and is kept as written: three
tiny checkpoints (WavLM audio, a voicesafety mini text model with a bare ``tokenizer.json``,
RoBERTa text with a Hugging Face tokenizer) and their exports to every export backend.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import voicesafety as vs

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "exports_v1"
REFERENCE = json.loads((FIXTURES / "reference.json").read_text(encoding="utf-8"))
MODELS = ("wavlm", "mini-text", "roberta")
#: the export parity bounds (max |score difference| against the torch reference)
BOUNDS = {"torchscript": 1e-4, "onnx": 1e-4, "onnx-int8": 0.05}


def _clips() -> list:
    import sys

    sys.path.insert(0, str(FIXTURES.parent))
    try:
        from make_exports_v1 import clips
    finally:
        sys.path.remove(str(FIXTURES.parent))
    return clips()


def _score(clf: vs.Classifier, name: str) -> list:
    if name == "wavlm":
        return clf.score(_clips(), window=2.0)
    return clf.score_text(REFERENCE["texts"])


@pytest.fixture(scope="module")
def torch_results() -> dict[str, list]:
    """Scores of the source checkpoints on the torch reference backend, with today's code."""
    out = {}
    for name in MODELS:
        clf = vs.Classifier.from_pretrained(FIXTURES / "source" / name, backend="torch",
                                            device="cpu")
        out[name] = _score(clf, name)
    return out


@pytest.mark.parametrize("name", MODELS)
def test_torch_reference_is_unchanged(torch_results, name):
    want = REFERENCE[name]["scores"]
    got = [r.scores for r in torch_results[name]]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        assert max(abs(g[k] - w[k]) for k in g) <= 1e-5
    assert [r.flags for r in torch_results[name]] == REFERENCE[name]["flags"]


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("backend", sorted(BOUNDS))
def test_folder_written_by_0_1_0_loads_and_scores(torch_results, tmp_path, name, backend):
    moved = tmp_path / name
    shutil.copytree(FIXTURES / backend / name, moved)  # alone: no source checkpoint beside it
    clf = vs.Classifier.from_pretrained(moved, device="cpu", trust_code=backend == "torchscript")
    ref = REFERENCE[name]
    assert clf.backend == backend
    assert clf.labels == ref["labels"] and clf.toxic_labels == ref["toxic_labels"]
    assert clf.policy.model_dump() == ref["policy"]
    got = _score(clf, name)
    want = torch_results[name]
    for g, w in zip(got, want, strict=True):
        assert g.model.backend == backend
        assert max(abs(g.scores[k] - w.scores[k]) for k in g.scores) <= BOUNDS[backend]
        if name == "wavlm":
            assert [(x.start, x.end) for x in g.windows] == [(x.start, x.end) for x in w.windows]
        else:
            assert (g.truncated, g.num_tokens) == (w.truncated, w.num_tokens)
        if backend != "onnx-int8":  # int8's flag bound is a share of a 100-item probe set
            assert g.flags == w.flags


def test_folder_without_hashes_loads_with_one_warning(tmp_path):
    moved = tmp_path / "onnx-wavlm"
    shutil.copytree(FIXTURES / "onnx" / "wavlm", moved)
    with pytest.warns(UserWarning, match="without content hashes") as record:
        vs.Classifier.from_pretrained(moved, device="cpu")
        vs.Classifier.from_pretrained(moved, device="cpu")
    assert len([w for w in record if "content hashes" in str(w.message)]) == 1


def test_torchscript_written_by_0_1_0_needs_trust(tmp_path):
    moved = tmp_path / "ts-wavlm"
    shutil.copytree(FIXTURES / "torchscript" / "wavlm", moved)
    with pytest.raises(vs.UntrustedCodeError, match="trust_code=True"):
        vs.Classifier.from_pretrained(moved, device="cpu")


@pytest.mark.parametrize("backend", sorted(BOUNDS))
def test_lone_model_file_written_by_0_1_0_loads(tmp_path, backend):
    folder = FIXTURES / backend / "wavlm"
    manifest = json.loads((folder / "voicesafety.json").read_text(encoding="utf-8"))
    lone = tmp_path / manifest["file"]
    shutil.copy(folder / manifest["file"], lone)  # the manifest embedded in the file only
    clf = vs.Classifier.from_pretrained(lone, device="cpu", trust_code=backend == "torchscript")
    assert clf.backend == backend and clf.labels == REFERENCE["wavlm"]["labels"]
    assert clf.policy.model_dump() == REFERENCE["wavlm"]["policy"]
