"""Exceptions raised by voicesafety, and :func:`require` for optional dependencies.

Every error a user can cause is a :class:`VoiceSafetyError`, and its message says how to fix it.
The subclasses also derive from the matching builtin (``ValueError``, ``TypeError``, ...), so
code that already catches those keeps working.
"""

from __future__ import annotations

import importlib


class VoiceSafetyError(Exception):
    """Base class of every voicesafety error."""


class InvalidInputError(VoiceSafetyError, ValueError):
    """The input is of the right kind but unusable (empty, NaN, wrong shape, bad rate...)."""


class InputTypeError(VoiceSafetyError, TypeError):
    """The input is of a type voicesafety cannot score."""


class AudioDecodeError(VoiceSafetyError, ValueError):
    """An audio file or byte string could not be read (missing, corrupt, unknown format)."""


class ModelLoadError(VoiceSafetyError, OSError):
    """A model could not be found, downloaded or read."""


class IntegrityError(ModelLoadError):
    """A model file does not match the content hash recorded when it was written (changed,
    swapped or truncated), or a manifest names a file outside its folder."""


class UntrustedCodeError(ModelLoadError):
    """Loading this file would run code stored in it (TorchScript) and the caller has not
    said it trusts the file (``trust_code=True``)."""


class ModalityError(VoiceSafetyError, TypeError):
    """Audio was given to a text-only classifier, or text to an audio-only one."""


class BackendError(VoiceSafetyError, RuntimeError):
    """A backend or device is unavailable or failed."""


class PolicyError(VoiceSafetyError, ValueError):
    """A threshold policy is invalid or does not fit the model's labels."""


class MissingDependencyError(VoiceSafetyError, ImportError):
    """An optional dependency (an extra such as ``plot`` or ``eval``) is not installed."""


class SampleRateWarning(UserWarning):
    """Audio samples (an array or tensor) were given without ``sample_rate``: the model's rate
    is assumed. Pass ``sample_rate=`` to say the real one (and silence this)."""


def at_index(error: VoiceSafetyError, index: int) -> VoiceSafetyError:
    """Return a copy of ``error`` (same class) whose message names the failing list index.

    The copy has ``index`` set and the original error as ``__cause__``.
    """
    wrapped = type(error)(f"input #{index}: {error}")
    wrapped.index = index  # type: ignore[attr-defined]
    wrapped.__cause__ = error
    return wrapped


def require(module: str, extra: str, feature: str) -> None:
    """Raise :class:`MissingDependencyError` unless ``module`` (of the ``extra``) imports."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs the optional dependency {module!r}, which is not installed: "
            f'pip install "voicesafety[{extra}]"'
        ) from exc
