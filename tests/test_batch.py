"""Batch scoring (voicesafety.batch): one row per file, error rows for bad files, and the same
rows from the local engine and from Ray Data on a local Ray instance."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import voicesafety as vs
from voicesafety.batch import audio_files, score_files

pa = pytest.importorskip("pyarrow")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "audio"


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("archive")
    for p in sorted(EXAMPLES.glob("*.ogg")):
        shutil.copy(p, folder / p.name)
    (folder / "nested").mkdir()
    shutil.copy(EXAMPLES / "clean_gg.ogg", folder / "nested" / "again.ogg")
    (folder / "broken.wav").write_bytes(b"RIFF....not audio at all")
    (folder / "notes.txt").write_text("not audio")
    return folder


def test_folder_expansion_is_sorted_recursive_and_audio_only(archive) -> None:
    files = audio_files(archive)
    assert files == sorted(files)
    assert any(f.endswith("nested/again.ogg") for f in files)
    assert not any(f.endswith(".txt") for f in files)


def test_local_rows_match_classifier_and_bad_files_become_error_rows(archive) -> None:
    missing = str(archive / "gone.ogg")
    paths = [*audio_files(archive), missing]
    table = score_files(paths, threads=1)
    assert isinstance(table, pa.Table)
    assert table.column_names[:7] == ["path", "duration", "toxicity", "flagged", "scores",
                                      "flags", "windows"]
    assert "error" in table.column_names
    rows = {r["path"]: r for r in table.to_pylist()}
    assert [r["path"] for r in table.to_pylist()] == paths  # input order
    assert rows[missing]["error"].startswith("FileNotFoundError")
    broken = rows[str(archive / "broken.wav")]
    assert broken["error"] and broken["toxicity"] is None
    clf = vs.Classifier.from_pretrained(threads=1)
    for p in audio_files(archive):
        if p.endswith(".wav"):
            continue
        want = clf.score(p)
        got = rows[p]
        assert got["error"] is None
        assert got["toxicity"] == pytest.approx(want.toxicity, abs=1e-6)
        assert got["flagged"] == want.flagged and got["flags"] == want.flags
        assert [w["start"] for w in got["windows"]] == [w.start for w in want.windows]
        assert set(got["scores"]) == set(clf.labels)


def test_pandas_output_and_bad_arguments(archive) -> None:
    pytest.importorskip("pandas")
    df = score_files(archive / "clean_gg.ogg", output="pandas", threads=1)
    assert list(df["path"]) == [str(archive / "clean_gg.ogg")]
    assert df["error"].isna().all()
    with pytest.raises(vs.errors.InvalidInputError, match="engine"):
        score_files(archive, engine="spark")
    empty = archive / "empty"
    empty.mkdir(exist_ok=True)
    with pytest.raises(vs.errors.InvalidInputError, match="no audio files"):
        score_files(empty)


def test_ray_gives_the_same_rows_as_local(archive) -> None:
    ray = pytest.importorskip("ray")
    paths = [*audio_files(archive), str(archive / "gone.ogg")]
    local = score_files(paths, threads=1)
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = score_files(paths, engine="ray", threads=1, files_per_batch=2)
    finally:
        if started:
            ray.shutdown()
    assert remote.schema == local.schema
    assert remote.to_pylist() == local.to_pylist()


def test_cli_writes_one_parquet_row_per_file(archive, tmp_path, capsys) -> None:
    import pyarrow.parquet as pq

    from voicesafety.cli import main

    out = tmp_path / "results.parquet"
    code = main(["score", str(archive), "--out", str(out)])
    assert code == 1  # broken.wav is an error row, and says so in the exit status
    table = pq.read_table(out)
    assert table.column("path").to_pylist() == audio_files(archive)
    assert sum(e is not None for e in table.column("error").to_pylist()) == 1
    assert "files scored" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["score", str(archive), "--engine", "spark", "--out", str(out)])


def test_vad_option_reaches_the_rows(archive) -> None:
    pytest.importorskip("silero_vad")
    table = score_files(archive / "clean_gg.ogg", threads=1, vad=True)
    (r,) = table.to_pylist()
    assert r["error"] is None and 0 < r["speech_seconds"] <= r["duration"]
    plain = score_files(archive / "clean_gg.ogg", threads=1).to_pylist()[0]
    assert plain["speech_seconds"] is None
