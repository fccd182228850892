"""Conservative energy-based trimming of leading/trailing silence."""
import numpy as np

def trim_bounds(x: np.ndarray, sr: int, frame_s: float = 0.02, margin_s: float = 0.25,
                rel_db: float = 40.0, floor_db: float = 8.0,
                cap_db: float = 30.0) -> tuple[int, int]:
    """Return (start, end) sample bounds keeping speech plus a margin on both sides.

    A frame counts as active when its RMS is above both (peak frame - rel_db) and
    (noise floor + floor_db), the noise floor being the 10th percentile of frame RMS; the
    threshold never exceeds (peak frame - cap_db), so noisy or speech-filled clips are kept.
    """
    n = int(sr * frame_s)
    if len(x) < 3 * n:
        return 0, len(x)
    nf = len(x) // n
    fr = x[: nf * n].reshape(nf, n).astype(np.float64)
    rms_db = 10 * np.log10(np.mean(fr**2, axis=1) + 1e-12)
    peak = rms_db.max()
    thr = min(max(peak - rel_db, np.percentile(rms_db, 10) + floor_db), peak - cap_db)
    active = np.nonzero(rms_db > thr)[0]
    if len(active) == 0:
        return 0, len(x)
    m = int(sr * margin_s)
    start = max(0, active[0] * n - m)
    end = min(len(x), (active[-1] + 1) * n + m)
    return start, end
