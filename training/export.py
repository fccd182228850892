"""Export parity of the mini models through the library's own exporter.

Run: ``python -m training.export [--bundle DIR]``. Every part of the bundle (audio, text) is
converted to TorchScript, ONNX fp32 and int8 ONNX exactly as ``voicesafety export`` and the
``torchscript`` / ``onnx`` / ``onnx-int8`` backends do (:func:`voicesafety.export.export`: the
same graph, the same int8 scheme and fp32 exclusions), and compared with torch eager on the
library's probe set (max |delta score|, flag agreement, the library's parity bounds). There is
no second exporter here, so the figures describe what users of the library get.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from voicesafety.export import EXPORT_BACKENDS, MODEL_FILES, ExportParityError, export

BUNDLE = Path(__file__).resolve().parents[1] / "voicesafety" / "models" / "mini"


def check_bundle(bundle: Path = BUNDLE) -> dict[str, dict[str, dict]]:
    """Export every part of ``bundle`` to every backend; ``{part: {backend: report}}`` with the
    parity report as a dict (``max_abs_diff``, ``flag_agreement``, ``passed``, bounds...) plus
    ``mb``, the size of the model file (``None`` and ``passed: False`` when it was refused)."""
    out: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for part in ("audio", "text"):
            for backend in EXPORT_BACKENDS:
                dst = Path(tmp) / part / backend
                try:  # one part at a time, so a refused part does not hide the others
                    (report,) = export(bundle / part, backend, dst, log=None)
                except ExportParityError as exc:
                    report = exc.report
                rep = report.to_dict()
                f = dst / MODEL_FILES[backend]
                rep["mb"] = f.stat().st_size / 1e6 if f.exists() else None
                out.setdefault(part, {})[backend] = rep
    return out


def main() -> None:
    """Print the parity figures of a bundle (default: the shipped one)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bundle", type=Path, default=BUNDLE)
    args = ap.parse_args()
    for part, reports in check_bundle(args.bundle).items():
        for backend, r in reports.items():
            print(
                f"{part:5s} {backend:11s} max|d score| {r['max_abs_diff']:.1e}  flags "
                f"{r['flag_agreement']:.0%}  {'PASS' if r['passed'] else 'FAIL'}  "
                f"{r['mb'] or 0:.2f} MB"
            )


if __name__ == "__main__":
    main()
