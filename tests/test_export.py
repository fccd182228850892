"""Export to TorchScript / ONNX / int8 ONNX: parity bounds, exported folders, files, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import voicesafety as vs
from voicesafety import export as ex
from voicesafety.cli import main as cli_main
from voicesafety.errors import ModelLoadError


@pytest.fixture(scope="module")
def exported(tmp_path_factory, v1_dir, roberta_dir, bert_dir):
    """Export each tiny model to each backend once; returns {(model, backend): (dir, report)}."""
    root = tmp_path_factory.mktemp("exports")
    out = {}
    for key, src in (("v1", v1_dir), ("roberta", roberta_dir), ("bert", bert_dir)):
        for backend in ex.EXPORT_BACKENDS:
            if key == "bert" and backend == "torchscript":
                continue
            dst = root / f"{key}-{backend}"
            (report,) = ex.export(src, backend, dst, log=None)
            out[key, backend] = (dst, report)
    return out


@pytest.mark.parametrize("key", ["v1", "roberta", "bert"])
@pytest.mark.parametrize("backend", ex.EXPORT_BACKENDS)
def test_parity_bounds(exported, key, backend):
    if (key, backend) not in exported:
        pytest.skip("not exported in this combination (covered by the others)")
    _, report = exported[key, backend]
    bound = 1e-4 if backend != "onnx-int8" else 0.05
    assert report.max_abs_diff <= bound
    assert report.flag_agreement >= (0.99 if backend == "onnx-int8" else 1.0)
    assert report.passed and report.items >= 24


def _audio(rng, seconds=2.0):
    return (rng.standard_normal(int(16000 * seconds)) * 0.1).astype(np.float32)


@pytest.mark.parametrize("backend", ex.EXPORT_BACKENDS)
def test_exported_audio_folder_loads_alone(exported, v1_dir, tmp_path, rng, backend):
    src, _ = exported["v1", backend]
    moved = tmp_path / "moved"
    shutil.copytree(src, moved)  # no reference to the original checkpoint
    manifest = json.loads((moved / ex.MANIFEST).read_text())
    assert manifest["backend"] == backend and manifest["parity"]["passed"]
    clf = vs.Classifier.from_pretrained(moved, trust_code=backend == "torchscript")
    ref = vs.Classifier.from_pretrained(v1_dir, backend="torch", device="cpu")
    assert clf.labels == ref.labels and clf.toxic_labels == ref.toxic_labels
    assert "NoViolation" not in clf.toxic_labels
    assert clf.policy == ref.policy
    assert clf.backend == backend
    clips = [_audio(rng, 1.0), _audio(rng, 20.0)]  # the long one is windowed (15 s + 5 s)
    got, want = clf.score(clips), ref.score(clips)
    bound = 1e-4 if backend != "onnx-int8" else 0.05
    for g, w in zip(got, want, strict=True):
        assert g.model.backend == backend
        assert len(g.windows) == len(w.windows)
        for label in clf.labels:
            assert abs(g.scores[label] - w.scores[label]) <= bound


@pytest.mark.parametrize("key", ["roberta", "bert"])
def test_exported_text_folder_carries_tokenizer(exported, tmp_path, roberta_dir, bert_dir, key):
    src, _ = exported[key, "onnx"]
    moved = tmp_path / "text"
    shutil.copytree(src, moved)
    clf = vs.Classifier.from_pretrained(moved)
    ref = vs.Classifier.from_pretrained(roberta_dir if key == "roberta" else bert_dir,
                                        backend="torch", device="cpu")
    texts = ["you are trash", "good game everyone", "nice shot " * 40]  # last one truncated
    got, want = clf.score_text(texts), ref.score_text(texts)
    for g, w in zip(got, want, strict=True):
        assert g.truncated == w.truncated and g.num_tokens == w.num_tokens
        assert max(abs(g.scores[k] - w.scores[k]) for k in g.scores) <= 1e-4
    assert clf.text.spec.max_length == ref.text.spec.max_length


def test_onnx_file_by_path_with_embedded_metadata(exported, tmp_path, rng):
    src, _ = exported["v1", "onnx"]
    lone = tmp_path / "lone.onnx"
    shutil.copy(src / "model.onnx", lone)  # no manifest beside it: metadata inside the file
    clf = vs.Classifier.from_pretrained(lone)
    assert clf.backend == "onnx" and "NoViolation" in clf.labels
    clf.score(_audio(rng))


def test_torchscript_file_by_path(exported, tmp_path, rng):
    src, _ = exported["v1", "torchscript"]
    clf = vs.Classifier.from_pretrained(src / "model.pt", trust_code=True)
    assert clf.backend == "torchscript"
    lone = tmp_path / "m.pt"
    shutil.copy(src / "model.pt", lone)
    assert vs.Classifier.from_pretrained(lone, trust_code=True).labels == clf.labels


def test_file_without_manifest_is_a_clear_error(exported, tmp_path):
    import onnx

    src, _ = exported["v1", "onnx"]
    model = onnx.load(str(src / "model.onnx"))
    del model.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(model, str(bare))
    with pytest.raises(ModelLoadError, match="manifest"):
        vs.Classifier.from_pretrained(bare)


def test_exported_folder_only_runs_its_backend(exported):
    src, _ = exported["v1", "onnx"]
    with pytest.raises(vs.errors.BackendError, match="export"):
        vs.Classifier.from_pretrained(src, backend="torch")


def test_export_refuses_model_missing_bounds(v1_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(ex.BOUNDS, "onnx-int8", (0.0, 1.0))  # int8 can never be exact
    out = tmp_path / "refused"
    with pytest.raises(ex.ExportParityError) as info:
        ex.export(v1_dir, "onnx-int8", out, log=None)
    assert not info.value.report.passed
    assert not out.exists()


def test_bundle_exports_both_parts(tmp_path):
    out = tmp_path / "mini-onnx"
    reports = ex.export(None, "onnx", out, log=None)
    assert {r.modality for r in reports} == {"audio", "text"}
    assert (out / "audio" / ex.MANIFEST).is_file() and (out / "text" / "tokenizer.json").is_file()
    clf = vs.Classifier.from_pretrained(out)
    assert clf.modalities == ("audio", "text") and clf.backend == "onnx"
    ref = vs.Classifier.from_pretrained(backend="torch", device="cpu")
    a, b = clf.score_text("you are trash"), ref.score_text("you are trash")
    assert max(abs(a.scores[k] - b.scores[k]) for k in a.scores) <= 1e-4


def test_cli_export_prints_parity(v1_dir, tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli_main(["export", str(v1_dir), "--to", "onnx", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "max|Δscore|" in printed and "flag agreement" in printed and "PASS" in printed
    assert (out / "model.onnx").is_file()


def test_probe_from_user_files(v1_dir, tmp_path, rng):
    import soundfile as sf

    files = []
    for i in range(3):
        path = tmp_path / f"p{i}.wav"
        sf.write(path, _audio(rng, 1.5), 22050)  # resampled to 16 kHz
        files.append(path)
    (report,) = ex.export(v1_dir, "onnx", tmp_path / "probe-out", probe=files, log=None)
    assert report.items == 3 and report.passed


def test_probe_audio_is_deterministic():
    class Spec:
        sample_rate, min_samples = 16000, 400

    a, b = ex.probe_audio(Spec()), ex.probe_audio(Spec())
    assert all(np.array_equal(x["input_values"], y["input_values"]) for x, y in zip(a, b,
                                                                                    strict=True))
    assert sum(x["input_values"].shape[0] for x in a) == ex.PROBE_ITEMS == 100


def test_manifest_is_json_of_spec(exported):
    src, _ = exported["roberta", "onnx-int8"]
    manifest = json.loads((src / ex.MANIFEST).read_text())
    assert manifest["labels"] == ["neutral", "toxic"] and manifest["activation"] == "softmax"
    assert manifest["negative_labels"] == ["neutral"]
    assert manifest["input_names"] == ["input_ids", "attention_mask"]
    assert Path(src / manifest["file"]).is_file()


def test_int8_keeps_the_classification_head_fp32_even_as_gemm(exported):
    """The quantiser rewrites Gemm as "<name>_MatMul"; the head must stay fp32 all the same."""
    import onnx

    src, _ = exported["roberta", "onnx-int8"]
    graph = onnx.load(str(src / ex.MODEL_FILES["onnx-int8"])).graph
    quantised = [n.name for n in graph.node if n.op_type == "MatMulInteger"]
    assert quantised and not any("classifier" in n for n in quantised)
    assert any(n.op_type in ("Gemm", "MatMul") and "classifier" in n.name for n in graph.node)


def test_embedded_model_exports_to_int8_within_bounds(tmp_path):
    """The default model must be servable on onnx-int8 (trying the other scheme if needed)."""
    import json

    reports = ex.export(None, "onnx-int8", tmp_path / "mini", log=None)
    assert [r.modality for r in reports] == ["audio", "text"] and all(r.passed for r in reports)
    for part in ("audio", "text"):
        manifest = json.loads((tmp_path / "mini" / part / "voicesafety.json").read_text())
        assert manifest["int8_scheme"] in ex.INT8_SCHEMES
        assert manifest["parity"]["flag_agreement"] >= 0.99
    # the audio config's "int8_fp32" nodes stay fp32: no quantised MatMul in the attention
    import onnx

    from voicesafety.formats.checkpoint import load_folder
    from voicesafety.formats.hub import resolve

    _, spec, _ = load_folder(resolve(None, None) / "audio", "voicesafety/mini")
    assert spec.int8_fp32 == ("/attn/", "/ff/ff.3", "/pool_score/")
    graph = onnx.load(str(tmp_path / "mini" / "audio" / "model.int8.onnx")).graph
    quantised = [n.name for n in graph.node if n.op_type == "MatMulInteger"]
    assert quantised and not any(k in n for n in quantised for k in spec.int8_fp32)
    assert not any("classifier" in n for n in quantised)  # the Gemm classifier too
    assert any("/ff/ff.0" in n for n in quantised)
    # the exported folder keeps them in its manifest (they were lost on the round trip)
    from voicesafety.formats.exported import load_exported

    _, exported_spec, _ = load_exported(tmp_path / "mini" / "audio")
    assert exported_spec.int8_fp32 == spec.int8_fp32
