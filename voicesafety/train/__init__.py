"""Fit or distil your own fast scorer, with the code that builds the embedded models.

``train_text`` (labelled texts), ``distil_text`` (texts a teacher scores) and ``train_audio``
(audio with labels and/or transcripts a text teacher scores) each write a folder that
``Classifier.from_pretrained`` loads on every backend, with a report. The loops
(:func:`fit_text`, :func:`fit_audio`) are what ``training/train_mini.py`` builds the embedded
``voicesafety/mini`` models with. Guide: docs/training.md.
"""

from .api import TrainResult, distil_text, report_markdown, train_audio, train_text
from .audio_loop import AudioSettings, fit_audio
from .loop import EpochSampler, TextSettings, fit_text, partial_label_loss, predict_text
from .tokenizer import train_tokenizer

__all__ = [
    "AudioSettings",
    "EpochSampler",
    "TextSettings",
    "TrainResult",
    "distil_text",
    "fit_audio",
    "fit_text",
    "partial_label_loss",
    "predict_text",
    "report_markdown",
    "train_audio",
    "train_text",
    "train_tokenizer",
]
