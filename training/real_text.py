"""Real, human-written, licensed text for training and calibrating the text classifier.

The data live in ``training/data/text/<source>/rows.csv.gz``: one gzip-compressed CSV per
source with the columns ``text,split,toxic,Discrimination,Harassment,Sexual,
IllegalAndRegulated,DatingAndRomantic,Profanity``. ``toxic`` is 1/0 ("any toxic label of our
taxonomy"); a label cell is 1, 0 or empty (unknown for that source, loaded as ``None``).
``split`` is ``train``, ``dev`` or ``test``; no text occurs in two splits, and no text occurs in
two sources. Each source folder has a README with its URL, commit, licence, counts and label
mapping; ``training/data/text/README.md`` is the index.

Two further sets (ParaDetox, Davidson et al. 2017) are kept under ``benchmarks/data/text/`` for
independent evaluation only; this module never loads them.

Only the standard library (and the embedded model's label list) is used::

    from training.real_text import load_real_text

    rows = load_real_text(splits={"train"})
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from voicesafety.models.arch import LABELS  # the embedded model's six labels, in output order

SPLITS: tuple[str, ...] = ("train", "dev", "test")
DATA_DIR = Path(__file__).resolve().parent / "data" / "text"
COLUMNS: tuple[str, ...] = ("text", "split", "toxic", *LABELS)

Kind = Literal["mixed", "toxic-only", "benign-only"]


@dataclass(frozen=True)
class SourceInfo:
    """What a source is and under which terms it may be used."""

    name: str
    url: str
    licence: str
    kind: Kind
    description: str


@dataclass(frozen=True)
class RealText:
    """One row: a text, where it came from, its split and its labels.

    ``labels`` follows :data:`LABELS`; ``None`` means the source does not say (mask it out of
    the loss), 0/1 are known values.
    """

    text: str
    source: str
    split: str
    toxic: int
    labels: tuple[int | None, ...]


SOURCES: dict[str, SourceInfo] = {
    s.name: s
    for s in (
        SourceInfo(
            "hatecheck",
            "https://github.com/paul-rottger/hatecheck-data",
            "CC-BY-4.0",
            "mixed",
            "HateCheck functional tests (Roettger et al. 2021): short hateful and contrastive "
            "non-hateful sentences about protected groups; split by template.",
        ),
        SourceInfo(
            "convabuse",
            "https://github.com/amandacurry/convabuse",
            "CC-BY-4.0",
            "mixed",
            "ConvAbuse (Cercas Curry et al. 2021): user turns typed to conversational agents, "
            "majority-labelled abusive / not, with abuse type (incl. sexual harassment).",
        ),
        SourceInfo(
            "stormfront",
            "https://github.com/Vicomtech/hate-speech-dataset",
            "CC-BY-SA-3.0-ES",
            "mixed",
            "Sentences from the Stormfront forum labelled hate / noHate (de Gibert et al. "
            "2018); split by forum post.",
        ),
        SourceInfo(
            "toxic_spans",
            "https://github.com/ipavlopoulos/toxic_spans",
            "CC0-1.0",
            "toxic-only",
            "SemEval-2021 Task 5 toxic posts from Civil Comments (news comments); all toxic, "
            "categories unknown.",
        ),
        SourceInfo(
            "clinc150",
            "https://github.com/clinc/oos-eval",
            "CC-BY-3.0",
            "benign-only",
            "CLINC150 crowd-sourced assistant queries (150 intents plus out-of-scope).",
        ),
        SourceInfo(
            "banking77",
            "https://github.com/PolyAI-LDN/task-specific-datasets",
            "CC-BY-4.0",
            "benign-only",
            "Banking77 customer-service queries (PolyAI).",
        ),
        SourceInfo(
            "sgd",
            "https://github.com/google-research-datasets/dstc8-schema-guided-dialogue",
            "CC-BY-SA-4.0",
            "benign-only",
            "Schema-Guided Dialogue user turns (short task-oriented chat), sampled.",
        ),
        SourceInfo(
            "topical_chat",
            "https://github.com/alexa/Topical-Chat",
            "CDLA-Sharing-1.0",
            "benign-only",
            "Topical-Chat turns: casual open-domain chat between crowd workers.",
        ),
        SourceInfo(
            "wiki_toxicity",
            "https://github.com/conversationai/unintended-ml-bias-analysis",
            "CC-BY-SA-3.0",
            "mixed",
            "Wikipedia talk-page comments that mention identity terms, crowd-labelled toxic / "
            "not (Wikipedia Talk Labels: Toxicity test subset, Dixon et al. 2018); categories "
            "unknown.",
        ),
        SourceInfo(
            "wiki_identity",
            "https://github.com/conversationai/unintended-ml-bias-analysis",
            "CC-BY-SA-3.0",
            "benign-only",
            "Wikipedia article sentences using identity terms, presumed non-toxic by Jigsaw "
            "(de-biasing data of Dixon et al. 2018; not rated by crowd workers).",
        ),
        SourceInfo(
            "redditbias",
            "https://github.com/umanlp/RedditBias",
            "MIT",
            "mixed",
            "RedditBias (Barikeri et al. 2021): Reddit comments pairing an identity group with "
            "a stereotype, hand-labelled biased / not; not-biased ones are often counter-speech "
            "or quotes. Biased: Discrimination (race and religion files only).",
        ),
        SourceInfo(
            "hatexplain",
            "https://github.com/hate-alert/HateXplain",
            "MIT",
            "mixed",
            "HateXplain Twitter/Gab posts (Mathew et al. 2021), majority of three annotators: "
            "hate speech (Discrimination), offensive (categories unknown) or normal.",
        ),
    )
}
"""Every source shipped in ``training/data/text``, by folder name."""


def _data_dir() -> Path:
    if not DATA_DIR.is_dir():
        raise FileNotFoundError(
            f"real text data folder {DATA_DIR} is missing: the prepared rows "
            "(training/data/text/<source>/rows.csv.gz) are not in this checkout"
        )
    return DATA_DIR


def _cell(value: str, column: str, where: str) -> int | None:
    if value == "":
        return None
    if value in ("0", "1"):
        return int(value)
    raise ValueError(f"{where}: column {column!r} holds {value!r}, expected 0, 1 or empty")


def load_source(name: str) -> list[RealText]:
    """All rows of one source, in file order (train, then dev, then test).

    Raises ``KeyError`` for an unknown source name and ``FileNotFoundError`` when the data
    folder or the source's file is missing.
    """
    if name not in SOURCES:
        raise KeyError(f"unknown real-text source {name!r}; known: {', '.join(SOURCES)}")
    path = _data_dir() / name / "rows.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    rows: list[RealText] = []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = tuple(next(reader))
        if header != COLUMNS:
            raise ValueError(f"{path}: header {header} differs from {COLUMNS}")
        for lineno, rec in enumerate(reader, start=2):
            where = f"{path}:{lineno}"
            if len(rec) != len(COLUMNS):
                raise ValueError(f"{where}: {len(rec)} cells, expected {len(COLUMNS)}")
            text, split, toxic = rec[0], rec[1], _cell(rec[2], "toxic", where)
            if split not in SPLITS:
                raise ValueError(f"{where}: unknown split {split!r}")
            if toxic is None:
                raise ValueError(f"{where}: toxic is empty")
            labels = tuple(_cell(v, c, where) for v, c in zip(rec[3:], LABELS))
            rows.append(RealText(text, name, split, toxic, labels))
    return rows


def load_real_text(
    sources: list[str] | None = None, splits: set[str] | None = None
) -> list[RealText]:
    """Rows of the given sources (default: all) restricted to the given splits (default: all)."""
    names = list(SOURCES) if sources is None else list(sources)
    if splits is not None:
        unknown = set(splits) - set(SPLITS)
        if unknown:
            raise ValueError(f"unknown split(s) {sorted(unknown)}; known: {SPLITS}")
    out: list[RealText] = []
    for name in names:
        out.extend(r for r in load_source(name) if splits is None or r.split in splits)
    return out
