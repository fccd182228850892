"""Read an LLM judge from disk: a causal language model, its tokenizer (with a chat template)
and its prompt (:class:`~voicesafety.prompts.JudgePrompt`).

Three folder forms are judges:

- a checkpoint whose ``config.json`` names a causal LM (``architectures`` ending in
  ``ForCausalLM`` or ``LMHeadModel``, e.g. ``Phi3ForCausalLM``);
- a PEFT adapter folder (``adapter_config.json``): its base model (``base_model_name_or_path``,
  a hub id or a path) is loaded and the adapter merged into it (the ``judge`` extra: peft);
- either of these named by a registry entry with a ``judge_prompt`` (e.g.
  ``grounded-ai/phi3-toxicity-judge``).

The prompt is, in order: the registry entry's, a ``judge.json`` in the folder (the fields of
:class:`JudgePrompt`), else the default (the Phi-3 toxicity judge's). ``from_pretrained(...,
prompt=...)`` overrides any of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelLoadError, require
from ..policy import ThresholdPolicy
from ..prompts import JudgePrompt
from ..registry import lookup
from ..spec import ModelSpec
from .hub import resolve

if TYPE_CHECKING:
    from torch import nn

#: ``architectures`` suffixes of causal language models (what a judge is).
CAUSAL_LM_SUFFIXES = ("ForCausalLM", "LMHeadModel")
ADAPTER_CONFIG = "adapter_config.json"
#: An optional file beside a judge with its prompt (the fields of JudgePrompt).
PROMPT_FILE = "judge.json"
#: The one label a judge scores.
JUDGE_LABEL = "toxic"


@dataclass
class JudgeModel:
    """A judge read from disk: the causal LM, its spec, tokenizer and prompt."""

    module: nn.Module
    spec: ModelSpec
    tokenizer: Any  # a transformers PreTrainedTokenizerBase (with apply_chat_template)
    prompt: JudgePrompt


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path} is not a JSON object")
    return data


def is_adapter_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a PEFT adapter (``adapter_config.json``)."""
    return (folder / ADAPTER_CONFIG).is_file()


def is_causal_lm_config(config: dict[str, Any]) -> bool:
    """Whether a parsed ``config.json`` describes a causal language model."""
    archs = [str(a) for a in config.get("architectures") or []]
    return bool(archs) and all(a.endswith(CAUSAL_LM_SUFFIXES) for a in archs)


def is_judge_folder(folder: Path) -> bool:
    """Whether ``folder`` is read as a judge (a causal LM or a PEFT adapter)."""
    if not folder.is_dir():
        return False
    if is_adapter_folder(folder):
        return True
    config = folder / "config.json"
    return config.is_file() and is_causal_lm_config(_read_json(config))


def _prompt_for(folder: Path, name: str) -> JudgePrompt:
    entry = lookup(name) or lookup(str(folder))
    if entry is not None and entry.judge_prompt is not None:
        return entry.judge_prompt
    file = folder / PROMPT_FILE
    if file.is_file():
        fields = _read_json(file)
        known = {"template", "positive", "negative", "system", "max_new_tokens"}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ModelLoadError(f"{file}: unknown fields {unknown}; known: {sorted(known)}")
        try:
            return JudgePrompt(**fields)
        except (TypeError, ValueError) as exc:
            raise ModelLoadError(f"{file}: {exc}") from exc
    return JudgePrompt()


def _tokenizer(folders: list[Path]) -> Any:
    """The first folder's Hugging Face tokenizer that has a chat template."""
    from transformers import AutoTokenizer

    problems = []
    for folder in folders:
        if not any((folder / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json",
                                                   "tokenizer.model")):
            problems.append(f"{folder}: no tokenizer files")
            continue
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
        except (OSError, ValueError, TypeError) as exc:
            problems.append(f"{folder}: {exc}")
            continue
        if not getattr(tokenizer, "chat_template", None):
            problems.append(
                f"{folder}: the tokenizer has no chat template (tokenizer_config.json "
                "'chat_template' or chat_template.jinja)")
            continue
        return tokenizer
    raise ModelLoadError(
        "an LLM judge needs a Hugging Face tokenizer with a chat template (the prompt is "
        "rendered with it, as the judge was trained): " + "; ".join(problems) + ". Copy the "
        "tokenizer files of the judge's base model (tokenizer.json, tokenizer_config.json "
        "with its chat_template) into the folder."
    )


def _causal_lm(folder: Path) -> nn.Module:
    from transformers import AutoModelForCausalLM

    auto: Any = AutoModelForCausalLM  # its stubs do not know output_loading_info's tuple
    try:
        model, info = auto.from_pretrained(str(folder), output_loading_info=True)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot load the causal LM of judge {folder}: {exc}") from exc
    missing = sorted(str(k) for k in (info.get("missing_keys") or ())
                     if "lm_head" not in str(k) or not getattr(model.config,
                                                               "tie_word_embeddings", False))
    if missing:
        raise ModelLoadError(
            f"{folder} lacks weights its {type(model).__name__} needs ({', '.join(missing[:6])}"
            f"{' ...' if len(missing) > 6 else ''}): they would be random and the judge's "
            "answers meaningless; download the complete checkpoint"
        )
    return model


def _with_adapter(folder: Path) -> tuple[nn.Module, Path]:
    """The adapter's base model with the adapter merged in, and the base model's folder."""
    config = _read_json(folder / ADAPTER_CONFIG)
    base_name = config.get("base_model_name_or_path")
    if not base_name:
        raise ModelLoadError(
            f"{folder / ADAPTER_CONFIG} names no base_model_name_or_path: set it to the base "
            "model's hub id or folder (e.g. microsoft/Phi-3-mini-4k-instruct)"
        )
    require("peft", "judge", "loading a LoRA/PEFT judge adapter")
    from peft import PeftModel

    base_folder = resolve(str(base_name))
    base = _causal_lm(base_folder)
    try:
        model = PeftModel.from_pretrained(base, str(folder))
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot apply the adapter {folder} to {base_name}: {exc}") from exc
    # merged once here: plain Linear layers afterwards, as fast as the merged checkpoint
    return model.merge_and_unload(), base_folder


def load_judge(folder: Path, name: str) -> JudgeModel:
    """Read the judge at ``folder`` (see the module docstring for the forms).

    Raises:
        ModelLoadError: the model, adapter or tokenizer cannot be read, the tokenizer has no
            chat template, or weights are missing.
        MissingDependencyError: an adapter folder without peft installed.
    """
    import torch

    if is_adapter_folder(folder):
        module, base_folder = _with_adapter(folder)
        tokenizer_folders = [folder, base_folder]
    else:
        module = _causal_lm(folder)
        tokenizer_folders = [folder]
    tokenizer = _tokenizer(tokenizer_folders)
    module.eval()
    if module.dtype not in (torch.float32, torch.float16, torch.bfloat16):
        module.to(torch.float32)
    positions = int(getattr(module.config, "max_position_embeddings", 0) or 4096)
    limit = int(getattr(tokenizer, "model_max_length", 0) or 0)
    max_length = min(positions, limit) if 0 < limit < 1_000_000 else positions
    entry = lookup(name) or lookup(str(folder))
    file = folder / "policy.json"
    policy = ThresholdPolicy.from_json(file).check_labels((JUDGE_LABEL,)) if file.is_file() \
        else ThresholdPolicy()
    spec = ModelSpec(
        name=entry.repo_id if entry else name,
        modality="text",
        labels=(JUDGE_LABEL,),
        activation="softmax",  # over the two answers; only the positive one is a label
        policy=policy,
        max_length=max_length,
        path=folder,
        format="judge",
    )
    return JudgeModel(module, spec, tokenizer, _prompt_for(folder, name))
