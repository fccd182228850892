"""Long files are read in blocks: peak memory stays flat in file length."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

RATE = 22_050  # not 16 kHz, so the streaming resampler is exercised too

PROBE = """
import json, resource, sys
import voicesafety as vs
clf = vs.Classifier.from_pretrained(sys.argv[1], backend="torch", device="cpu")
result = clf.score(sys.argv[2], batch_size=4)
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_kib": peak_kib, "windows": len(result.windows),
                  "duration": result.duration}))
"""


def write_noise(path, seconds: int) -> None:
    rng = np.random.default_rng(0)
    block = (0.1 * rng.standard_normal(RATE * 60)).astype(np.float32)
    with sf.SoundFile(path, "w", RATE, 1, subtype="PCM_16") as f:
        for _ in range(seconds // 60):
            f.write(block)


def peak(model_dir, path) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(model_dir), str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_one_hour_file_uses_no_more_memory_than_one_minute(v1_dir, tmp_path):
    minute, hour = tmp_path / "minute.wav", tmp_path / "hour.wav"
    write_noise(minute, 60)
    write_noise(hour, 3600)
    small, large = peak(v1_dir, minute), peak(v1_dir, hour)
    assert large["windows"] == 240 and large["duration"] == pytest.approx(3600, abs=0.01)
    # Decoding the hour at once would add ~300 MB of float32 (input + resampled output).
    assert large["peak_kib"] <= 1.5 * small["peak_kib"], (small, large)
    print(f"peak RSS: 1 min {small['peak_kib'] / 1024:.0f} MiB, "
          f"1 h {large['peak_kib'] / 1024:.0f} MiB")
