"""What a model is, apart from its weights (:class:`ModelSpec`), and its manifest form.

An exported model carries its spec as a JSON manifest (``voicesafety.json`` beside the model
file, and embedded in the file itself). :meth:`ModelSpec.to_manifest` writes it and
:meth:`ModelSpec.from_manifest` reads it back: one round trip, in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import ModelLoadError
from .policy import ThresholdPolicy
from .registry import Activation, Modality

#: File name of the manifest in an exported folder (and key of the copy inside model files).
MANIFEST = "voicesafety.json"
FORMAT = "voicesafety-export"
FORMAT_VERSION = 1

#: Spec fields stored in a manifest, in the order they are written.
MANIFEST_FIELDS = (
    "name", "modality", "labels", "activation", "negative_labels", "sample_rate", "window",
    "hop", "min_samples", "max_length", "do_normalize", "trained", "int8_fp32",
)


def input_names(modality: Modality) -> tuple[str, ...]:
    """Input names of a ``tensors -> logits`` module of this modality."""
    return ("input_values",) if modality == "audio" else ("input_ids", "attention_mask")


@dataclass(frozen=True)
class ModelSpec:
    """Everything about a model except its weights: modality, labels, activation, input."""

    name: str
    modality: Modality
    labels: tuple[str, ...]
    activation: Activation
    negative_labels: tuple[str, ...] = ()
    policy: ThresholdPolicy = field(default_factory=ThresholdPolicy)
    sample_rate: int = 16_000
    window: float = 15.0
    hop: float = 15.0
    min_samples: int = 400
    max_length: int | None = None
    do_normalize: bool = False
    trained: bool = True
    path: Path | None = None
    format: str = "hf"
    #: ONNX node-name fragments that this model's config asks int8 export to keep fp32, on top of
    #: the library's defaults (``int8_fp32`` in a mini bundle's config.json)
    int8_fp32: tuple[str, ...] = ()

    @property
    def toxic_labels(self) -> tuple[str, ...]:
        """Labels that count as toxicity (all but the negative ones)."""
        return tuple(label for label in self.labels if label not in self.negative_labels)

    @property
    def input_names(self) -> tuple[str, ...]:
        """Input names of this model's ``tensors -> logits`` module."""
        return input_names(self.modality)

    def with_policy(self, policy: ThresholdPolicy) -> ModelSpec:
        """A copy with another threshold policy (checked against the labels)."""
        return replace(self, policy=policy.check_labels(self.labels))

    # ------------------------------------------------------------------ manifest

    def to_manifest(self, backend: str, file: str) -> dict[str, object]:
        """The manifest of this model exported to ``backend`` as ``file`` (JSON-compatible).

        The exporter adds what only it knows (``source_hash``, ``versions``, ``parity``,
        ``int8_scheme``); :meth:`from_manifest` ignores those.
        """
        data: dict[str, object] = {"format": FORMAT, "format_version": FORMAT_VERSION,
                                   "backend": backend, "file": file}
        for name in MANIFEST_FIELDS:
            value = getattr(self, name)
            data[name] = list(value) if isinstance(value, tuple) else value
        data["input_names"] = list(self.input_names)
        data["policy"] = self.policy.model_dump(mode="json")
        return data

    @classmethod
    def from_manifest(
        cls, manifest: Mapping[str, object], *, path: Path | None = None,
        name: str | None = None, policy: ThresholdPolicy | None = None,
    ) -> ModelSpec:
        """The spec a manifest describes (any format version up to :data:`FORMAT_VERSION`).

        Args:
            manifest: the parsed manifest.
            path: the folder of the exported model (``spec.path``).
            name: the name to give the model (default: the one stored).
            policy: the policy to use (default: the one stored); e.g. a ``policy.json``.

        Raises:
            ModelLoadError: not a voicesafety manifest, a newer format, or a field missing.
        """
        where = path if path is not None else "manifest"
        if manifest.get("format") != FORMAT:
            raise ModelLoadError(f"{where}: not a voicesafety export manifest")
        version = manifest.get("format_version", 1)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ModelLoadError(
                f"{where}: manifest format {version!r} is newer than this voicesafety reads "
                f"({FORMAT_VERSION}); upgrade voicesafety"
            )
        try:
            labels = tuple(str(x) for x in _list(manifest["labels"]))
            if policy is None:
                policy = ThresholdPolicy.model_validate(manifest.get("policy") or {})
            return cls(
                name=name or str(manifest["name"]),
                modality=_modality(manifest["modality"]),
                labels=labels,
                activation=_activation(manifest["activation"]),
                negative_labels=tuple(str(x) for x in _list(manifest["negative_labels"])),
                policy=policy.check_labels(labels),
                sample_rate=int(_number(manifest["sample_rate"])),
                window=float(_number(manifest["window"])),
                hop=float(_number(manifest["hop"])),
                min_samples=int(_number(manifest["min_samples"])),
                max_length=_optional_int(manifest.get("max_length")),
                do_normalize=bool(manifest["do_normalize"]),
                trained=bool(manifest.get("trained", True)),
                path=path,
                format="export",
                # absent before this field was stored: older exports are already converted
                int8_fp32=tuple(str(x) for x in _list(manifest.get("int8_fp32", []))),
            )
        except KeyError as exc:
            raise ModelLoadError(f"{where}: manifest field {exc} is missing") from exc


def _list(value: object) -> list[object]:
    if not isinstance(value, (list, tuple)):
        raise ModelLoadError(f"manifest: expected a list, got {value!r}")
    return list(value)


def _number(value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ModelLoadError(f"manifest: expected a number, got {value!r}")
    return float(value) if isinstance(value, str) else value


def _optional_int(value: object) -> int | None:
    return None if value is None else int(_number(value))


def _modality(value: object) -> Modality:
    if value == "audio":
        return "audio"
    if value == "text":
        return "text"
    raise ModelLoadError(f"manifest: unknown modality {value!r}")


def _activation(value: object) -> Activation:
    if value == "sigmoid":
        return "sigmoid"
    if value == "softmax":
        return "softmax"
    raise ModelLoadError(f"manifest: unknown activation {value!r}")
