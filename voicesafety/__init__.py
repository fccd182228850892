"""voicesafety: toxicity scores for voice-chat audio and text.

>>> import voicesafety as vs
>>> clf = vs.Classifier.from_pretrained()          # embedded default, offline
>>> clf.score("call.ogg").flags                      # doctest: +SKIP
>>> clf.score_text("gg everyone").toxicity           # doctest: +SKIP
"""

from __future__ import annotations

from .classifier import Classifier
from .errors import (
    AudioDecodeError,
    BackendError,
    InputTypeError,
    InvalidInputError,
    MissingDependencyError,
    ModalityError,
    ModelLoadError,
    PolicyError,
    VoiceSafetyError,
)
from .evaluation import EvalReport, evaluate
from .policy import ThresholdPolicy
from .results import AudioResult, ErrorResult, ModelInfo, ResultList, TextResult, WindowScore

__version__ = "0.1.0"

__all__ = [
    "AudioDecodeError",
    "AudioResult",
    "BackendError",
    "Classifier",
    "ErrorResult",
    "EvalReport",
    "InputTypeError",
    "InvalidInputError",
    "MissingDependencyError",
    "ModalityError",
    "ModelInfo",
    "ModelLoadError",
    "PolicyError",
    "ResultList",
    "TextResult",
    "ThresholdPolicy",
    "VoiceSafetyError",
    "WindowScore",
    "__version__",
    "evaluate",
]
