"""Issue 19: no silent garbage from bad or borderline audio input, and every mistake is a
VoiceSafetyError whose message says what to do. Real models throughout (the embedded mini)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import voicesafety as vs

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "audio"


@pytest.fixture(scope="module")
def mini():
    return vs.Classifier.from_pretrained(backend="torch")


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """The toxic harassment example clip at 16 kHz."""
    import soundfile as sf

    samples, rate = sf.read(EXAMPLES / "toxic_harassment.ogg", dtype="float32")
    assert rate == 16_000
    return samples


# ---------------------------------------------------------------- clips too short for the model


def test_the_embedded_model_ignores_input_below_its_minimum(mini, speech):
    """Why the minimum is 0.25 s: far below it the model's output barely depends on the input
    (silence, speech and noise within 0.005 at 0.105 s with the real-speech weights; 1e-4 with
    the previous ones), well above it it does."""
    assert mini.audio.spec.min_samples == 4_000
    module = mini.audio.backend.module
    for n, lo, hi in ((1_679, 0.0, 5e-3), (8_000, 0.1, 1.0)):
        batch = torch.from_numpy(np.stack([
            np.zeros(n, np.float32), speech[8_000 : 8_000 + n],
            0.05 * np.random.default_rng(0).standard_normal(n).astype(np.float32)]))
        with torch.no_grad():
            probs = module(batch).sigmoid()
        assert lo <= float((probs.max(0).values - probs.min(0).values).max()) <= hi


@pytest.mark.parametrize("n", [1, 400, 1_679, 3_999])
def test_clips_shorter_than_the_minimum_are_too_short_and_not_flagged(mini, n):
    for samples in (np.zeros(n, np.float32), np.full(n, 0.3, np.float32)):
        result = mini.score(samples, sample_rate=16_000)
        assert result.too_short and not result.flagged and result.flags == []
        assert result.windows == [] and result.toxicity == 0.0
        assert result.duration == pytest.approx(n / 16_000)


def test_a_clip_at_the_minimum_is_scored(mini, speech):
    result = mini.score(speech[:4_000], sample_rate=16_000)
    assert not result.too_short and len(result.windows) == 1


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_too_short_on_every_backend(backend):
    clf = vs.Classifier.from_pretrained(backend=backend)
    result = clf.score(np.zeros(1_000, np.float32), sample_rate=16_000)
    assert result.too_short and not result.flagged


# ---------------------------------------------------------------- rates, windows, magnitudes


@pytest.mark.parametrize("rate", [1, 999, 768_001, 10**9])
def test_absurd_sample_rates_are_refused_before_resampling(mini, rate):
    with pytest.raises(vs.InvalidInputError, match=r"\[1000, 768000\] Hz"):
        mini.score(np.zeros(16_000, np.float32), sample_rate=rate)
    with pytest.raises(vs.InvalidInputError, match="sample_rate"):  # a call-level mistake
        mini.score([np.zeros(16_000, np.float32)], sample_rate=rate, errors="return")


@pytest.mark.parametrize("kwargs, match", [
    ({"window": 0.02}, r"window must lie in \[0.25, 60\]"),
    ({"window": 1e-5}, r"window must lie in \[0.25, 60\]"),
    ({"window": 61.0}, r"window must lie in \[0.25, 60\]"),
    ({"window": float("inf")}, "finite"),
    ({"window": float("nan")}, "finite"),
    ({"window": -1.0}, "positive"),
    ({"window": "3"}, "number of seconds"),
    ({"window": 3.0, "hop": float("inf")}, "finite"),
    ({"window": 3.0, "hop": 1e-5}, r"hop must lie in \[0.01, window=3\]"),
    ({"window": 3.0, "hop": 0.0}, "positive"),
    ({"window": 3.0, "hop": 4.0}, "skipped"),
    ({"hop": 1e-5}, "hop must lie"),
])
def test_bad_window_and_hop_raise_invalid_input(mini, kwargs, match):
    with pytest.raises(vs.InvalidInputError, match=match):
        mini.score(np.zeros(16_000, np.float32), sample_rate=16_000, **kwargs)


@pytest.mark.parametrize("peak", [1e5, 1e19, 3e38])
def test_huge_finite_samples_are_refused(mini, peak):
    samples = np.zeros(16_000, np.float32)
    samples[::7] = peak
    with pytest.raises(vs.InvalidInputError, match=r"\[-1, 1\]"):
        mini.score(samples, sample_rate=16_000)


def test_huge_samples_in_a_file_are_refused(mini, tmp_path):
    import soundfile as sf

    path = tmp_path / "loud.wav"
    sf.write(path, np.full(16_000, 1e20, np.float32), 16_000, subtype="FLOAT")
    with pytest.raises(vs.InvalidInputError, match=r"\[-1, 1\]"):
        mini.score(path)


def test_int16_pcm_scale_floats_are_still_accepted(mini, speech):
    result = mini.score(speech * 32_767, sample_rate=16_000)
    assert result.ok and np.isfinite(list(result.scores.values())).all()


def test_non_finite_model_output_is_an_error_not_empty_flags(speech):
    """A model returning NaN (here: a real mini model with a NaN weight) is an error."""
    broken = vs.Classifier.from_pretrained(backend="torch")
    with torch.no_grad():
        broken.audio.backend.module.classifier.bias[0] = float("nan")
    with pytest.raises(vs.BackendError, match="NaN"):
        broken.score(speech, sample_rate=16_000)
    results = broken.score([speech, speech], sample_rate=16_000, errors="return")
    assert [r.error for r in results] == ["BackendError", "BackendError"]


# ---------------------------------------------------------------- sample rate of arrays


def test_arrays_without_sample_rate_warn_once_per_call_site(mini):
    x = np.zeros(16_000, np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's default: once per call site
        for _ in range(3):
            mini.score(x)
        mini.score(x, sample_rate=16_000)
        mini.score(str(EXAMPLES / "clean_gg.ogg"))
    rate_warnings = [w for w in caught if issubclass(w.category, vs.SampleRateWarning)]
    assert len(rate_warnings) == 1
    assert "sample_rate=" in str(rate_warnings[0].message)
    assert rate_warnings[0].filename == __file__  # points at the user's line


def test_48k_array_with_its_rate_keeps_its_flags(mini):
    import soundfile as sf

    samples, _ = sf.read(EXAMPLES / "toxic_harassment.ogg", dtype="float32")
    import soxr

    at48 = soxr.resample(samples, 16_000, 48_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vs.SampleRateWarning)
        misread = mini.score(at48)
    right = mini.score(at48, sample_rate=48_000)
    assert right.flags == mini.score(samples, sample_rate=16_000).flags != []
    assert misread.flags != right.flags  # what the warning is about


# ---------------------------------------------------------------- mistakes inside a list


def test_meta_tensor_in_a_list_is_that_items_error(mini, speech):
    meta = torch.zeros(16_000, device="meta")
    results = mini.score([speech, meta, speech], sample_rate=16_000, errors="return")
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error == "InvalidInputError" and "meta" in results[1].message
    with pytest.raises(vs.InvalidInputError, match="input #1.*meta"):
        mini.score([speech, meta], sample_rate=16_000)


def _score_in_subprocess(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, env=env)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this OS")
def test_a_fifo_is_refused_before_anything_reads_it(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    # In a subprocess with a timeout: a regression hangs there and fails here.
    done = _score_in_subprocess(f"""
        import numpy as np, voicesafety as vs
        clf = vs.Classifier.from_pretrained(backend="torch")
        res = clf.score([{str(fifo)!r}, np.zeros(16000, np.float32)], sample_rate=16000,
                        errors="return")
        print(res[0].error, "|", res[0].message, "|", res[1].ok)
        try:
            clf.score({str(fifo)!r})
        except vs.AudioDecodeError as exc:
            print("raised", exc)
    """)
    assert done.returncode == 0, done.stderr
    assert "AudioDecodeError | " in done.stdout and "named pipe (FIFO)" in done.stdout
    assert "| True" in done.stdout and "raised" in done.stdout


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_is_refused(mini):
    with pytest.raises(vs.AudioDecodeError, match="a device"):
        mini.score("/dev/zero")


# ---------------------------------------------------------------- text normalisation

Z = "\u200b"
# " uninstall": the embedded model's Harassment threshold (0.996) leaves the bare "you are
# trash" (0.905) unflagged; the test needs a clean text that is flagged.
SUFFIX = " uninstall"
CLEAN = "you are trash" + SUFFIX
EVASIONS = {
    name: text + SUFFIX
    for name, text in {
        "zero-width space per word": f"you{Z} are{Z} trash{Z}",
        "zero-width space inside words": f"y{Z}ou a{Z}re tr{Z}ash",
        "zero-width joiner": "you are tr\u200dash",
        "bidi override": "you are \u202etrash\u202c",
        "Cyrillic look-alikes": "уоu аrе trаsh",
        "all-Cyrillic word among Latin": "you are тrаѕh",
        "Greek look-alikes": "yου are τrαsh",
        "fullwidth": "ｙｏｕ ａｒｅ ｔｒａｓｈ",
    }.items()
}


@pytest.mark.parametrize("name", list(EVASIONS))
def test_evasions_score_like_the_clean_text(mini, name):
    clean = mini.score_text(CLEAN)
    evaded = mini.score_text(EVASIONS[name])
    assert clean.flagged and clean.toxicity > 0.9
    assert evaded.scores == pytest.approx(clean.scores, abs=1e-6)
    assert evaded.flags == clean.flags
    assert evaded.text == EVASIONS[name]  # the result keeps the original text


@pytest.mark.parametrize("text", [
    "все хорошо, увидимся завтра",  # Russian: no look-alike folding
    "Ελληνικά κείμενο",  # Greek
    "café naïve résumé",  # Latin with accents
    "gg wp everyone",
])
def test_genuine_text_is_left_alone(text):
    from voicesafety.text import normalize_text

    assert normalize_text(text) == unicodedata.normalize("NFKC", text)


def test_normalisation_applies_to_hugging_face_tokenizers(roberta_dir):
    clf = vs.Classifier.from_pretrained(roberta_dir, backend="torch")
    clean = clf.score_text("you are trash")
    for text in (f"you{Z} are{Z} trash", "you are \u202etrash\u202c", "уоu аrе trаsh"):
        assert clf.score_text(text).scores == pytest.approx(clean.scores, abs=1e-6)


def test_invisible_only_text_is_blank(mini):
    result = mini.score_text(f"{Z}\u200d\u2060")
    assert result.num_tokens == 0 and result.toxicity == 0.0 and not result.flagged


def test_training_encodes_through_the_same_normalisation(mini):
    from voicesafety.text import TextEncoder
    from voicesafety.train.tokenizer import encode

    tok = mini.text.tokenizer
    ids, _ = encode(TextEncoder(tok, 32), [CLEAN, EVASIONS["Cyrillic look-alikes"]])
    assert ids[0].tolist() == ids[1].tolist()


def test_a_lone_surrogate_says_what_is_wrong(mini):
    with pytest.raises(vs.InvalidInputError, match="lone surrogate U\\+DC80") as info:
        mini.score_text("hi \udc80 there")
    assert "max_length" not in str(info.value)
    with pytest.raises(vs.InvalidInputError, match="input #1: text holds a lone surrogate"):
        mini.score_text(["fine", "bad \ud800"])


def test_non_finite_text_output_is_an_error():
    broken = vs.Classifier.from_pretrained(backend="torch")
    module = broken.text.backend.module
    head = [m for m in module.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        head.bias[0] = float("nan")
    with pytest.raises(vs.BackendError, match="NaN"):
        broken.score_text("gg")
    with pytest.raises(vs.BackendError, match="NaN"):
        broken.score_text(["gg"], as_tensor=True)


def test_from_pretrained_takes_a_plain_threshold_dict():
    clf = vs.Classifier.from_pretrained(backend="torch", policy={"Profanity": 0.25})
    assert clf.policies == {"audio": vs.ThresholdPolicy(thresholds={"Profanity": 0.25}),
                            "text": vs.ThresholdPolicy(thresholds={"Profanity": 0.25})}


def test_non_finite_output_in_a_list_raises_once_naming_the_inputs(tmp_path, speech):
    import soundfile as sf

    broken = vs.Classifier.from_pretrained(backend="torch")
    with torch.no_grad():
        broken.audio.backend.module.classifier.bias[0] = float("nan")
    path = tmp_path / "a.wav"
    sf.write(path, speech, 16_000)
    with pytest.raises(vs.BackendError) as info:
        broken.score([path, path])
    assert str(info.value).startswith("the model returned NaN") and "a.wav" in str(info.value)
