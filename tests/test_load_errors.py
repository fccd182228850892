"""First contact: checkpoints that would serve random scores are refused, and every naming or
file mistake is a VoiceSafetyError whose message says what to do (tiny real models, no mocks)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import build_tiny_text

import voicesafety as vs


def _tiny_phi3(folder: Path) -> Path:
    from transformers import Phi3Config, Phi3ForCausalLM

    torch.manual_seed(0)
    config = Phi3Config(vocab_size=64, hidden_size=32, intermediate_size=64,
                        num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                        max_position_embeddings=64, pad_token_id=0)
    Phi3ForCausalLM(config).save_pretrained(folder)
    # a tokenizer too, so that only the model itself can be the reason for refusing it
    build_tiny_text(folder.parent / "tok", ["neutral", "toxic"])
    for f in (folder.parent / "tok").glob("tok*"):
        shutil.copy(f, folder / f.name)
    return folder


# ------------------------------------------------------------------ weights that would be random


def test_causal_lm_folder_loads_as_a_judge_and_needs_a_chat_template(tmp_path):
    """A causal LM is an LLM judge now (issue 17, tests/test_judge.py), never a classifier
    head; its prompt is rendered with the tokenizer's chat template, so a tokenizer without
    one is refused with the fix."""
    folder = _tiny_phi3(tmp_path / "phi3")
    with pytest.raises(vs.ModelLoadError, match="chat template") as info:
        vs.Classifier.from_pretrained(folder, device="cpu")
    assert "LLM judge" in str(info.value)


def test_causal_lm_is_never_exported_as_a_classifier(tmp_path):
    from voicesafety.formats.checkpoint import load_folder

    folder = _tiny_phi3(tmp_path / "phi3")
    with pytest.raises(vs.ModelLoadError, match="not a sequence classifier") as info:
        load_folder(folder, "phi3")  # what export reads: a classifier checkpoint
    assert "Phi3ForCausalLM" in str(info.value) and "LLM judge" in str(info.value)


def test_causal_lm_without_architectures_is_refused_for_its_missing_head(tmp_path):
    folder = _tiny_phi3(tmp_path / "phi3")
    config = json.loads((folder / "config.json").read_text())
    del config["architectures"]
    config["id2label"] = {"0": "neutral", "1": "toxic"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(vs.ModelLoadError, match="randomly initialised") as info:
        vs.Classifier.from_pretrained(folder, device="cpu")
    assert "score.weight" in str(info.value)


def test_text_checkpoint_without_its_classifier_head_is_refused(tmp_path, roberta_dir):
    from transformers import AutoModel

    folder = tmp_path / "base"
    base = AutoModel.from_pretrained(roberta_dir)  # the encoder alone, no classifier
    base.save_pretrained(folder)
    for f in roberta_dir.glob("tok*"):
        shutil.copy(f, folder / f.name)
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["RobertaModel"]
    with pytest.raises(vs.ModelLoadError, match="lacks weights") as info:
        vs.Classifier.from_pretrained(folder, device="cpu")
    assert "classifier.dense.weight" in str(info.value)
    assert "fine-tuned classification checkpoint" in str(info.value)


def test_audio_checkpoint_without_its_classifier_head_is_refused(tmp_path, v1_dir):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "headless"
    shutil.copytree(v1_dir, folder)
    weights = load_file(str(folder / "model.safetensors"))
    kept = {k: v for k, v in weights.items() if not k.startswith(("classifier", "projector"))}
    assert len(kept) < len(weights)
    save_file(kept, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(vs.ModelLoadError, match="randomly initialised") as info:
        vs.Classifier.from_pretrained(folder, device="cpu")
    assert "classifier.weight" in str(info.value) and "projector.weight" in str(info.value)


def test_complete_checkpoints_still_load(v1_dir, roberta_dir, bert_dir):
    for folder in (v1_dir, roberta_dir, bert_dir):
        assert vs.Classifier.from_pretrained(folder, backend="torch", device="cpu").labels


# ------------------------------------------------------------------ pickled weights


def test_pickled_weights_are_refused_for_safety(tmp_path, roberta_dir, capsys):
    from transformers import AutoModelForSequenceClassification

    folder = tmp_path / "pickled"
    folder.mkdir()
    for f in roberta_dir.iterdir():
        if f.suffix != ".safetensors":
            shutil.copy(f, folder / f.name)
    state = AutoModelForSequenceClassification.from_pretrained(roberta_dir).state_dict()

    class Payload:
        def __reduce__(self):
            return (print, ("PAYLOAD RAN",))

    state["extra"] = Payload()
    torch.save(state, folder / "pytorch_model.bin")
    with pytest.raises(vs.ModelLoadError, match="refuses to unpickle") as info:
        vs.Classifier.from_pretrained(folder, device="cpu")
    message = str(info.value)
    assert "safetensors" in message and "weights_only=False" not in message
    assert "PAYLOAD RAN" not in capsys.readouterr().out


# ------------------------------------------------------------------ names and hub ids


@pytest.mark.parametrize("name", ["Roblox/..", "Roblox/voice--safety", "org/name.git",
                                  "a/" + "b" * 200])
def test_invalid_hub_id_is_a_clear_error(name):
    with pytest.raises(vs.ModelLoadError, match="not a valid hub id") as info:
        vs.Classifier.from_pretrained(name)
    assert "Roblox/voice-safety-classifier-v2" in str(info.value)  # an example of a good one


def test_five_thousand_character_name_is_a_clear_error():
    name = "x" * 5000
    with pytest.raises(vs.ModelLoadError, match="5000 characters") as info:
        vs.Classifier.from_pretrained(name)
    assert len(str(info.value)) < 500  # the name is shortened, not echoed whole


def _offline_cache(monkeypatch, folder: Path) -> None:
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_CACHE", str(folder))
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)


def test_offline_uncached_id_says_both_possibilities(tmp_path, monkeypatch):
    _offline_cache(monkeypatch, tmp_path)
    with pytest.raises(vs.ModelLoadError, match="not in the local cache") as info:
        vs.Classifier.from_pretrained("someone/unknown-model")
    message = str(info.value)
    assert "never downloaded" in message and "misspelled" in message
    assert "Did you mean" not in message  # nothing close to suggest


def test_offline_typo_of_a_known_id_suggests_it(tmp_path, monkeypatch):
    _offline_cache(monkeypatch, tmp_path)
    (tmp_path / "models--acme--toxicity-classifier").mkdir()  # in this machine's cache
    with pytest.raises(vs.ModelLoadError, match="Did you mean") as info:
        vs.Classifier.from_pretrained("Roblox/voice-safety-clasifier-v2")
    assert "'Roblox/voice-safety-classifier-v2'" in str(info.value)
    with pytest.raises(vs.ModelLoadError, match="'acme/toxicity-classifier'"):
        vs.Classifier.from_pretrained("acme/toxicity-clasifier")
