"""Load a text model's tokenizer from its folder: the one tokenizer loader.

Two kinds exist on disk: a Hugging Face tokenizer (``tokenizer_config.json``, vocab files,
usually ``tokenizer.json`` too), loaded with ``transformers.AutoTokenizer``, and a bare
``tokenizers`` file (``tokenizer.json`` alone, as the embedded mini models and their exports
have), loaded with ``tokenizers.Tokenizer``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelLoadError
from ..text import Tokenizer


def load_tokenizer(folder: Path, *, transformers: bool | None = None) -> Tokenizer:
    """The tokenizer in ``folder``.

    Args:
        folder: a checkpoint or exported folder.
        transformers: True for a Hugging Face checkpoint (``AutoTokenizer``, which also reads
            vocab files and the model's config), False for a bare ``tokenizer.json``; None
            decides from the files (``tokenizer_config.json`` means Hugging Face).

    Raises:
        ModelLoadError: no tokenizer files, or they cannot be read.
    """
    if transformers is None:
        if (folder / "tokenizer_config.json").is_file():
            transformers = True
        elif (folder / "tokenizer.json").is_file():
            transformers = False
        else:
            raise ModelLoadError(
                f"text model at {folder} has no tokenizer files (tokenizer.json): export "
                "writes them beside the model; copy them along with it"
            )
    if transformers:
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(str(folder))
        except (OSError, ValueError, TypeError) as exc:
            raise ModelLoadError(
                f"cannot load the tokenizer of text model {folder}: {exc}. A text model "
                "folder needs its tokenizer files (tokenizer.json or vocab files) beside "
                "config.json."
            ) from exc
    from tokenizers import Tokenizer as FastTokenizer

    try:
        return FastTokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as exc:  # noqa: BLE001 - tokenizers raises plain Exception subclasses
        raise ModelLoadError(f"cannot read {folder / 'tokenizer.json'}: {exc}") from exc
