"""Models voicesafety knows by name: label order, negative labels, activation, thresholds.

A checkpoint that is not listed here works from its own ``config.json`` (``id2label``,
``problem_type``); an entry here overrides what the config says, because some published
checkpoints carry generic names (``LABEL_0``...) or no ``problem_type``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .prompts import JudgePrompt

Activation = Literal["sigmoid", "softmax"]
Modality = Literal["audio", "text"]

#: Label names (lower-cased) that mean "nothing wrong": never flagged, not toxic.
NEGATIVE_LABELS = frozenset(
    {"noviolation", "no_violation", "neutral", "non-toxic", "non_toxic", "nontoxic", "not_toxic",
     "clean", "none", "safe", "ok"}
)

DEFAULT_MODEL = "voicesafety/mini"


def is_negative(label: str) -> bool:
    """Whether ``label`` names the absence of toxicity."""
    return label.strip().lower().replace(" ", "_") in NEGATIVE_LABELS


@dataclass(frozen=True)
class RegistryEntry:
    """What voicesafety knows about a published model."""

    repo_id: str
    modality: Modality
    labels: tuple[str, ...]
    activation: Activation
    negative_labels: tuple[str, ...] = ()
    thresholds: dict[str, float] = field(default_factory=dict)
    default_threshold: float = 0.5
    description: str = ""
    #: for an LLM judge (a causal LM scored through its answers): the prompt it was tuned on
    judge_prompt: JudgePrompt | None = None


ENTRIES: tuple[RegistryEntry, ...] = (
    RegistryEntry(
        repo_id="Roblox/voice-safety-classifier",
        modality="audio",
        labels=("Profanity", "DatingAndSexting", "Racist", "Bullying", "Other", "NoViolation"),
        negative_labels=("NoViolation",),
        activation="sigmoid",  # Roblox's inference.py applies a sigmoid per head
        description="WavLM base plus, English voice chat, v1 taxonomy",
    ),
    RegistryEntry(
        repo_id="Roblox/voice-safety-classifier-v2",
        modality="audio",
        labels=(
            "Discrimination", "Harassment", "Sexual", "IllegalAndRegulated", "DatingAndRomantic",
            "Profanity",
        ),
        activation="sigmoid",
        description="WavLM, eight languages, calibrated sigmoid heads (v2 taxonomy)",
    ),
    RegistryEntry(
        repo_id="s-nlp/roberta_toxicity_classifier",
        modality="text",
        labels=("neutral", "toxic"),
        negative_labels=("neutral",),
        activation="softmax",
        description="RoBERTa toxicity classifier used for STA in the ParaDetox J metric",
    ),
    RegistryEntry(
        repo_id="unitary/toxic-bert",
        modality="text",
        labels=("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"),
        activation="sigmoid",
        description="BERT, Jigsaw toxic comment challenge labels",
    ),
    # LLM judges: causal LMs asked "toxic or non-toxic?", scored from the answers' likelihoods
    # (docs/judge.md). One label, toxic = P("toxic" | prompt) over the two answers.
    RegistryEntry(
        repo_id="grounded-ai/phi3-toxicity-judge",
        modality="text",
        labels=("toxic",),
        activation="sigmoid",
        judge_prompt=JudgePrompt(),
        description="LoRA adapter on microsoft/Phi-3-mini-4k-instruct (MIT); F1 0.87 on its "
        "350-sample test",
    ),
    RegistryEntry(
        repo_id="grounded-ai/phi3-toxicity-judge-merge",
        modality="text",
        labels=("toxic",),
        activation="sigmoid",
        judge_prompt=JudgePrompt(),
        description="the Phi-3 toxicity judge with its adapter merged (MIT)",
    ),
)

_ALIASES = {"skolkovoinstitute/roberta_toxicity_classifier": "s-nlp/roberta_toxicity_classifier"}


def lookup(name: str) -> RegistryEntry | None:
    """Find the entry for a hub id, or for a local path that is a copy of one.

    A local folder matches when it lies in the Hugging Face cache layout
    (``models--Roblox--voice-safety-classifier-v2/snapshots/...``) or is named like the repo.
    """
    key = name.strip().rstrip("/").lower()
    key = _ALIASES.get(key, key)
    for entry in ENTRIES:
        repo = entry.repo_id.lower()
        cache_name = "models--" + repo.replace("/", "--")
        in_cache = f"/{cache_name}/" in key + "/" or key.endswith(cache_name)
        if key == repo or in_cache or key.rsplit("/", 1)[-1] == repo.split("/")[1]:
            return entry
    return None
