"""Write an untrained (random-init, fixed seed) mini bundle so the loader can be wired up.

Run: ``python -m training.make_untrained``
"""

from __future__ import annotations

from pathlib import Path

import torch

from voicesafety.models.arch import (
    AUDIO_MODEL_TYPE,
    LABELS,
    TEXT_MODEL_TYPE,
    MiniAudioModel,
    MiniTextModel,
    default_policy,
    save_mini,
)
from voicesafety.train.tokenizer import train_tokenizer

VERSION = "0.1.0-untrained"
BUNDLE = Path(__file__).resolve().parents[1] / "voicesafety" / "models" / "mini"
AUDIO_ARCH: dict = {"n_mels": 64, "channels": 128, "attn_layers": 1, "heads": 4}
TEXT_ARCH: dict = {"dim": 128, "layers": 2, "heads": 4, "max_length": 128}


def main() -> None:
    """Write untrained audio and text bundles to voicesafety/models/mini/."""
    torch.manual_seed(0)
    audio = MiniAudioModel(num_labels=len(LABELS), **AUDIO_ARCH).eval()
    save_mini(
        audio,
        {
            "voicesafety_format": 1,
            "model_type": AUDIO_MODEL_TYPE,
            "labels": LABELS,
            "problem_type": "multi_label_classification",
            "sample_rate": 16000,
            "min_samples": 4000,  # as train_mini's audio_min_samples
            "trained": False,
            "arch": {"num_labels": len(LABELS), **AUDIO_ARCH},
            "version": VERSION,
        },
        BUNDLE / "audio",
        policy=default_policy(),
    )
    corpus = ["nice shot good game everyone", "f*ck you b1tch", "wanna be my girlfriend"] * 4
    tok = train_tokenizer(corpus, vocab_size=300)
    text = MiniTextModel(vocab_size=tok.get_vocab_size(), num_labels=len(LABELS), **TEXT_ARCH)
    save_mini(
        text.eval(),
        {
            "voicesafety_format": 1,
            "model_type": TEXT_MODEL_TYPE,
            "labels": LABELS,
            "problem_type": "multi_label_classification",
            "max_length": TEXT_ARCH["max_length"],
            "pad_id": 0,
            "trained": False,
            "arch": {"vocab_size": tok.get_vocab_size(), "num_labels": len(LABELS), **TEXT_ARCH},
            "version": VERSION,
        },
        BUNDLE / "text",
        policy=default_policy(),
        tokenizer=tok,
    )
    print(f"wrote untrained bundles under {BUNDLE}")


if __name__ == "__main__":
    main()
