"""Shared fixtures: tiny, randomly initialised real checkpoints saved with save_pretrained.

No mocks: these are genuine WavLM / RoBERTa / BERT models and real tokenizers, just small.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

V1_LABELS = ["Profanity", "DatingAndSexting", "Racist", "Bullying", "Other", "NoViolation"]
V2_LABELS = ["Discrimination", "Harassment", "Sexual", "IllegalAndRegulated",
             "DatingAndRomantic", "Profanity"]

TEXT_CORPUS = [
    "you are trash", "good game everyone", "nice shot", "i will kill the final boss",
    "shut up noob", "that was sick", "hello there friend", "go away loser", "gg wp",
    "you are an idiot", "thanks for the help", "lets play again tomorrow",
]


def build_tiny_wavlm(folder: Path, labels: list[str], *, generic_names: bool = False,
                     seed: int = 0) -> Path:
    """Save a tiny random WavLMForSequenceClassification (real architecture) to ``folder``."""
    from transformers import WavLMConfig, WavLMForSequenceClassification

    torch.manual_seed(seed)
    names = [f"LABEL_{i}" for i in range(len(labels))] if generic_names else labels
    config = WavLMConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16, 16, 16, 16, 16, 16, 16), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4, num_buckets=32, max_bucket_distance=80,
        classifier_proj_size=16, num_labels=len(labels),
        id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)},
        feat_extract_norm="group", do_stable_layer_norm=False,
    )
    model = WavLMForSequenceClassification(config).eval()
    # Random init leaves the head near zero; scale it so scores spread over (0, 1).
    with torch.no_grad():
        model.classifier.weight.mul_(20.0)
    model.save_pretrained(folder)
    return folder


def build_tiny_text(folder: Path, labels: list[str], *, kind: str = "roberta",
                    multilabel: bool = False, seed: int = 0) -> Path:
    """Save a tiny random text classifier plus a WordLevel tokenizer trained here."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        PreTrainedTokenizerFast,
        RobertaConfig,
        RobertaForSequenceClassification,
    )

    torch.manual_seed(seed)
    bos, eos, pad, unk = ("<s>", "</s>", "<pad>", "<unk>") if kind == "roberta" else (
        "[CLS]", "[SEP]", "[PAD]", "[UNK]")
    tok = Tokenizer(models.WordLevel(unk_token=unk))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    specials = [bos, pad, eos, unk] if kind == "roberta" else [pad, unk, bos, eos]
    tok.train_from_iterator(TEXT_CORPUS * 3, trainers.WordLevelTrainer(special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, tok.token_to_id(bos)),
                                                   (eos, tok.token_to_id(eos))])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos,
                                   pad_token=pad, unk_token=unk, model_max_length=64)
    if kind == "roberta":
        fast.cls_token, fast.sep_token = bos, eos
    else:
        fast.cls_token, fast.sep_token = bos, eos
    common = dict(
        vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)},
        problem_type="multi_label_classification" if multilabel else
        "single_label_classification", pad_token_id=tok.token_to_id(pad),
    )
    if kind == "roberta":
        config = RobertaConfig(max_position_embeddings=64 + 2, bos_token_id=tok.token_to_id(bos),
                               eos_token_id=tok.token_to_id(eos), **common)
        model = RobertaForSequenceClassification(config)
    else:
        config = BertConfig(max_position_embeddings=64, **common)
        model = BertForSequenceClassification(config)
    with torch.no_grad():
        for p in model.classifier.parameters():
            p.mul_(10.0)
    model.eval().save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def v1_dir(tmp_path_factory) -> Path:
    """A tiny WavLM checkpoint with Roblox v1 labels (NoViolation negative)."""
    return build_tiny_wavlm(tmp_path_factory.mktemp("ckpt") / "voice-safety-classifier", V1_LABELS)


@pytest.fixture(scope="session")
def v2_dir(tmp_path_factory) -> Path:
    """A tiny WavLM checkpoint laid out like Roblox v2 (generic LABEL_i names in config)."""
    return build_tiny_wavlm(tmp_path_factory.mktemp("ckpt") / "voice-safety-classifier-v2",
                            V2_LABELS, generic_names=True, seed=1)


@pytest.fixture(scope="session")
def generic_audio_dir(tmp_path_factory) -> Path:
    """A tiny WavLM checkpoint not in the registry (labels from its own config)."""
    folder = build_tiny_wavlm(tmp_path_factory.mktemp("ckpt") / "my-audio-model",
                              ["toxic", "clean"], seed=2)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["problem_type"] = "multi_label_classification"
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder


@pytest.fixture(scope="session")
def roberta_dir(tmp_path_factory) -> Path:
    """A tiny RoBERTa two-class (neutral, toxic) softmax classifier, like s-nlp's."""
    return build_tiny_text(tmp_path_factory.mktemp("ckpt") / "tiny-roberta", ["neutral", "toxic"])


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory) -> Path:
    """A tiny BERT six-label sigmoid classifier, like unitary/toxic-bert."""
    labels = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
    return build_tiny_text(tmp_path_factory.mktemp("ckpt") / "tiny-bert", labels, kind="bert",
                           multilabel=True, seed=3)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def has_cuda() -> bool:
    return torch.cuda.is_available()


requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                   reason="needs a CUDA GPU; torch sees none on this machine")
