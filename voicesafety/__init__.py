"""voicesafety: toxicity scores for voice-chat audio and text.

>>> import voicesafety as vs
>>> clf = vs.Classifier.from_pretrained()          # embedded default, offline
>>> clf.score("call.ogg").flags                      # doctest: +SKIP
>>> clf.score_text("gg everyone").toxicity           # doctest: +SKIP
"""

from __future__ import annotations

from ._version import __version__
from .cascade import Cascade
from .classifier import Classifier
from .errors import (
    AudioDecodeError,
    BackendError,
    InputTypeError,
    IntegrityError,
    InvalidInputError,
    MissingDependencyError,
    ModalityError,
    ModelLoadError,
    PolicyError,
    SampleRateWarning,
    UntrustedCodeError,
    VoiceSafetyError,
)
from .evaluation import EvalReport, evaluate
from .metrics import JScore, j_score
from .policy import ThresholdPolicy
from .prompts import JudgePrompt
from .results import (
    AudioResult,
    CascadeResult,
    ErrorResult,
    ModelInfo,
    ResultList,
    StreamEvent,
    TextResult,
    WindowScore,
    format_table,
)
from .vad import VadOptions

__all__ = [
    "AudioDecodeError",
    "AudioResult",
    "BackendError",
    "Cascade",
    "CascadeResult",
    "Classifier",
    "DifferentiableToxicity",
    "ErrorResult",
    "EvalReport",
    "InputTypeError",
    "IntegrityError",
    "JScore",
    "JudgePrompt",
    "InvalidInputError",
    "MissingDependencyError",
    "ModalityError",
    "ModelInfo",
    "ModelLoadError",
    "PolicyError",
    "ResultList",
    "SampleRateWarning",
    "StreamEvent",
    "TextResult",
    "UntrustedCodeError",
    "ThresholdPolicy",
    "VadOptions",
    "VoiceSafetyError",
    "WindowScore",
    "__version__",
    "evaluate",
    "format_table",
    "j_score",
]


def __getattr__(name: str) -> object:
    # Lazy: importing torch is slow, and `import voicesafety` does not need it.
    if name == "DifferentiableToxicity":
        from .differentiable import DifferentiableToxicity

        return DifferentiableToxicity
    raise AttributeError(f"module 'voicesafety' has no attribute {name!r}")
