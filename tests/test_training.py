"""Miniature end-to-end run of the mini-model training pipeline (keeps training code alive)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from voicesafety.models.arch import LABELS, load_mini, load_policy


def _settings(tmp_path: Path):
    from training.train_mini import Settings

    return Settings(
        seed=0,
        data_dir=tmp_path / "data",
        work_dir=tmp_path / "work",
        bundle_dir=tmp_path / "mini",
        threads=1,
        n_text_train=48,
        n_text_val=24,
        n_text_test=24,
        vocab_size=300,
        text_arch={"dim": 16, "layers": 1, "heads": 2, "max_length": 32},
        text_epochs=1,
        text_batch=16,
        n_audio_train=6,
        n_audio_val=4,
        n_audio_test=3,
        n_babble=2,
        audio_arch={"n_mels": 16, "channels": 16, "attn_layers": 1, "heads": 2},
        audio_epochs=2,
        audio_batch=4,
        workers=1,
        check_export=False,
    )


def test_corpus_covers_every_label() -> None:
    from training.corpus import generate

    ex = generate(400, seed=0, heldout=False)
    y = np.array([e.labels for e in ex])
    assert y.shape[1] == len(LABELS)
    assert (y.sum(axis=0) > 0).all()
    assert (y.sum(axis=1) == 0).any() and (y.sum(axis=1) > 1).any()
    held = generate(50, seed=0, heldout=True)
    assert all(e.heldout for e in held)


def test_text_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from training import audio_data
    from training.train_mini import run

    monkeypatch.setattr(audio_data, "espeak_available", lambda: False)
    metrics = run(_settings(tmp_path))
    assert "text test" in metrics["text"]
    model, cfg = load_mini(tmp_path / "mini" / "text")
    assert cfg["trained"] is True and cfg["labels"] == LABELS
    assert (tmp_path / "mini" / "text" / "tokenizer.json").exists()
    assert set(load_policy(tmp_path / "mini" / "text")["thresholds"]) == set(LABELS)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_full_pipeline_with_audio(tmp_path: Path) -> None:
    from training.train_mini import run

    metrics = run(_settings(tmp_path))
    assert "audio all held-out" in metrics["audio"]
    model, cfg = load_mini(tmp_path / "mini" / "audio")
    assert cfg["model_type"] == "voicesafety-mini-audio" and cfg["sample_rate"] == 16000
    with torch.no_grad():
        out = model(torch.zeros(2, 400))
    assert out.shape == (2, len(LABELS))
    json.loads((tmp_path / "work" / "metrics.json").read_text())
