"""ModelSpec and its manifest: one round trip, old manifests, clear errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

import voicesafety as vs
from voicesafety.errors import ModelLoadError
from voicesafety.spec import FORMAT_VERSION, ModelSpec

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "exports_v1"

SPEC = ModelSpec(
    name="tiny", modality="audio", labels=("Profanity", "Bullying", "NoViolation"),
    activation="sigmoid", negative_labels=("NoViolation",),
    policy=vs.ThresholdPolicy(thresholds={"Profanity": 0.4}, default=0.55),
    sample_rate=8000, window=2.5, hop=1.25, min_samples=320, max_length=None,
    do_normalize=True, trained=False, int8_fp32=("/attn/", "/pool_score/"),
)


@pytest.mark.parametrize("spec", [
    SPEC,
    replace(SPEC, modality="text", activation="softmax", labels=("neutral", "toxic"),
            negative_labels=("neutral",), policy=vs.ThresholdPolicy(), max_length=64,
            int8_fp32=()),
])
def test_manifest_round_trip(tmp_path, spec):
    manifest = json.loads(json.dumps(spec.to_manifest("onnx", "model.onnx")))  # as on disk
    assert manifest["format_version"] == FORMAT_VERSION and manifest["file"] == "model.onnx"
    back = ModelSpec.from_manifest(manifest, path=tmp_path)
    assert back == replace(spec, path=tmp_path, format="export")


def test_manifest_of_0_1_0_reads_without_int8_fp32():
    manifest = json.loads((FIXTURES / "onnx" / "wavlm" / "voicesafety.json").read_text())
    assert "int8_fp32" not in manifest
    spec = ModelSpec.from_manifest(manifest)
    assert spec.int8_fp32 == () and spec.labels == ("Profanity", "Bullying", "NoViolation")
    assert spec.policy.thresholds == {"Profanity": 0.4}


@pytest.mark.parametrize(("change", "match"), [
    ({"format": "something-else"}, "not a voicesafety export manifest"),
    ({"format_version": FORMAT_VERSION + 1}, "newer"),
    ({"activation": "relu"}, "activation"),
])
def test_bad_manifest_is_a_clear_error(change, match):
    manifest = {**SPEC.to_manifest("onnx", "model.onnx"), **change}
    with pytest.raises(ModelLoadError, match=match):
        ModelSpec.from_manifest(manifest)


def test_missing_field_is_named():
    manifest = SPEC.to_manifest("onnx", "model.onnx")
    del manifest["labels"]
    with pytest.raises(ModelLoadError, match="labels"):
        ModelSpec.from_manifest(manifest)
