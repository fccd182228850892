"""Miniature end-to-end run of the mini-model training pipeline (keeps training code alive)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
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
        text_arch={"dim": 16, "layers": 1, "heads": 2, "max_length": 32, "lexicon": True},
        text_epochs=1,
        text_batch=16,
        n_audio_train=6,
        n_audio_val=4,
        n_audio_test=3,
        n_babble=2,
        audio_arch={"n_mels": 16, "channels": 16, "attn_layers": 1, "heads": 2},
        audio_epochs=2,
        audio_batch=4,
        audio_head={"head_channels": 16, "head_layers": 1},
        n_sim_text=20,
        sim_batch=4,
        n_non_speech=4,
        n_non_speech_test=3,
        real_text_limit=12,
        benign_per_epoch=8,
        n_real_espeak=3,
        n_piper=2,
        recording_copies=1,
        real_speech_limit=3,
        n_sim_real=6,
        n_real_spoken_test=4,
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


def test_training_only_templates_never_reach_the_heldout_split() -> None:
    import re

    from training.corpus import SLOTS, TEMPLATES, is_heldout

    second = [t for t in TEMPLATES if t.train_only]
    first = [t for t in TEMPLATES if not t.train_only]
    assert second and not any(is_heldout(t) for t in second)
    # the held-out split is every fifth template of the first set
    assert all(is_heldout(t) == (t.index % 5 == 3) for t in first)
    # every slot used by either set has fillers, and no phrasing is in both
    assert all(s in SLOTS for t in TEMPLATES for s in re.findall(r"{(\w+)}", t.text))
    assert not {t.text for t in first} & {t.text for t in second}


def test_text_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from training import audio_data
    from training.train_mini import run

    monkeypatch.setattr(audio_data, "espeak_available", lambda: False)
    metrics = run(_settings(tmp_path))
    assert "text test" in metrics["text"]
    # every real source's held-out test split is evaluated, with the benign flag rate
    from training.real_text import SOURCES

    for name in SOURCES:
        assert 0.0 <= metrics["text"][f"real test {name}"]["binarized_recall"] <= 1.0
    model, cfg = load_mini(tmp_path / "mini" / "text")
    assert cfg["trained"] is True and cfg["labels"] == LABELS
    assert (tmp_path / "mini" / "text" / "tokenizer.json").exists()
    assert set(load_policy(tmp_path / "mini" / "text")["thresholds"]) == set(LABELS)



def test_dev_split_keeps_test_templates_out_and_dev_templates_out_of_training() -> None:
    from training.corpus import TEMPLATES, generate, template_split, vocabulary_noise

    split = {t: template_split(t, dev=True) for t in TEMPLATES}
    assert set(split.values()) == {"train", "dev", "test"}
    dev = [t for t, sp in split.items() if sp == "dev"]
    assert all(t.index % 5 == 1 and not t.train_only for t in dev)
    assert not {t.text for t in dev} & {t.text for t, sp in split.items() if sp == "train"}
    # without dev, the same templates are training ones and the test split is unchanged
    assert all(template_split(t) == "train" for t in dev)
    assert all(template_split(t) == sp for t, sp in split.items() if sp == "test")
    held = generate(300, 0, heldout=True, dev=True)
    assert all(e.heldout for e in held) and {e.category for e in held} >= {"benign", "hardneg"}
    assert len(vocabulary_noise(20, 0, dev=True)) == 20


def test_text_dev_mode_reports_dev_split_and_writes_no_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training import audio_data
    from training.train_mini import run

    monkeypatch.setattr(audio_data, "espeak_available", lambda: True)  # must not get that far
    s = _settings(tmp_path)
    s.text_dev = True
    metrics = run(s)
    names = set(metrics["text"])
    assert {"text val", "text dev"} <= names and "text test" not in names
    # the real sources' dev split is reported; their test split is never touched here
    assert any(n.startswith("real dev ") for n in names)
    assert not any(n.startswith("real test") for n in names)
    assert not (tmp_path / "mini").exists()
    assert (tmp_path / "data" / "text_dev.jsonl").exists()
    assert not (tmp_path / "data" / "text_test.jsonl").exists()

@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_full_pipeline_with_audio(tmp_path: Path) -> None:
    from training.audio_data import FOREIGN_LANGS
    from training.train_mini import run

    metrics = run(_settings(tmp_path))
    assert "audio all held-out" in metrics["audio"]
    model, cfg = load_mini(tmp_path / "mini" / "audio")
    assert cfg["model_type"] == "voicesafety-mini-audio" and cfg["sample_rate"] == 16000
    # phone bottleneck: CTC classes = espeak-ng phonemes seen in training + the blank
    assert cfg["arch"]["phones"] == len(cfg["phone_inventory"]) > 10
    assert cfg["phone_inventory"][0] == "<blank>"
    assert metrics["audio_non_speech"]["n"] == 3
    manifest = [json.loads(r) for r in (tmp_path / "data" / "audio_manifest.jsonl").open()]
    train_langs = {r["voice"].split("+")[0] for r in manifest if r["split"] == "train"}
    assert train_langs & set(FOREIGN_LANGS)  # foreign-accented clips are in the training set
    assert 0.0 <= metrics["audio_non_speech"]["flagged"] <= 1.0
    with torch.no_grad():
        out = model(torch.zeros(2, 400))
    assert out.shape == (2, len(LABELS))
    json.loads((tmp_path / "work" / "metrics.json").read_text())


def test_simulated_posteriors_are_distributions_with_the_phones_in_order() -> None:
    import random

    from training.train_mini import simulate_posteriors

    seqs = [[3, 5, 7, 9], [2]]
    post = simulate_posteriors(seqs, 12, random.Random(0), sub=0.0)
    assert post.shape[0] == 2 and post.shape[2] == 12
    torch.testing.assert_close(post.sum(-1), torch.ones(post.shape[:2]))
    peaks = post[0].argmax(-1)
    kept = [int(p) for i, p in enumerate(peaks) if p != 0 and (i == 0 or peaks[i - 1] != p)]
    assert kept == [p for p in seqs[0] if p in kept] and len(kept) >= 2  # order kept
    assert (post[1, :, 1:].sum(0) > 0).nonzero().flatten().tolist() in ([1], [])  # only phone 2


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_phonemize_many_matches_one_call_per_text() -> None:
    from training.audio_data import phonemize, phonemize_many

    texts = ["you're such a noob, go uninstall!", "", "my dealer has weed for five bucks"]
    many = phonemize_many(texts, "en-gb")
    assert many[1] == []
    assert many[0] == phonemize(texts[0], "en-gb") and many[2] == phonemize(texts[2], "en-gb")
    assert "n" in many[0] and all("'" not in p for p in many[0])


def test_foreign_training_voices_never_speak_a_heldout_or_english_accent() -> None:
    from training import audio_data as AD

    foreign = set(AD.FOREIGN_LANGS)
    assert not foreign & set(AD.TRAIN_LANGS + AD.HELDOUT_LANGS)
    assert not any(lang.startswith("en") for lang in foreign)
    rng = np.random.default_rng(0)
    for _ in range(200):
        v = AD.sample_train_voice(rng, foreign=True)
        lang, _, variant = v.voice.partition("+")
        assert lang in foreign and variant not in AD.HELDOUT_VARIANTS
    assert AD.sample_train_voice(rng).voice.split("+")[0] in AD.TRAIN_LANGS


def test_phones_drop_language_switch_markers() -> None:
    from training.audio_data import _phones

    got = _phones("k 'I l  (en) D @ (de)  f i: n 'A: l _!")
    assert got == ["k", "I", "l", "D", "@", "f", "i:", "n", "A:", "l"]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_foreign_voices_are_installed_and_read_english() -> None:
    import subprocess

    from training.audio_data import FOREIGN_LANGS, phonemize

    listed = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True).stdout
    installed = {line.split()[1] for line in listed.splitlines()[1:] if line.split()}
    assert set(FOREIGN_LANGS) <= installed
    phones = phonemize("kill the final boss", "de")  # German voice: switches to English words
    assert len(phones) > 6 and not any(p.startswith(("(", "_")) for p in phones)


def test_export_check_uses_the_library_exporter_on_the_shipped_bundle() -> None:
    pytest.importorskip("onnxruntime")
    from training.export import check_bundle

    res = check_bundle()
    assert set(res) == {"audio", "text"}
    for part, reports in res.items():
        assert set(reports) == {"torchscript", "onnx", "onnx-int8"}
        for backend, r in reports.items():
            assert r["passed"] and r["modality"] == part and r["backend"] == backend
            assert r["items"] >= 100 and r["mb"] > 0.5
        assert reports["onnx"]["max_abs_diff"] <= 1e-4


def test_benign_flag_cap_holds_for_every_group_and_only_raises_thresholds() -> None:
    from training.metrics import cap_benign_flag_rate

    rng = np.random.default_rng(0)
    groups = [rng.beta(1, 8, size=(n, len(LABELS))) for n in (500, 2000, 120)]
    groups[2][:, 0] += 0.3  # one source's benign texts look like Discrimination
    base = dict.fromkeys(LABELS, 0.3)
    thr = cap_benign_flag_rate(base, groups, 0.02)
    t = np.array([thr[lab] for lab in LABELS])
    for g in groups:
        assert (g >= t).any(axis=1).mean() <= 0.02
    assert all(thr[lab] >= base[lab] for lab in LABELS)
    assert all(0.0 < v < 1.0 for v in thr.values())
    # strict enough already: nothing changes
    assert cap_benign_flag_rate(dict.fromkeys(LABELS, 0.999), groups, 0.02) == dict.fromkeys(
        LABELS, 0.999
    )


def test_partial_label_loss_ignores_unknown_labels_and_trains_the_max_on_any_toxic() -> None:
    from training.train_mini import partial_label_loss

    logits = torch.zeros(2, len(LABELS), requires_grad=True)
    y = torch.full((2, len(LABELS)), float("nan"))
    y[0, 1] = 1.0  # row 0 knows one label; row 1 knows none (a toxic-only source)
    toxic = torch.tensor([1.0, 1.0])
    partial_label_loss(logits, y, toxic, any_weight=0.0).backward()
    g = logits.grad.clone()
    assert g[0, 1] < 0 and torch.count_nonzero(g) == 1  # only the known label gets gradient
    logits.grad = None
    partial_label_loss(logits, y, toxic, any_weight=1.0).backward()
    assert (logits.grad[1] <= 0).all() and logits.grad[1].sum() < 0  # the max is pushed up


def test_the_any_toxic_max_runs_over_the_allowed_labels_only() -> None:
    from training.train_mini import partial_label_loss

    y = torch.full((2, len(LABELS)), float("nan"))
    toxic = torch.tensor([1.0, 1.0])
    sexual, harassment = LABELS.index("Sexual"), LABELS.index("Harassment")
    allowed = torch.zeros(2, len(LABELS), dtype=torch.bool)
    allowed[0, harassment] = True  # row 1 allows no label: it falls back to all of them
    logits = torch.zeros(2, len(LABELS))
    logits[:, sexual] = 3.0  # the label the model already scores highest
    logits.requires_grad_(True)
    partial_label_loss(logits, y, toxic, 1.0, allowed).backward()
    g = logits.grad
    assert g[0, harassment] < 0 and torch.count_nonzero(g[0]) == 1  # not the Sexual sink
    assert g[1, sexual] < 0 and torch.count_nonzero(g[1]) == 1  # every label allowed
    logits.grad = None
    partial_label_loss(logits, y, toxic, 1.0).backward()  # the default: every label
    assert logits.grad[0, sexual] < 0 and logits.grad[0, harassment] == 0


def test_any_label_mask_limits_only_real_toxic_rows_without_a_known_label() -> None:
    from training.train_mini import SWEAR_PATTERN, Settings, TextSet, any_label_mask

    y = np.full((5, len(LABELS)), np.nan, np.float32)
    y[1, LABELS.index("Sexual")] = 1.0  # a known positive explains the flag itself
    y[3] = 0.0  # a benign row
    ts = TextSet(["you moron", "b", "c", "d", "what the f*ck is this shit"], y,
                 np.array([1, 1, 1, 0, 1], np.float32),
                 np.array([False, False, True, False, False]),
                 ["toxic_spans", "convabuse", "synthetic", "sgd", "hatexplain"])  # fmt: skip
    s = Settings()  # the shipped recipe: the three labels on every unexplained real row
    mask = any_label_mask(ts, s)
    assert mask is not None
    for row in (0, 4):
        assert [lab for lab, ok in zip(LABELS, mask[row]) if ok] == list(s.real_any_labels)
    assert mask[1:4].all()
    # with real_any_needs, Profanity only where a swear word could explain the flag
    needs = any_label_mask(ts, replace(s, real_any_needs={"Profanity": SWEAR_PATTERN}))
    assert needs is not None
    assert [lab for lab, ok in zip(LABELS, needs[0]) if ok] == ["Discrimination", "Harassment"]
    assert (needs[4] == mask[4]).all() and (needs[1:4] == mask[1:4]).all()
    assert any_label_mask(ts, replace(s, real_any_labels=())) is None


def test_evaluate_uses_known_labels_and_reports_the_benign_flag_rate() -> None:
    from training.metrics import evaluate

    y = np.full((4, len(LABELS)), np.nan)
    y[:2, 0] = [1, 0]
    p = np.zeros((4, len(LABELS)))
    p[0, 0], p[2, 3] = 0.9, 0.8
    toxic = np.array([1, 0, 1, 0])
    r = evaluate(y, p, dict.fromkeys(LABELS, 0.5), toxic)
    assert r["per_label"]["Discrimination"]["ap"] == 1.0
    assert np.isnan(r["per_label"]["Harassment"]["ap"])
    assert r["fpr"] == 0.0 and r["binarized_recall"] == 1.0


def test_predict_text_gives_blank_texts_zero_without_running_the_model() -> None:
    from tokenizers import Tokenizer

    from training.train_mini import predict_text

    text = Path(__file__).resolve().parents[1] / "voicesafety" / "models" / "mini" / "text"
    model, cfg = load_mini(text)
    tok = Tokenizer.from_file(str(text / "tokenizer.json"))
    p = predict_text(model, tok, ["", "   ", "you are trash"] + [""] * 300, cfg["max_length"])
    assert p.shape == (303, len(LABELS))
    assert not p[:2].any() and not p[3:].any() and p[2].max() > 0


def test_unannotated_labels_are_assumed_absent_on_real_training_rows() -> None:
    from training.train_mini import Settings, TextSet, assume_absent

    y = np.full((3, len(LABELS)), np.nan, np.float32)
    y[2, LABELS.index("DatingAndRomantic")] = 1.0  # a known value is never overwritten
    ts = TextSet(["a", "b", "c"], y, np.ones(3, np.float32), np.zeros(3, bool),
                 ["toxic_spans", "convabuse", "hatexplain"])  # fmt: skip
    out = assume_absent(ts, Settings())
    dating = out.y[:, LABELS.index("DatingAndRomantic")]
    assert dating[0] == 0.0 and np.isnan(dating[1]) and dating[2] == 1.0
    others = [k for k, lab in enumerate(LABELS) if lab != "DatingAndRomantic"]
    assert np.isnan(out.y[:, others]).all()  # only the named label changes
    assert np.isnan(ts.y[0, LABELS.index("DatingAndRomantic")])  # the input is not modified


def test_embedded_text_model_does_not_file_insults_under_dating() -> None:
    """Without ``Settings.real_absent`` the "any toxic" loss on real toxic rows (whose
    DatingAndRomantic is unknown) made that label a sink for insults: "you idiot" scored it 0.99.
    Without ``Settings.real_any_labels`` one member made Sexual such a sink. Insults aimed at
    the reader are Harassment; "what an idiot" is flagged, but mostly as Profanity (a known
    failure mode, docs/models.md), so only its flag is checked.
    """
    from voicesafety import Classifier

    clf = Classifier.from_pretrained(backend="torch")
    for text in ["you idiot", "what an idiot", "you are so stupid"]:
        r = clf.score_text(text)
        assert r.flagged, (text, r.scores)
        for label in ("DatingAndRomantic", "Sexual"):
            assert r.scores[label] < 0.5, (text, label, r.scores)
    for text in ["you idiot", "you are so stupid"]:
        assert "Harassment" in clf.score_text(text).flags
    r = clf.score_text("wanna be my gf")
    assert r.scores["DatingAndRomantic"] > 0.9 and "DatingAndRomantic" in r.flags


def test_text_members_train_and_save_as_one_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import voicesafety as vs
    from training import audio_data
    from training.train_mini import run
    from voicesafety.models.arch import MiniTextEnsemble

    monkeypatch.setattr(audio_data, "espeak_available", lambda: False)
    s = replace(_settings(tmp_path), audio=False, text_member_seeds=(7,))
    metrics = run(s)
    model, config = load_mini(tmp_path / "mini" / "text")
    assert isinstance(model, MiniTextEnsemble) and config["arch"]["members"] == 2
    a, b = (dict(m.named_parameters()) for m in model.members)
    assert any(not torch.equal(a[k], b[k]) for k in a)  # two trained members, not one twice
    assert 0.0 <= metrics["text"]["text test"]["binarized_ap"] <= 1.0
    clf = vs.Classifier.from_pretrained(tmp_path / "mini" / "text", backend="torch")
    assert all(0.0 <= r.toxicity <= 1.0 for r in clf.score_text(["you are trash", "gg wp"]))
