"""Batch scoring of audio archives: one row per file, locally or on Ray Data.

:func:`score_files` scores files (or every audio file under a folder) with any model
:meth:`Classifier.from_pretrained` loads and returns one row per file as a pyarrow Table (or a
pandas DataFrame): ``path``, ``duration``, ``toxicity``, ``flagged``, ``scores`` (a struct of
the model's labels), ``flags``, ``windows`` (a list of ``start``/``end``/``scores``),
``too_short``, ``speech_seconds`` (with ``vad=True``), ``model``, ``backend`` and ``error``
(null when the file scored). A missing, unreadable or undecodable file becomes a row with
``error`` set; it never stops the run.

``engine="local"`` scores in this process. ``engine="ray"`` runs the same row function on Ray
Data, as its docs recommend for batch inference: ``read_binary_files`` (the bytes travel, the
decoding happens in the workers), ``map_batches`` with a callable class that loads the
classifier once per actor, an ``ActorPoolStrategy`` sized to the cluster's CPUs, and the rows
gathered in input order. Both engines build rows with the same function, so they give the
same table (bit for bit with the same ``threads``; ONNX Runtime's sums may differ in the last
float digits between thread counts).

Why Ray Data and not a process pool: it schedules actors across machines, streams blocks
with back-pressure (memory stays bounded on archives larger than RAM) and retries failed
tasks; a local pool would do none of that past one machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from .audio import AudioInput
from .classifier import Classifier
from .errors import InvalidInputError, require
from .export import cache_dir
from .pipeline import _disabled, progress_bar
from .results import AudioResult, ErrorResult

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

#: file name endings taken from a folder (what soundfile/libsndfile decodes)
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au")
Engine = Literal["local", "ray"]


def audio_files(inputs: str | Path | Iterable[str | Path]) -> list[str]:
    """Paths to score: files as given (in order), folders expanded to their audio files
    (recursively, sorted). Paths that do not exist are kept: they become error rows."""
    items = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    out: list[str] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            out += sorted(str(p) for p in path.rglob("*")
                          if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        else:
            out.append(str(path))
    return out


def schema(labels: Sequence[str]) -> pa.Schema:
    """The table's schema for a model with ``labels``."""
    import pyarrow as pa

    scores = pa.struct([(label, pa.float64()) for label in labels])
    window = pa.struct([("start", pa.float64()), ("end", pa.float64()), ("scores", scores)])
    return pa.schema([
        ("path", pa.string()), ("duration", pa.float64()), ("toxicity", pa.float64()),
        ("flagged", pa.bool_()), ("scores", scores), ("flags", pa.list_(pa.string())),
        ("windows", pa.list_(window)), ("too_short", pa.bool_()),
        ("speech_seconds", pa.float64()), ("model", pa.string()),
        ("backend", pa.string()), ("error", pa.string()),
    ])


def row(path: str, result: AudioResult | ErrorResult | None, labels: Sequence[str], *,
        model: str, backend: str, error: str | None = None) -> dict[str, Any]:
    """One table row for ``path`` (``result`` None or an :class:`ErrorResult`: an error row)."""
    if result is None or isinstance(result, ErrorResult):
        message = error or (f"{result.error}: {result.message}" if result is not None
                            else "not scored")
        return {"path": path, "duration": None, "toxicity": None, "flagged": None,
                "scores": None, "flags": None, "windows": None, "too_short": None,
                "speech_seconds": None, "model": model, "backend": backend, "error": message}
    return {
        "path": path, "duration": result.duration, "toxicity": result.toxicity,
        "flagged": result.flagged,
        "scores": {label: result.scores[label] for label in labels},
        "flags": list(result.flags),
        "windows": [{"start": w.start, "end": w.end,
                     "scores": {label: w.scores[label] for label in labels}}
                    for w in result.windows],
        "too_short": result.too_short, "speech_seconds": result.speech_seconds,
        "model": model, "backend": backend, "error": None,
    }


def score_rows(clf: Classifier, paths: Sequence[str], data: Sequence[bytes | None], *,
               progress: bool | None = False,
               options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Rows for ``paths`` scored by ``clf`` from ``data``, their bytes (None for a file that
    could not be read: a missing one or an unreadable one). The one row function of both
    engines, error rows included."""
    labels = list(clf.audio.spec.labels)
    info = clf.audio.info()
    rows: list[dict[str, Any] | None] = [None] * len(paths)
    todo: list[int] = []
    for i, path in enumerate(paths):
        if data[i] is None:
            error = (f"OSError: could not read {path}" if Path(path).is_file()
                     else f"FileNotFoundError: no such file: {path}")
            rows[i] = row(path, None, labels, model=info.name, backend=info.backend,
                          error=error)
        else:
            todo.append(i)
    if todo:
        inputs: list[AudioInput] = [cast(bytes, data[i]) for i in todo]  # None: handled
        results = clf.score(inputs, errors="return", progress=progress, **dict(options or {}))
        for i, result in zip(todo, results, strict=True):
            rows[i] = row(paths[i], result, labels, model=info.name, backend=info.backend)
    return [r for r in rows if r is not None]


def _read(path: str) -> bytes | None:
    """A file's bytes, or None when it cannot be read (an error row says why)."""
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def _table(rows: list[dict[str, Any]], labels: Sequence[str], as_pandas: bool,
           ) -> pa.Table | pd.DataFrame:
    import pyarrow as pa

    table = pa.Table.from_pylist(rows, schema=schema(labels))
    return table.to_pandas() if as_pandas else table


def score_files(
    paths: str | Path | Iterable[str | Path], model: str | Path | None = None, *,
    engine: Engine = "local", backend: str = "auto", device: str = "cpu",
    threads: int | None = None, actors: int | None = None, files_per_batch: int = 8,
    output: Literal["arrow", "pandas"] = "arrow", progress: bool | None = None,
    precision: str = "float32", **options: Any,
) -> pa.Table | pd.DataFrame:
    """Score audio files, one row per file (see the module docstring for the columns).

    Args:
        paths: files and/or folders (a folder means its audio files, recursively, sorted).
        model: anything :meth:`Classifier.from_pretrained` takes; None is the embedded model.
        engine: ``"local"`` (this process) or ``"ray"`` (Ray Data; ``pip install
            'voicesafety[ray]'``; uses the running Ray cluster, or starts a local one).
        backend, device, precision: as for :meth:`Classifier.from_pretrained`.
        threads: CPU threads per scorer (default: the library's default locally, 1 per Ray
            actor, which gets one CPU).
        actors: Ray actors, one CPU each (default: the cluster's CPUs; at most one per file).
        files_per_batch: files per Ray batch (``map_batches`` batch size).
        output: ``"arrow"`` (a pyarrow Table) or ``"pandas"`` (a DataFrame).
        progress: a progress bar per file (local engine; Ray shows its own). Default: only
            for several files, on a terminal.
        **options: passed to :meth:`Classifier.score` (``window``, ``hop``, ...).

    Returns:
        The table, rows in the order of ``paths`` (folders expanded in place).
    """
    require("pyarrow", "batch", "batch scoring (voicesafety.batch)")
    if output not in ("arrow", "pandas"):
        raise InvalidInputError(f"output must be 'arrow' or 'pandas', not {output!r}")
    if output == "pandas":
        require("pandas", "batch", "output='pandas'")
    files = audio_files(paths)
    if not files:
        raise InvalidInputError(f"no audio files to score in {paths!r} (a folder is searched "
                                f"for {', '.join(AUDIO_SUFFIXES)})")
    if engine == "local":
        clf = Classifier.from_pretrained(model, backend=backend, device=device, threads=threads,
                                         precision=precision)
        rows: list[dict[str, Any]] = []
        # Files are read as bytes and decoded by the scorer, as on Ray: the same rows (error
        # messages included) from both engines, and memory bounded by one batch of files.
        with progress_bar(total=len(files), unit="file", desc="scoring",
                          disable=_disabled(progress, len(files) > 1)) as bar:
            for start in range(0, len(files), files_per_batch):
                chunk = files[start:start + files_per_batch]
                rows += score_rows(clf, chunk, [_read(p) for p in chunk], options=options)
                bar.update(len(chunk))
        return _table(rows, clf.audio.spec.labels, output == "pandas")
    if engine == "ray":
        return _score_on_ray(files, model, backend=backend, device=device, precision=precision,
                             threads=1 if threads is None else threads, actors=actors,
                             files_per_batch=files_per_batch, as_pandas=output == "pandas",
                             options=options)
    raise InvalidInputError(f"engine must be 'local' or 'ray', not {engine!r}")


class RayScorer:
    """The Ray Data ``map_batches`` callable: loads the classifier once per actor, then turns
    batches of (``path``, ``bytes``) into rows with :func:`score_rows`."""

    def __init__(self, model: str | None, backend: str, device: str, threads: int,
                 options: Mapping[str, Any], cache: str | None = None,
                 precision: str = "float32") -> None:
        if cache:  # the driver's export cache (a Ray worker's environment may predate it)
            os.environ["VOICESAFETY_CACHE"] = cache
        self.clf = Classifier.from_pretrained(model, backend=backend, device=device,
                                              threads=threads, precision=precision)
        self.labels = list(self.clf.audio.spec.labels)
        self.options = dict(options)

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        paths = [str(p) for p in batch.column("path").to_pylist()]
        data = batch.column("bytes").to_pylist()
        rows = score_rows(self.clf, paths, data, options=self.options)
        return pa.Table.from_pylist(rows, schema=schema(self.labels))


def _score_on_ray(files: list[str], model: str | Path | None, *, backend: str, device: str,
                  precision: str, threads: int, actors: int | None, files_per_batch: int,
                  as_pandas: bool, options: Mapping[str, Any]) -> pa.Table | pd.DataFrame:
    require("ray", "ray", "engine='ray'")
    import pyarrow as pa
    import ray
    import ray.data

    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    name = None if model is None else str(model)
    # Loaded here once: the labels and the backend `auto` picks (its conversion, if any, runs
    # here, so the actors find it in the cache instead of converting at once).
    clf = Classifier.from_pretrained(name, backend=backend, device=device, threads=threads,
                                     precision=precision)
    labels = list(clf.audio.spec.labels)
    info = clf.audio.info()
    chosen = info.backend if backend == "auto" else backend
    gpu = info.device.startswith("cuda")
    originals = {str(Path(p).resolve()): p for p in files if Path(p).is_file()}
    rows: dict[str, dict[str, Any]] = {}
    if originals:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        size = max(1, min(actors or cpus, len(originals)))
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        # The reads reserve no CPU: they are I/O, and with every CPU held by an actor a read
        # that needs one is never scheduled, so the actors starve and the job waits forever.
        ds = ray.data.read_binary_files(list(originals), include_paths=True,
                                        ray_remote_args={"num_cpus": 0})
        out = ds.map_batches(
            RayScorer, fn_constructor_kwargs={
                "model": name, "backend": chosen, "device": info.device, "threads": threads,
                "options": dict(options), "cache": str(cache_dir()), "precision": precision},
            compute=ray.data.ActorPoolStrategy(size=size), batch_size=files_per_batch,
            batch_format="pyarrow", num_cpus=0 if gpu else 1, num_gpus=1 if gpu else 0,
        )
        for r in pa.concat_tables(ray.get(out.to_arrow_refs())).to_pylist():
            key = str(Path(str(r["path"])).resolve())
            r["path"] = originals.get(key, r["path"])
            rows[key] = r
    # files the reads never saw (missing ones) get their error rows from the same function
    ordered = [rows.get(str(Path(p).resolve())) or score_rows(clf, [p], [None])[0]
               for p in files]
    return _table(ordered, labels, as_pandas)
