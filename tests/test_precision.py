"""``precision=``: float16/bfloat16 weights on CUDA with torch; clear errors elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import requires_cuda

import voicesafety as vs

TEXTS = ["you are a stupid noob", "good game well played", "gg", "hello friend , thanks !"]


def _clip(seconds: float, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal(int(16_000 * seconds))).astype(np.float32)


def test_results_report_float32_by_default(v1_dir):
    clf = vs.Classifier.from_pretrained(v1_dir, backend="torch", device="cpu")
    assert clf.audio.info().precision == "float32"
    assert clf.score(_clip(1.0)).model.precision == "float32"


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_reduced_precision_on_cpu_is_refused_with_the_fix(v1_dir, precision):
    with pytest.raises(vs.BackendError, match="CUDA only.*backend='auto'"):
        vs.Classifier.from_pretrained(v1_dir, device="cpu", precision=precision)


def test_reduced_precision_is_refused_before_anything_is_loaded():
    # a hub id that would need the network: the precision error comes first
    with pytest.raises(vs.BackendError, match="CUDA only"):
        vs.Classifier.from_pretrained("someone/not-downloaded", device="cpu",
                                      precision="float16")


def test_unknown_precision_names_the_choices(v1_dir):
    with pytest.raises(vs.BackendError, match="float32, float16, bfloat16"):
        vs.Classifier.from_pretrained(v1_dir, device="cpu", precision="fp8")


def test_cli_takes_precision(v1_dir, capsys, tmp_path):
    import soundfile as sf

    from voicesafety.cli import main

    wav = tmp_path / "a.wav"
    sf.write(wav, _clip(1.0), 16_000)
    assert main(["score", str(wav), "--model", str(v1_dir), "--device", "cpu",
                 "--precision", "float32", "--json"]) == 0
    assert '"precision":"float32"' in capsys.readouterr().out
    assert main(["score", str(wav), "--model", str(v1_dir), "--device", "cpu",
                 "--precision", "float16"]) == 2
    assert "CUDA only" in capsys.readouterr().err


@requires_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("precision,bound", [("float16", 5e-3), ("bfloat16", 3e-2)])
def test_cuda_reduced_precision_audio_stays_close_to_float32(v1_dir, precision, bound):
    ref = vs.Classifier.from_pretrained(v1_dir, backend="torch", device="cpu")
    clf = vs.Classifier.from_pretrained(v1_dir, backend="torch", device="cuda",
                                        precision=precision)
    clips = [_clip(s, seed) for seed, s in enumerate((0.5, 2.0, 3.3))]
    got, want = clf.score(clips, batch_size=3), ref.score(clips)
    assert all(r.model.precision == precision for r in got)
    diff = max(abs(g.scores[k] - w.scores[k]) for g, w in zip(got, want) for k in g.scores)
    print(f"{precision}: max |score difference| vs CPU float32 = {diff:.2e}")
    assert diff <= bound


@requires_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("precision,bound", [("float16", 5e-3), ("bfloat16", 3e-2)])
def test_cuda_reduced_precision_text_stays_close_to_float32(roberta_dir, precision, bound):
    ref = vs.Classifier.from_pretrained(roberta_dir, backend="torch", device="cpu")
    clf = vs.Classifier.from_pretrained(roberta_dir, device="cuda", precision=precision)
    assert clf.text.info().backend == "torch"  # auto is torch on CUDA
    got = clf.score_text(TEXTS, as_tensor=True).cpu().numpy()
    want = ref.score_text(TEXTS, as_tensor=True).numpy()
    print(f"{precision}: max |score difference| vs CPU float32 = {abs(got - want).max():.2e}")
    assert got.dtype == np.float32 and abs(got - want).max() <= bound


@requires_cuda
@pytest.mark.cuda
def test_cuda_reduced_precision_needs_torch(v1_dir):
    with pytest.raises(vs.BackendError, match="use backend='torch'"):
        vs.Classifier.from_pretrained(v1_dir, backend="onnx", device="cuda",
                                      precision="float16")


@requires_cuda
@pytest.mark.cuda
def test_cuda_half_text_module_keeps_float32_gradients(roberta_dir):
    clf = vs.Classifier.from_pretrained(roberta_dir, device="cuda", precision="float16")
    module = clf.text_module()
    assert next(module.parameters()).dtype.is_floating_point
    assert str(next(module.parameters()).dtype) == "torch.float32"
