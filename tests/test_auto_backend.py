"""``backend="auto"`` on CPU: converts once, times the candidates on this CPU, keeps the
fastest that passed its parity check, records the choice, and reuses it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import voicesafety as vs
from voicesafety.export import BOUNDS, fastest_backend
from voicesafety.export.auto import CANDIDATES, INT8_MARGIN, choose, record_path
from voicesafety.formats import load_parts
from voicesafety.formats.hub import resolve


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("VOICESAFETY_CACHE", str(folder))
    return folder


def _records(cache: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((cache / "exports" / ".auto").glob("*.json"))]


def test_choose_takes_the_fastest_and_int8_only_with_a_margin() -> None:
    assert choose({"torch": 3.0, "onnx": 1.0, "onnx-int8": 0.95}) == "onnx"  # within margin
    assert choose({"torch": 3.0, "onnx": 1.0, "onnx-int8": INT8_MARGIN * 0.99}) == "onnx-int8"
    assert choose({"torch": 0.5, "onnx": 1.0, "onnx-int8": 0.8}) == "torch"
    assert choose({"torch": 2.0, "onnx-int8": 1.5}) == "onnx-int8"  # onnx refused
    assert choose({"torch": 2.0}) == "torch"


def test_auto_converts_once_records_and_reuses(roberta_dir, cache, capfd) -> None:
    clf = vs.Classifier.from_pretrained(roberta_dir, device="cpu")
    first = capfd.readouterr().err
    assert "first use of" in first and "runs on" in first
    (record,) = _records(cache)
    assert record["backend"] in ("torch", *CANDIDATES)
    assert set(record["timings"]) | set(record["rejected"]) == {"torch", *CANDIDATES}
    assert all(t > 0 for t in record["timings"].values())
    assert record["backend"] == min(record["timings"], key=record["timings"].get) or (
        record["backend"] == "onnx" and "onnx-int8" in record["timings"])
    # the result says which backend ran
    res = clf.score_text("you are trash")
    assert res.model.backend == record["backend"] == clf.backend
    # same scores as torch within the bound of the backend it chose
    ref = vs.Classifier.from_pretrained(roberta_dir, backend="torch", device="cpu")
    bound = BOUNDS["onnx-int8" if record["backend"] == "onnx-int8" else "onnx"][0]
    assert abs(ref.score_text("you are trash").toxicity - res.toxicity) <= bound

    # second load: no conversion, no timing, same backend
    again = vs.Classifier.from_pretrained(roberta_dir, device="cpu")
    assert "first use of" not in capfd.readouterr().err
    assert again.backend == clf.backend
    assert len(_records(cache)) == 1


def test_torch_opt_out_converts_nothing(bert_dir, cache) -> None:
    clf = vs.Classifier.from_pretrained(bert_dir, backend="torch", device="cpu")
    assert clf.backend == "torch"
    assert not (cache / "exports").exists() or not _records(cache)


def test_audio_auto_and_a_corrupt_record_is_measured_again(v2_dir, cache, capfd) -> None:
    clf = vs.Classifier.from_pretrained(v2_dir, device="cpu")
    (record,) = _records(cache)
    assert clf.backend == record["backend"]
    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    ref = vs.Classifier.from_pretrained(v2_dir, backend="torch", device="cpu").score(x)
    bound = BOUNDS["onnx-int8" if clf.backend == "onnx-int8" else "onnx"][0]
    got = clf.score(x)
    assert max(abs(got.scores[k] - ref.scores[k]) for k in ref.scores) <= bound
    capfd.readouterr()
    path = next((cache / "exports" / ".auto").glob("*.json"))
    path.write_text("{not json", encoding="utf-8")
    vs.Classifier.from_pretrained(v2_dir, device="cpu")
    assert "first use of" in capfd.readouterr().err
    assert _records(cache)[0]["backend"] in ("torch", *CANDIDATES)


def test_record_is_keyed_by_the_weights(roberta_dir, bert_dir, cache) -> None:
    parts = [load_parts(resolve(d, None), str(d))["text"] for d in (roberta_dir, bert_dir)]
    assert record_path(parts[0].source, parts[0].spec) != record_path(parts[1].source,
                                                                      parts[1].spec)
    backend, record = fastest_backend(parts[0].source, parts[0].spec, parts[0].tokenizer)
    assert backend.name == record["backend"]
    assert record_path(parts[0].source, parts[0].spec).is_file()
