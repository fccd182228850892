"""Find a model on disk: a local path, the embedded default, or a Hugging Face hub id.

Hub downloads go through huggingface_hub's cache, so a model fetched once (on any machine
with the same cache) loads offline afterwards. ``HF_HUB_OFFLINE=1`` is honoured.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ModelLoadError
from ..registry import DEFAULT_MODEL

#: Files worth fetching from a hub repo (configs, weights, tokenizers); never optimizer state.
HUB_PATTERNS = [
    "*.json", "*.safetensors", "pytorch_model.bin", "*.txt", "*.model", "*.onnx", "*.pt",
]
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def embedded_path() -> Path:
    """Folder of the embedded default model bundle (audio/ and text/)."""
    return Path(__file__).resolve().parents[1] / "models" / "mini"


def resolve(name_or_path: str | Path | None, revision: str | None = None) -> Path:
    """Return a local path for a model name, path or hub id; download a hub id if needed."""
    if name_or_path is None or str(name_or_path) == DEFAULT_MODEL:
        return embedded_path()
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    text = str(name_or_path)
    if not _REPO_ID.match(text) or text.startswith((".", "/", "~")):
        raise ModelLoadError(
            f"no model file or folder at {text!r}, and it is not a hub id of the form "
            "'org/name'. Check the path, or pass a hub id such as "
            "'Roblox/voice-safety-classifier-v2'."
        )
    return _download(text, revision)


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
    try:
        folder = snapshot_download(
            repo_id, revision=revision, allow_patterns=HUB_PATTERNS, library_name="voicesafety"
        )
    except (RepositoryNotFoundError, GatedRepoError) as exc:
        raise ModelLoadError(
            f"hub model {repo_id!r} was not found or needs access rights: {exc}. Check the id; "
            "for a gated or private repo, log in with `hf auth login`."
        ) from exc
    except RevisionNotFoundError as exc:
        raise ModelLoadError(f"hub model {repo_id!r} has no revision {revision!r}") from exc
    except (LocalEntryNotFoundError, OfflineModeIsEnabled) as exc:
        raise ModelLoadError(
            f"hub model {repo_id!r} is not in the local cache and cannot be downloaded "
            f"(offline, or HF_HUB_OFFLINE=1). {fix}"
        ) from exc
    except (HfHubHTTPError, OSError) as exc:
        raise ModelLoadError(f"could not download hub model {repo_id!r}: {exc}. {fix}") from exc
    return Path(folder)
