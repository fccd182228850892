"""Notebook HTML (`_repr_html_`) and matplotlib plots of results, result lists and reports."""

from __future__ import annotations

import sys
from html.parser import HTMLParser

import numpy as np
import pytest

import voicesafety as vs

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402

VOID = {"br", "hr", "img", "meta", "input", "col", "wbr", "link"}


class StrictHTML(HTMLParser):
    """Checks that every tag is closed, in order; collects the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> StrictHTML:
    assert isinstance(html, str) and html.strip()
    parser = StrictHTML()
    parser.feed(html)
    parser.close()
    assert not parser.errors, parser.errors
    assert not parser.stack, f"unclosed tags: {parser.stack}"
    return parser


@pytest.fixture(scope="module")
def text_clf(roberta_dir):
    return vs.Classifier.from_pretrained(roberta_dir)


@pytest.fixture(scope="module")
def audio_clf(v2_dir):
    return vs.Classifier.from_pretrained(v2_dir)


@pytest.fixture(scope="module")
def clip():
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal(16000 * 5)).astype(np.float32)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_text_result_html_is_valid_and_escaped(text_clf):
    result = text_clf.score_text('<script>alert("x")</script> you are trash')
    html = result._repr_html_()
    parsed = parse(html)
    assert "script" not in parsed.tags
    text = "".join(parsed.text)
    assert '<script>alert("x")</script>' in text  # shown, not run
    assert "toxic" in text and f"{result.toxicity:.2f}" in text


def test_audio_result_html_has_a_window_timeline(audio_clf, clip):
    result = audio_clf.score(clip, window=1.0)
    assert len(result.windows) == 5
    parsed = parse(result._repr_html_())
    text = "".join(parsed.text)
    assert "timeline" in text and all(lab in text for lab in result.scores)
    # one coloured cell per (label, window) in the timeline
    html = result._repr_html_()
    assert html.count("0.0–1.0 s") == len(result.scores)
    assert html.count("rgba(220,38,38,") >= len(result.scores) * len(result.windows)


def test_result_lists_are_lists_with_html(text_clf, audio_clf, clip):
    texts = text_clf.score_text(["gg wp", "you are trash", "a & b"])
    assert isinstance(texts, vs.ResultList) and isinstance(texts, list)
    assert [r.text for r in texts] == ["gg wp", "you are trash", "a & b"]
    assert list(texts) == texts and len(texts) == 3
    parsed = parse(texts._repr_html_())
    assert "a & b" in "".join(parsed.text)
    assert text_clf.score_text([]) == [] and isinstance(text_clf.score_text([]), vs.ResultList)
    clips = audio_clf.score([clip, b"not audio"], errors="return")
    assert isinstance(clips, vs.ResultList) and not clips[1].ok
    parsed = parse(clips._repr_html_())
    assert clips[1].error in "".join(parsed.text)


def test_eval_report_html(text_clf):
    data = [("you are trash", "toxic"), ("gg wp", "none"), ("nice shot", ""),
            ("go away loser", "toxic")]
    report = vs.evaluate(text_clf, data)
    parsed = parse(report._repr_html_())
    text = "".join(parsed.text)
    assert "binarized AP" in text and "toxic" in text and "4 items" in text


def test_default_model_html_mentions_untrained_only_when_untrained():
    clf = vs.Classifier.from_pretrained()
    result = clf.score_text("gg")
    html = result._repr_html_()
    parse(html)
    assert ("untrained" in html) == (not result.model.trained)


def _saved(ax, path):
    ax.figure.savefig(path)
    assert path.stat().st_size > 1000
    return path


def test_plots_render_to_files_without_a_display(tmp_path, text_clf, audio_clf, clip):
    audio = audio_clf.score(clip, window=1.0, hop=0.5)
    _saved(audio.plot(), tmp_path / "audio.png")
    _saved(audio_clf.score(clip).plot(), tmp_path / "audio_one_window.png")
    _saved(text_clf.score_text("you are trash").plot(), tmp_path / "text.png")
    results = text_clf.score_text(["gg wp", "you are trash"])
    _saved(results.plot(), tmp_path / "list.png")
    report = vs.evaluate(text_clf, [("you are trash", "toxic"), ("gg wp", "none"),
                                    ("nice shot", ""), ("go away loser", "toxic")])
    _saved(report.plot(), tmp_path / "report.svg")
    fig, ax = plt.subplots()
    assert report.plot(ax=ax) is ax  # draws on a given Axes


def test_plot_without_matplotlib_says_what_to_install(monkeypatch, text_clf):
    result = text_clf.score_text("gg")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(vs.MissingDependencyError, match=r'pip install "voicesafety\[plot\]"'):
        result.plot()
    with pytest.raises(vs.VoiceSafetyError):
        vs.ResultList([result]).plot()
    parse(result._repr_html_())  # HTML needs no matplotlib


def test_importing_voicesafety_does_not_import_matplotlib():
    import subprocess

    code = ("import sys, voicesafety, voicesafety.display, voicesafety.evaluation; "
            "print('matplotlib' in sys.modules, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


# ---------------------------------------------------------------- issue 19: readable output


def test_print_shows_a_short_rounded_summary_not_every_float():
    import numpy as np

    import voicesafety as vs

    clf = vs.Classifier.from_pretrained(backend="torch")
    text = clf.score_text("you are trash uninstall")
    shown = str(text)
    assert shown.startswith("TextResult 'you are trash uninstall': FLAGGED Harassment")
    assert f"Harassment={text.scores['Harassment']:.2f}" in shown
    assert repr(text.scores["Harassment"]) not in shown  # no full-precision floats
    assert "thresholds" not in shown and len(shown.splitlines()) <= 3  # no policy dump
    audio = clf.score("examples/audio/toxic_harassment.ogg", window=3.0, hop=1.5)
    lines = str(audio).splitlines()
    assert lines[0].startswith("AudioResult examples/audio/toxic_harassment.ogg (4.59 s, 3 "
                               "windows): FLAGGED ")
    assert "Harassment" in lines[0] and f"toxicity {audio.toxicity:.2f}" in lines[0]
    assert [line.split()[0] for line in lines[2:]] == ["0.0–3.0", "1.5–4.5", "3.0–4.6"]
    short = clf.score(np.zeros(100, np.float32), sample_rate=16_000)
    assert "too short" in str(short)
    assert audio.summary() == str(audio) and "thresholds" in repr(audio)  # repr keeps all


def test_format_table_and_result_lists_print_one_row_each():
    import numpy as np

    import voicesafety as vs

    clf = vs.Classifier.from_pretrained(backend="torch")
    results = clf.score(["examples/audio/clean_gg.ogg", b"junk", np.zeros(100, np.float32)],
                        sample_rate=16_000, errors="return")
    table = vs.format_table(results, names=["gg", "junk", "blip"])
    lines = table.splitlines()
    assert lines[0].split() == ["clip", "length", "toxicity", "flags", "top", "scores"]
    assert lines[2].split()[:4] == ["gg", "3.0s", f"{results[0].toxicity:.2f}", "-"]
    assert lines[3].split()[:4] == ["junk", "-", "ERROR", "AudioDecodeError"]
    assert "too short" in lines[-1]
    assert str(results) == vs.format_table(results)
    texts = clf.score_text(["gg", "line\nbreak"])
    assert vs.format_table(texts).splitlines()[0].split()[0] == "text"
    assert "line break" in vs.format_table(texts)  # one row per result, whatever the text
    assert vs.format_table(texts[0]).count("\n") == 2  # a single result is a one-row table
