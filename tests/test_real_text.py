"""The real-text data under training/data/text: loads, splits are clean, labels are coherent."""

from __future__ import annotations

import csv
import gzip
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import V2_LABELS

from training.real_text import (
    DATA_DIR,
    LABELS,
    SOURCES,
    SPLITS,
    RealText,
    load_real_text,
    load_source,
)

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "benchmarks" / "data" / "text"
RESERVED = ("paradetox", "davidson")
# Every source is cleaned of rows that CONTAIN a reserved text of >= 4 words (ParaDetox's
# toxic sentences were cut out of longer Jigsaw / Reddit / Twitter / Civil Comments posts).
CONTAINMENT_MIN_WORDS = 4
MAX_BYTES = 12 * 1024 * 1024


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


@pytest.fixture(scope="module")
def rows() -> dict[str, list[RealText]]:
    return {name: load_source(name) for name in SOURCES}


def test_labels_match_the_model_taxonomy():
    assert list(LABELS) == V2_LABELS


def test_every_source_has_a_folder_and_nothing_else_is_there():
    folders = {p.name for p in DATA_DIR.iterdir() if p.is_dir()}
    assert folders == set(SOURCES)
    assert not folders & set(RESERVED)


@pytest.mark.parametrize("name", list(SOURCES))
def test_source_loads_with_rows_in_every_split(rows, name):
    got = rows[name]
    counts = Counter(r.split for r in got)
    assert set(counts) == set(SPLITS), counts
    assert all(counts[s] > 0 for s in SPLITS), counts
    for r in got:
        assert r.source == name
        assert r.text and r.text == r.text.strip()
        assert r.toxic in (0, 1)
        assert len(r.labels) == len(LABELS)
        assert all(v in (None, 0, 1) for v in r.labels)


@pytest.mark.parametrize("name", list(SOURCES))
def test_kind_matches_the_rows(rows, name):
    toxic = Counter(r.toxic for r in rows[name])
    kind = SOURCES[name].kind
    if kind == "toxic-only":
        assert set(toxic) == {1}
    elif kind == "benign-only":
        assert set(toxic) == {0}
    else:
        assert toxic[0] > 0 and toxic[1] > 0
        for split in SPLITS:
            assert {r.toxic for r in rows[name] if r.split == split} == {0, 1}


@pytest.mark.parametrize("name", list(SOURCES))
def test_no_text_in_two_splits(rows, name):
    seen: dict[str, str] = {}
    for r in rows[name]:
        k = _key(r.text)
        assert seen.setdefault(k, r.split) == r.split, r.text
    assert len(seen) == len(rows[name])  # no duplicates inside a split either


def test_no_text_in_two_sources(rows):
    owner: dict[str, str] = {}
    for name, got in rows.items():
        for r in got:
            assert owner.setdefault(_key(r.text), name) == name, (r.text, name)


@pytest.mark.parametrize("name", list(SOURCES))
def test_labels_agree_with_toxic(rows, name):
    kind = SOURCES[name].kind
    for r in rows[name]:
        known = [v for v in r.labels if v is not None]
        if r.toxic == 0:
            assert known == [0] * len(r.labels), r
        elif kind == "toxic-only":
            assert 1 in known or None in r.labels, r
        else:
            assert None in r.labels or 1 in known, r
            assert not (known and len(known) == len(r.labels) and set(known) == {0}), r


def test_split_and_source_filters():
    dev = load_real_text(sources=["clinc150", "hatecheck"], splits={"dev"})
    assert dev and {r.split for r in dev} == {"dev"}
    assert {r.source for r in dev} == {"clinc150", "hatecheck"}
    with pytest.raises(KeyError):
        load_source("no-such-source")
    with pytest.raises(ValueError):
        load_real_text(splits={"validation"})


def test_benign_text_is_well_represented(rows):
    total = Counter(r.toxic for got in rows.values() for r in got)
    assert total[0] >= 2 * total[1] > 0


def test_size_on_disk():
    size = sum(p.stat().st_size for p in DATA_DIR.rglob("*") if p.is_file())
    assert size <= MAX_BYTES, size


@pytest.mark.parametrize("name", list(SOURCES))
def test_readme_names_url_and_licence(name):
    text = (DATA_DIR / name / "README.md").read_text(encoding="utf-8")
    info = SOURCES[name]
    assert "## Licence" in text
    assert info.licence in text
    assert info.url in text
    assert re.search(r"\b[0-9a-f]{40}\b", text), "README must name the fetched commit"


def test_index_lists_every_source():
    index = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    for name, info in SOURCES.items():
        assert f"`{name}`" in index
        assert info.licence in index


def _reserved(name: str) -> list[tuple[str, int]]:
    with gzip.open(BENCH_DIR / name / "rows.csv.gz", "rt", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["text", "toxic"]
        return [(t, int(y)) for t, y in reader]


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_evaluation_sets_are_separate(rows, name):
    readme = (BENCH_DIR / name / "README.md").read_text(encoding="utf-8")
    assert "reserved for independent evaluation: never train, tune or select on it" in readme
    held = _reserved(name)
    assert {y for _, y in held} == {0, 1}
    held_keys = {_key(t) for t, _ in held}
    leaked = [r.text for got in rows.values() for r in got if _key(r.text) in held_keys]
    assert not leaked, leaked[:5]


@pytest.mark.parametrize("name", list(SOURCES))
def test_no_row_contains_a_reserved_text(rows, name):
    # Word-aligned containment, found through an index of each reserved key's first four
    # words (the preparation script finds the same with an Aho-Corasick automaton).
    by_head: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for reserved in RESERVED:
        for text, _ in _reserved(reserved):
            words = _key(unicodedata.normalize("NFKC", text)).split()
            if len(words) >= CONTAINMENT_MIN_WORDS:
                by_head[tuple(words[:CONTAINMENT_MIN_WORDS])].append(" ".join(words))
    assert by_head
    hits = []
    for r in rows[name]:
        words = _key(unicodedata.normalize("NFKC", r.text)).split()
        padded = " " + " ".join(words) + " "
        for i in range(len(words) - CONTAINMENT_MIN_WORDS + 1):
            for cand in by_head.get(tuple(words[i:i + CONTAINMENT_MIN_WORDS]), ()):
                if f" {cand} " in padded:
                    hits.append((r.text, cand))
    assert not hits, hits[:5]
