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
