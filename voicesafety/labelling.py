"""Machine labelling of voice audio (the Roblox recipe): VAD → ASR → text classifier → dataset.

:func:`label_files` splits each file into speech segments with Silero VAD (:mod:`.vad`, the
same region finding as ``score(..., vad=True)``; segments longer than ``max_segment`` seconds,
30 by default as Whisper's window, are cut), transcribes every segment with a pluggable
:class:`Transcriber` (the first engine is :class:`FasterWhisper`: CTranslate2, any Whisper
model id or converted folder), scores the transcripts with a voicesafety text model (default:
the embedded one) and writes a dataset folder:

* ``segments.parquet``: one row per speech segment, or one error row per file that could not
  be read or decoded, or one row with ``segment`` null per file without speech (columns in
  :data:`FIXED_COLUMNS` plus one float column per label of the text model);
* ``train.parquet``: the segments that have a clip, as ``audio`` (clip path, relative to the
  folder), ``transcript`` and one column per label: ready for ``voicesafety train audio
  DATASET/train.parquet --out STUDENT`` (docs/labelling.md);
* ``clips/``: each segment's 16 kHz mono audio as a WAV file (``export_clips=True``);
* ``manifest.json``: models, versions, settings and counts;
* ``parts/``: the rows as written, one Parquet file per group of files (a crash loses at most
  the group being labelled; ``segments.parquet`` is rebuilt from them at the end of a run).

A re-run on the same folder skips files already labelled, keyed by absolute path, size and
modification time (a changed file is labelled again and its new rows replace the old ones).
Files that cannot be read or decoded become error rows and are not retried while unchanged.

``engine="ray"`` labels the files on a Ray Data actor pool (each actor loads the ASR and the
text model once) with the same row function, so both engines give the same rows.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast, runtime_checkable

import numpy as np

from ._version import __version__
from .audio import AudioSource, Window
from .batch import audio_files
from .classifier import Classifier
from .errors import InvalidInputError, VoiceSafetyError, require
from .pipeline import _disabled, progress_bar
from .vad import VAD_RATE, SpeechWindower, VadOptions, load_vad

if TYPE_CHECKING:
    import pyarrow as pa

#: The dataset folder's format tag (in ``manifest.json``).
FORMAT = "voicesafety-label/1"
#: Columns of ``segments.parquet`` before the per-label score columns.
FIXED_COLUMNS = ("source", "source_size", "source_mtime_ns", "segment", "start", "end",
                 "audio", "transcript", "asr_confidence", "toxicity", "flagged", "flags",
                 "source_duration", "error")
#: Whisper's input window (seconds): the default longest segment.
WHISPER_WINDOW = 30.0
Engine = Literal["local", "ray"]


# --------------------------------------------------------------------------- ASR


@runtime_checkable
class Transcriber(Protocol):
    """A speech recogniser for :func:`label_files`.

    ``transcribe`` takes segments (mono float32 at 16 kHz, each at most 30 s) and returns,
    in order, ``(text, confidence)`` per segment, the confidence in [0, 1] (or NaN when the
    engine has none). ``info`` describes the engine for the dataset's manifest (at least
    ``engine`` and ``model``).
    """

    def transcribe(self, segments: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Text and confidence of each segment."""
        ...

    def info(self) -> dict[str, Any]:
        """Engine, model and settings (JSON-serialisable)."""
        ...


class FasterWhisper:
    """Whisper on CTranslate2 through ``faster-whisper`` (the ``label`` extra).

    Segments are transcribed in batches with one ``generate`` call of CTranslate2 (greedy
    with ``beam_size=1``; no timestamps, no previous-text conditioning, and not faster-whisper's
    own VAD or temperature fallback: the segments come from voicesafety's VAD already). The
    confidence is the geometric mean probability of the generated tokens:
    ``exp(mean token log-probability)``.

    Args:
        model: a Whisper model id faster-whisper knows (``tiny``, ``small.en``,
            ``Systran/faster-whisper-large-v3``: downloaded from the Hugging Face hub) or a
            CTranslate2 Whisper folder (``ct2-transformers-converter`` output with
            ``tokenizer.json``).
        device, compute_type: as for ``faster_whisper.WhisperModel`` (``cpu``/``cuda``;
            ``default``, ``int8``, ``float16``, ...).
        threads: CPU threads (0: CTranslate2's default).
        language: the spoken language (e.g. ``en``) for multilingual models; None detects it
            per segment.
        beam_size: 1 is greedy decoding.
        batch_size: segments per ``generate`` call.
        max_new_tokens: at most this many tokens per segment (default: up to Whisper's 448).
        local_files_only: never download (a model id must then be in the local cache).

    Attributes:
        segments_transcribed: segments transcribed by this object so far.
    """

    def __init__(self, model: str | Path, *, device: str = "cpu", compute_type: str = "default",
                 threads: int = 0, language: str | None = None, beam_size: int = 1,
                 batch_size: int = 8, max_new_tokens: int | None = None,
                 local_files_only: bool = False) -> None:
        require("faster_whisper", "label", "speech recognition (voicesafety label)")
        from faster_whisper import WhisperModel

        if batch_size < 1 or beam_size < 1:
            raise InvalidInputError(
                f"batch_size and beam_size must be at least 1, got {batch_size}, {beam_size}")
        try:
            self.model = WhisperModel(str(model), device=device, compute_type=compute_type,
                                      cpu_threads=threads, local_files_only=local_files_only)
        except Exception as exc:  # faster-whisper raises hub, OS and runtime errors alike
            raise InvalidInputError(
                f"could not load the Whisper model {str(model)!r}: {exc}. Pass a model id "
                "faster-whisper knows (tiny, base.en, ...; needs the hub) or a CTranslate2 "
                "Whisper folder (ct2-transformers-converter --model openai/whisper-tiny "
                "--output_dir DIR --copy_files tokenizer.json preprocessor_config.json)"
            ) from exc
        self.name = str(model)
        self.device = device
        self.compute_type = compute_type
        self.language = language
        self.beam_size = beam_size
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.segments_transcribed = 0
        self._spec = ((str(model),), {"device": device, "compute_type": compute_type,
                                      "threads": threads, "language": language,
                                      "beam_size": beam_size, "batch_size": batch_size,
                                      "max_new_tokens": max_new_tokens,
                                      "local_files_only": local_files_only})

    def spec(self) -> tuple[tuple[str], dict[str, Any]]:
        """``(args, kwargs)`` that build this transcriber again (e.g. in a Ray actor)."""
        return self._spec

    def info(self) -> dict[str, Any]:
        """Engine, model, versions and decoding settings."""
        import ctranslate2
        import faster_whisper

        return {"engine": "faster-whisper", "model": self.name,
                "faster_whisper": faster_whisper.__version__,
                "ctranslate2": ctranslate2.__version__,
                "device": self.device, "compute_type": self.compute_type,
                "language": self.language, "beam_size": self.beam_size,
                "max_new_tokens": self.max_new_tokens,
                "multilingual": bool(self.model.model.is_multilingual)}

    def transcribe(self, segments: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Text and confidence of each segment (batches of ``batch_size``)."""
        out: list[tuple[str, float]] = []
        for i in range(0, len(segments), self.batch_size):
            out += self._batch(segments[i:i + self.batch_size])
        return out

    def _batch(self, segments: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        import ctranslate2
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        if not segments:
            return []
        wm = self.model
        frames = wm.feature_extractor.nb_max_frames
        feats = np.stack([pad_or_trim(wm.feature_extractor(np.asarray(s, np.float32)), frames)
                          for s in segments]).astype(np.float32)
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(feats))
        multilingual = bool(wm.model.is_multilingual)
        languages: list[str | None] = [self.language] * len(segments)
        if multilingual and self.language is None:
            detected = wm.model.detect_language(features)
            languages = [d[0][0][2:-2] for d in detected]  # "<|en|>" -> "en"
        prompts, tokenizers = [], []
        for lang in languages:
            tok = Tokenizer(wm.hf_tokenizer, multilingual, task="transcribe",
                            language=lang if multilingual else None)
            tokenizers.append(tok)
            prompts.append([*tok.sot_sequence, tok.no_timestamps])
        limit = wm.max_length if self.max_new_tokens is None else min(
            wm.max_length, len(prompts[0]) + self.max_new_tokens)
        results = wm.model.generate(
            features, prompts, beam_size=self.beam_size, max_length=limit,
            return_scores=True, suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizers[0], [-1]))
        out = []
        for tok, res in zip(tokenizers, results, strict=True):
            ids = [t for t in res.sequences_ids[0] if t < tok.eot]
            text = tok.decode(ids).strip()
            # scores[0]: the cumulative log-probability over the length (length_penalty 1)
            out.append((text, float(math.exp(res.scores[0])) if res.scores else math.nan))
        self.segments_transcribed += len(segments)
        return out


# --------------------------------------------------------------------------- segments


def speech_segments(item: object, options: VadOptions | None = None,
                    max_segment: float = WHISPER_WINDOW) -> tuple[list[Window], float]:
    """``(segments, duration)`` of one file (a path or its bytes): the speech regions Silero
    VAD finds (as ``score(..., vad=True)``), regions longer than ``max_segment`` seconds cut
    into consecutive pieces; times in seconds of the original file.

    Raises:
        VoiceSafetyError: the input cannot be read or decoded.
    """
    if not 1.0 <= max_segment <= WHISPER_WINDOW:
        raise InvalidInputError(
            f"max_segment must lie in [1, {WHISPER_WINDOW:g}] seconds (Whisper's window), got "
            f"{max_segment!r}")
    source = AudioSource(item, VAD_RATE)
    windower = SpeechWindower(options or VadOptions(), window=max_segment, hop=max_segment,
                              model=load_vad())
    segments: list[Window] = []
    for block in source.blocks():
        segments += windower.feed(block)
    segments += windower.finish()
    return segments, windower.received / VAD_RATE


# --------------------------------------------------------------------------- dataset


@dataclass
class LabelResult:
    """What a :func:`label_files` run did."""

    dataset: Path
    files_labelled: int = 0
    files_skipped: int = 0
    files_failed: int = 0
    segments: int = 0
    seconds: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)

    def table(self) -> pa.Table:
        """The dataset's ``segments.parquet`` (all runs)."""
        import pyarrow.parquet as pq

        return pq.read_table(self.dataset / "segments.parquet")


def _schema(labels: Sequence[str]) -> pa.Schema:
    import pyarrow as pa

    clash = [lab for lab in labels if lab in FIXED_COLUMNS]
    if clash:
        raise InvalidInputError(
            f"the text model's labels {clash} clash with the dataset's own columns "
            f"{list(FIXED_COLUMNS)}; rename the labels or use another text model")
    types = {"source": pa.string(), "source_size": pa.int64(), "source_mtime_ns": pa.int64(),
             "segment": pa.int32(), "start": pa.float64(), "end": pa.float64(),
             "audio": pa.string(), "transcript": pa.string(), "asr_confidence": pa.float64(),
             "toxicity": pa.float64(), "flagged": pa.bool_(), "flags": pa.list_(pa.string()),
             "source_duration": pa.float64(), "error": pa.string()}
    return pa.schema([(c, types[c]) for c in FIXED_COLUMNS]
                     + [(lab, pa.float64()) for lab in labels])


def _key(path: str) -> tuple[str, int, int]:
    """``(absolute path, size, mtime_ns)``; size and mtime -1 for a file that is missing."""
    absolute = os.path.abspath(path)
    try:
        st = os.stat(absolute)
    except OSError:
        return absolute, -1, -1
    return absolute, int(st.st_size), int(st.st_mtime_ns)


def _read_parts(parts: Path) -> pa.Table | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(parts.glob("part-*.parquet"))
    if not files:
        return None
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")


def _latest(table: pa.Table) -> pa.Table:
    """Rows of each source's latest labelling (parts are read oldest first), ordered by
    source and segment."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = list(zip(table["source"].to_pylist(), table["source_size"].to_pylist(),
                    table["source_mtime_ns"].to_pylist(), strict=True))
    last: dict[str, tuple[str, int, int]] = {}
    for k in keys:
        last[k[0]] = k
    keep = pa.array([last[k[0]] == k for k in keys], pa.bool_())
    kept = table.filter(keep)
    return kept.take(pc.sort_indices(kept, [("source", "ascending"),
                                            ("segment", "ascending")]))








def _empty_row(names: Sequence[str], key: tuple[str, int, int]) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(names)
    row.update(source=key[0], source_size=key[1], source_mtime_ns=key[2])
    return row


class FileLabeller:
    """The rows of one file (segments, or one error row, or one no-speech row): the row
    function of both engines."""

    def __init__(self, transcriber: Transcriber, clf: Classifier, options: VadOptions,
                 max_segment: float, root: Path, export_clips: bool) -> None:
        self.transcriber = transcriber
        self.clf = clf
        self.labels = list(clf.text.spec.labels)
        self.names = _schema(self.labels).names
        self.options = options
        self.max_segment = max_segment
        self.root = root
        self.export_clips = export_clips

    def rows(self, path: str, key: tuple[str, int, int]) -> list[dict[str, Any]]:
        """Rows for ``path`` (whose :func:`_key` is ``key``)."""
        import soundfile as sf

        try:
            if key[1] < 0:
                raise FileNotFoundError(f"no such file: {path}")
            segments, duration = speech_segments(path, self.options, self.max_segment)
        except (VoiceSafetyError, OSError, RuntimeError, ValueError) as exc:
            row = _empty_row(self.names, key)
            row["error"] = f"{type(exc).__name__}: {exc}"
            return [row]
        if not segments:  # no speech: one row (segment null) records the file as done
            row = _empty_row(self.names, key)
            row["source_duration"] = duration
            return [row]
        texts = self.transcriber.transcribe([s.samples for s in segments])
        scored = self.clf.score_text([t for t, _ in texts])
        stem = hashlib.sha1(repr(key).encode()).hexdigest()[:12]
        out = []
        for i, (seg, (text, conf), res) in enumerate(zip(segments, texts, scored,
                                                         strict=True)):
            clip = None
            if self.export_clips:
                clip = f"clips/{stem}-{i:04d}.wav"
                sf.write(self.root / clip, seg.samples, VAD_RATE, subtype="PCM_16")
            row = {"source": key[0], "source_size": key[1], "source_mtime_ns": key[2],
                   "segment": i, "start": seg.start, "end": seg.end, "audio": clip,
                   "transcript": text, "asr_confidence": conf, "toxicity": res.toxicity,
                   "flagged": res.flagged, "flags": list(res.flags),
                   "source_duration": duration, "error": None}
            row.update({lab: res.scores[lab] for lab in self.labels})
            out.append(row)
        return out


class RayLabeller:
    """The Ray Data ``map_batches`` callable: builds the ASR and the text model once per
    actor, then labels batches of files (``path``, ``size``, ``mtime``) with
    :class:`FileLabeller`."""

    def __init__(self, asr: Any, text_model: str | None, backend: str, device: str,
                 options: dict[str, Any], max_segment: float, root: str, export_clips: bool,
                 cache: str | None = None) -> None:
        if cache:  # the driver's export cache (a worker's environment may predate it)
            os.environ["VOICESAFETY_CACHE"] = cache
        transcriber = FasterWhisper(*asr[0], **asr[1]) if isinstance(asr, tuple) else asr
        clf = Classifier.from_pretrained(text_model, backend=backend, device=device,
                                         threads=1)
        self.labeller = FileLabeller(transcriber, clf, VadOptions(**options), max_segment,
                                     Path(root), export_clips)

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        rows: list[dict[str, Any]] = []
        for path, size, mtime in zip(batch.column("path").to_pylist(),
                                     batch.column("size").to_pylist(),
                                     batch.column("mtime").to_pylist(), strict=True):
            rows += self.labeller.rows(str(path), (str(path), int(size), int(mtime)))
        return pa.Table.from_pylist(rows, schema=_schema(self.labeller.labels))


def _label_on_ray(todo: Sequence[tuple[str, tuple[str, int, int]]], transcriber: Transcriber,
                  text_model: str | Path | Classifier | None, clf: Classifier, *,
                  backend: str, device: str, options: VadOptions, max_segment: float,
                  root: Path, export_clips: bool, actors: int | None,
                  files_per_batch: int) -> Iterable[list[dict[str, Any]]]:
    """Label ``todo`` on Ray Data; yields each file's rows (in input order)."""
    require("ray", "ray", "engine='ray'")
    import ray
    import ray.data

    from .export import cache_dir

    if not todo:
        return
    if isinstance(text_model, Classifier):
        raise InvalidInputError("engine='ray' loads the text model in each actor: pass its "
                                "name or folder (text_model=...), not a Classifier")
    # FasterWhisper holds a CTranslate2 model, which does not travel: each actor rebuilds it
    # from its settings. Any other Transcriber must pickle.
    asr: Any = transcriber.spec() if isinstance(transcriber, FasterWhisper) else transcriber
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    size = max(1, min(actors or max(1, cpus - 1), len(todo)))  # one CPU left for the reads
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ds = ray.data.from_items([{"path": k[0], "size": k[1], "mtime": k[2]} for _, k in todo])
    info = clf.text.info()
    out = ds.map_batches(
        RayLabeller, fn_constructor_kwargs={
            "asr": asr, "text_model": None if text_model is None else str(text_model),
            "backend": info.backend if backend == "auto" else backend, "device": info.device,
            "options": {f: getattr(options, f) for f in ("threshold", "neg_threshold",
                                                         "min_speech", "min_silence",
                                                         "speech_pad")},
            "max_segment": max_segment, "root": str(root.resolve()),
            "export_clips": export_clips, "cache": str(cache_dir())},
        compute=ray.data.ActorPoolStrategy(size=size), batch_size=files_per_batch,
        batch_format="pyarrow", num_cpus=1)
    # Rows stream back in input order (preserve_order); a file's rows are consecutive.
    group: list[dict[str, Any]] = []
    for batch in out.iter_batches(batch_size=None, batch_format="pyarrow"):
        for r in cast("pa.Table", batch).to_pylist():
            if group and r["source"] != group[0]["source"]:
                yield group
                group = []
            group.append(r)
    if group:
        yield group


def label_files(
    paths: str | Path | Iterable[str | Path],
    out: str | Path,
    *,
    asr: Transcriber | str | Path,
    text_model: str | Path | Classifier | None = None,
    vad: VadOptions | dict[str, Any] | None = None,
    max_segment: float = WHISPER_WINDOW,
    export_clips: bool = True,
    backend: str = "auto",
    device: str = "cpu",
    files_per_part: int = 16,
    progress: bool | None = None,
    engine: Engine = "local",
    actors: int | None = None,
) -> LabelResult:
    """Label audio files into a dataset folder (see the module docstring for its layout).

    Args:
        paths: files and/or folders (a folder means its audio files, recursively, sorted).
        out: the dataset folder (created; an existing one is added to, skipping files done).
        asr: a :class:`Transcriber`, or a Whisper model id or CTranslate2 folder for
            :class:`FasterWhisper` (CPU, default settings).
        text_model: any voicesafety model with a text part (``from_pretrained`` name, path or
            a :class:`Classifier`); None is the embedded model.
        vad: Silero VAD settings (:class:`VadOptions` or a dict of its fields).
        max_segment: longest segment in seconds (at most 30, Whisper's window).
        export_clips: write each segment's audio to ``clips/`` (needed by ``train.parquet``).
        backend, device: the text model's, as for ``from_pretrained``.
        files_per_part: files per Parquet part (what a crash can lose).
        progress: a progress bar per file (default: several files, on a terminal; the
            local engine).
        engine: ``"local"`` (this process) or ``"ray"`` (Ray Data, ``pip install
            'voicesafety[ray]'``: files are labelled by an actor pool, each actor loading the
            ASR and the text model once; ``out`` must be on a file system every worker
            sees, as the clips are written by the workers). Both engines give the same rows.
        actors: Ray actors (default: the cluster's CPUs minus one; at most one per file).

    Returns:
        A :class:`LabelResult` (counts; ``.table()`` reads the segments).

    Raises:
        InvalidInputError: no audio files, bad settings, or ``out`` already holds a dataset
            labelled with other models (labels of two models would mix silently).

    Transcripts that are empty (no words recognised) are scored as the text model scores an
    empty text: every score 0, not flagged.
    """
    require("pyarrow", "label", "machine labelling (voicesafety.labelling)")
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = audio_files(paths)
    if not files:
        raise InvalidInputError(f"no audio files to label in {paths!r}")
    if engine not in ("local", "ray"):
        raise InvalidInputError(f"engine must be 'local' or 'ray', not {engine!r}")
    if files_per_part < 1:
        raise InvalidInputError(f"files_per_part must be at least 1, got {files_per_part}")
    options = VadOptions.coerce(vad) or VadOptions()
    transcriber: Transcriber = asr if isinstance(asr, Transcriber) else FasterWhisper(asr)
    clf = (text_model if isinstance(text_model, Classifier)
           else Classifier.from_pretrained(text_model, backend=backend, device=device))
    if "text" not in clf.modalities:
        raise InvalidInputError(f"{clf.name} has no text part: pass a text model "
                                "(text_model=...)")
    labels = list(clf.text.spec.labels)
    schema = _schema(labels)
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    (root / "parts").mkdir(exist_ok=True)
    if export_clips:
        (root / "clips").mkdir(exist_ok=True)
    info = clf.text.info()
    models = {"asr": transcriber.info(),
              "text_model": {"name": clf.name, "backend": info.backend,
                             "labels": labels, "trained": clf.text.spec.trained,
                             "policy": clf.text.spec.policy.thresholds}}
    manifest_path = root / "manifest.json"
    previous: dict[str, Any] = {}
    if manifest_path.is_file():
        previous = json.loads(manifest_path.read_text(encoding="utf-8"))
        if previous.get("format") != FORMAT:
            raise InvalidInputError(f"{root} holds a manifest.json that is not a voicesafety "
                                    "labelling dataset; pick another --out folder")
        before = previous.get("models", {})
        same = (before.get("asr", {}).get("model") == models["asr"].get("model")
                and before.get("text_model", {}).get("name") == clf.name)
        if not same:
            raise InvalidInputError(
                f"{root} was labelled with ASR {before.get('asr', {}).get('model')!r} and text "
                f"model {before.get('text_model', {}).get('name')!r}, not "
                f"{models['asr'].get('model')!r} and {clf.name!r}: use a new --out folder "
                "(one dataset, one pair of models)")
    existing = _read_parts(root / "parts")
    done: set[tuple[str, int, int]] = set()
    if existing is not None:
        done = set(zip(existing["source"].to_pylist(), existing["source_size"].to_pylist(),
                       existing["source_mtime_ns"].to_pylist(), strict=True))
    # parts sort by name in the order they were written (nanoseconds: unique per run)
    run_id = f"{time.time_ns():020d}-{os.getpid()}"
    result = LabelResult(root)
    pending: list[dict[str, Any]] = []
    part = 0

    def flush() -> None:
        nonlocal part, pending
        if pending:
            table = pa.Table.from_pylist(pending, schema=schema)
            tmp = root / "parts" / f".tmp-{run_id}-{part:05d}.parquet"
            pq.write_table(table, tmp)
            tmp.replace(root / "parts" / f"part-{run_id}-{part:05d}.parquet")
            part += 1
            pending = []

    todo: list[tuple[str, tuple[str, int, int]]] = []
    for path in files:
        key = _key(path)
        if key in done:
            result.files_skipped += 1
        else:
            done.add(key)
            todo.append((path, key))

    def account(rows: list[dict[str, Any]]) -> None:
        first = rows[0]
        if first["error"] is not None:
            result.files_failed += 1
            result.errors[first["source"]] = first["error"]
        else:
            result.files_labelled += 1
            result.segments += sum(1 for r in rows if r["segment"] is not None)
            result.seconds += first["source_duration"]
        pending.extend(rows)

    if engine == "local":
        labeller = FileLabeller(transcriber, clf, options, max_segment, root, export_clips)
        with progress_bar(total=len(files), initial=result.files_skipped, unit="file",
                          desc="labelling", disable=_disabled(progress, len(files) > 1)) as bar:
            for n, (path, key) in enumerate(todo, start=1):
                account(labeller.rows(path, key))
                bar.update(1)
                if n % files_per_part == 0:
                    flush()
            flush()
    elif engine == "ray":
        labelled = 0
        for rows in _label_on_ray(todo, transcriber, text_model, clf, backend=backend,
                                  device=device, options=options, max_segment=max_segment,
                                  root=root, export_clips=export_clips, actors=actors,
                                  files_per_batch=files_per_part):
            account(rows)
            labelled += 1
            if labelled % files_per_part == 0:
                flush()
        flush()
    else:
        raise InvalidInputError(f"engine must be 'local' or 'ray', not {engine!r}")
    table = _read_parts(root / "parts")
    if table is None:  # every file skipped and no parts: cannot happen with files done
        table = pa.Table.from_pylist([], schema=schema)
    table = _latest(table.cast(schema))
    pq.write_table(table, root / "segments.parquet")
    good = table.filter(pa.compute.invert(pa.compute.is_null(table["audio"])))
    pq.write_table(good.select(["audio", "transcript", *labels]), root / "train.parquet")
    errors = sum(1 for e in table["error"].to_pylist() if e is not None)
    silent = sum(1 for e, g in zip(table["error"].to_pylist(), table["segment"].to_pylist(),
                                   strict=True) if e is None and g is None)
    manifest = {
        "format": FORMAT, "voicesafety": __version__,
        "created": previous.get("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "models": models,
        "settings": {"vad": {f: getattr(options, f) for f in
                             ("threshold", "neg_threshold", "min_speech", "min_silence",
                              "speech_pad")},
                     "max_segment": max_segment, "export_clips": export_clips,
                     "sample_rate": VAD_RATE,
                     "empty_transcript": "scored as the text model scores '' (0, not flagged)"},
        "counts": {"files": len(set(table["source"].to_pylist())),
                   "segments": table.num_rows - errors - silent, "error_rows": errors,
                   "files_without_speech": silent},
        "columns": {"segments.parquet": schema.names,
                    "train.parquet": ["audio", "transcript", *labels]},
        "runs": [*previous.get("runs", []),
                 {"id": run_id, "files_labelled": result.files_labelled,
                  "files_skipped": result.files_skipped, "files_failed": result.files_failed,
                  "segments": result.segments, "audio_seconds": round(result.seconds, 3)}],
    }
    tmp = root / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(manifest_path)
    return result
