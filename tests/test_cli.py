"""The voicesafety command."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from voicesafety.cli import main


def test_score_table_and_json(v2_dir, tmp_path, capsys):
    path = tmp_path / "a.wav"
    sf.write(path, np.zeros(16_000, np.float32), 16_000)
    assert main(["score", str(path), "--model", str(v2_dir)]) == 0
    out = capsys.readouterr().out
    assert "a.wav" in out and "toxicity" in out
    assert main(["score", str(path), "--model", str(v2_dir), "--json"]) == 0
    row = json.loads(capsys.readouterr().out.strip())
    assert set(row["scores"]) == {"Discrimination", "Harassment", "Sexual",
                                  "IllegalAndRegulated", "DatingAndRomantic", "Profanity"}


def test_score_reports_bad_files_and_exits_nonzero(v2_dir, tmp_path, capsys):
    good = tmp_path / "a.wav"
    sf.write(good, np.zeros(16_000, np.float32), 16_000)
    assert main(["score", str(good), str(tmp_path / "missing.wav"), "--model", str(v2_dir)]) == 1
    out = capsys.readouterr().out
    assert "ERROR" in out and "missing.wav" in out


def test_threshold_policy_option(v2_dir, tmp_path, capsys):
    path = tmp_path / "a.wav"
    sf.write(path, np.zeros(16_000, np.float32), 16_000)
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps({"default": 0.0}))
    main(["score", str(path), "--model", str(v2_dir), "--json", "--threshold-policy", str(policy)])
    assert json.loads(capsys.readouterr().out)["flagged"] is True


def test_text_command(roberta_dir, capsys):
    assert main(["text", "you are trash", "gg", "--model", str(roberta_dir), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["you are trash", "gg"]


def test_user_errors_are_one_line_not_a_traceback(capsys):
    assert main(["score", "x.wav", "--model", "/no/such/model"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("voicesafety: error:") and "Traceback" not in err


# ---------------------------------------------------------------- issue 19: first contact

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_json_into_a_closed_pipe_exits_quietly():
    """`voicesafety text - --json | head -1`: no BrokenPipeError traceback."""
    texts = "\n".join(f"text number {i} you are trash" for i in range(3000)) + "\n"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicesafety.cli", "text", "-", "--json", "--backend", "torch"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(texts.encode())
    proc.stdin.close()
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as `head -1` does
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=300)
    assert json.loads(first)["text"] == "text number 0 you are trash"
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == 141


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path):
    paths = []
    for i in range(2):
        paths.append(tmp_path / f"c{i}.wav")
        sf.write(paths[-1], np.zeros(16_000, np.float32), 16_000)
    done = subprocess.run(
        [sys.executable, "-m", "voicesafety.cli", "score", *map(str, paths), "--backend",
         "torch"], capture_output=True, text=True, timeout=300, env=_env())
    assert done.returncode == 0, done.stderr
    assert "scoring audio" not in done.stderr and "%|" not in done.stderr
    assert "c0.wav" in done.stdout and "c1.wav" in done.stdout


def test_progress_bar_ends_exactly_at_its_total(tmp_path):
    """Durations that do not round to 0.1 s: the bar never overruns (no TqdmWarning)."""
    import io
    import warnings

    import voicesafety as vs

    clf = vs.Classifier.from_pretrained(backend="torch")
    clips = []
    for i, (n, rate) in enumerate([(16_049, 16_000), (44_101, 44_100), (7_999, 8_000)]):
        clips.append(tmp_path / f"c{i}.wav")
        sf.write(clips[-1], np.full(n, 0.1, np.float32), rate)
    import contextlib

    stream = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # TqdmWarning "clamping frac" would fail here
        with contextlib.redirect_stderr(stream):
            results = clf.score([*clips, np.zeros(24_007, np.float32)], sample_rate=16_000,
                                window=0.5, hop=0.3, progress=True)
    assert all(r.ok for r in results)
    assert "clamping" not in stream.getvalue()


def test_score_and_text_tables_are_format_table(tmp_path, capsys):
    import voicesafety as vs

    path = tmp_path / "a.wav"
    sf.write(path, np.zeros(16_000, np.float32), 16_000)
    assert main(["text", "you are trash", "gg", "--backend", "torch"]) == 0
    out = capsys.readouterr().out
    clf = vs.Classifier.from_pretrained(backend="torch")
    assert out.strip() == vs.format_table(clf.score_text(["you are trash", "gg"])).strip()
    assert main(["score", str(path), "--backend", "torch"]) == 0
    assert capsys.readouterr().out.strip() == vs.format_table(clf.score(path)).strip()


def test_int8_export_prints_no_preprocessing_hint(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "voicesafety.cli", "export", "voicesafety/mini", "--to",
         "onnx-int8", "--out", str(tmp_path / "int8")],
        capture_output=True, text=True, timeout=600, env=_env())
    assert done.returncode == 0, done.stderr
    assert "pre-processing" not in done.stderr + done.stdout
