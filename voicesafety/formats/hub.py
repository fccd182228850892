"""Find a model on disk: a local path, the embedded default, or a Hugging Face hub id.

Hub downloads go through huggingface_hub's cache, so a model fetched once (on any machine
with the same cache) loads offline afterwards. ``HF_HUB_OFFLINE=1`` is honoured.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from ..errors import ModelLoadError
from ..registry import DEFAULT_MODEL, ENTRIES

#: Files worth fetching from a hub repo (configs, weights, tokenizers); never optimizer state.
HUB_PATTERNS = [
    "*.json", "*.safetensors", "pytorch_model.bin", "*.txt", "*.model", "*.onnx", "*.pt",
]
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def embedded_path() -> Path:
    """Folder of the embedded default model bundle (audio/ and text/)."""
    return Path(__file__).resolve().parents[1] / "models" / "mini"


def _shown(text: str) -> str:
    """A name as error messages show it (a very long one shortened)."""
    return repr(text) if len(text) <= 120 else f"{text[:60]!r}... ({len(text)} characters)"


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL
        return False


def hub_id_problem(text: str) -> str | None:
    """Why ``text`` cannot be a Hugging Face hub id, or None if it can be one."""
    if not _REPO_ID.match(text) or text.startswith((".", "/", "~")):
        return "hub ids have the form 'org/name'"
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(text)
    except HFValidationError as exc:
        return str(exc).split(": '", 1)[0].rstrip(".")
    return None


def resolve(name_or_path: str | Path | None, revision: str | None = None) -> Path:
    """Return a local path for a model name, path or hub id; download a hub id if needed.

    Raises:
        ModelLoadError: no such path and not a valid hub id (the message says which rule it
            breaks), or the hub id cannot be found or downloaded.
    """
    if name_or_path is None or str(name_or_path) == DEFAULT_MODEL:
        return embedded_path()
    text = str(name_or_path)
    path = Path(name_or_path).expanduser() if "\x00" not in text else Path("")
    if "\x00" not in text and _exists(path):
        return path
    problem = hub_id_problem(text)
    if problem is not None:
        raise ModelLoadError(
            f"no model file or folder at {_shown(text)}, and it is not a valid hub id "
            f"({problem}). Check the path, or pass a hub id such as "
            "'Roblox/voice-safety-classifier-v2'."
        )
    return _download(text, revision)


def cached_hub_ids() -> list[str]:
    """The hub model ids in the local Hugging Face cache (``HF_HUB_CACHE``)."""
    from huggingface_hub import constants

    try:
        names = [p.name for p in Path(constants.HF_HUB_CACHE).iterdir()]
    except OSError:
        return []
    return sorted(n[len("models--"):].replace("--", "/", 1) for n in names
                  if n.startswith("models--"))


def _near(repo_id: str, candidates: list[str]) -> str:
    """" Did you mean ...?" for known or cached ids close to ``repo_id`` (else "")."""
    by_lower = {c.lower(): c for c in candidates if c.lower() != repo_id.lower()}
    close = difflib.get_close_matches(repo_id.lower(), list(by_lower), n=3, cutoff=0.75)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(by_lower[c]) for c in close) + "?"


def _download(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    fix = (
        f"Download it on a machine with network access (`hf download {repo_id}`, or "
        f"`git clone https://huggingface.co/{repo_id}`), then copy the Hugging Face cache "
        "(HF_HOME) here or pass the downloaded folder: Classifier.from_pretrained('/path/to/it')."
    )
    known = [e.repo_id for e in ENTRIES]
    try:
        folder = snapshot_download(
            repo_id, revision=revision, allow_patterns=HUB_PATTERNS, library_name="voicesafety"
        )
    except GatedRepoError as exc:
        raise ModelLoadError(
            f"hub model {repo_id!r} is gated or private: request access on "
            f"https://huggingface.co/{repo_id} and log in with `hf auth login`."
        ) from exc
    except RepositoryNotFoundError as exc:
        raise ModelLoadError(
            f"hub model {repo_id!r} does not exist on the Hugging Face hub (the hub answered "
            "that no such repository exists, or it is private and you are not logged in): "
            f"check the spelling.{_near(repo_id, known + cached_hub_ids())} For a private "
            "repo, log in with `hf auth login`."
        ) from exc
    except RevisionNotFoundError as exc:
        raise ModelLoadError(f"hub model {repo_id!r} has no revision {revision!r}") from exc
    except (LocalEntryNotFoundError, OfflineModeIsEnabled) as exc:
        raise ModelLoadError(
            f"hub model {repo_id!r} is not in the local cache and cannot be downloaded "
            "(offline, or HF_HUB_OFFLINE=1), so whether it exists cannot be checked: either "
            "it was never downloaded on this machine, or the id is misspelled."
            f"{_near(repo_id, known + cached_hub_ids())} {fix}"
        ) from exc
    except (HfHubHTTPError, OSError, ValueError) as exc:  # ValueError: HFValidationError
        raise ModelLoadError(f"could not download hub model {repo_id!r}: {exc}. {fix}") from exc
    return Path(folder)
