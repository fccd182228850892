"""Prepare benchmarks/data/speech/fsdd (evaluation only)."""
import csv, glob, io, os, re, sys, zipfile
from concurrent.futures import ThreadPoolExecutor
import numpy as np, soundfile as sf
sys.path.insert(0, "/tmp/work")
from enc import opus_bytes
OUT = sys.argv[1]
d = os.path.join(OUT, "benchmarks/data/speech/fsdd"); os.makedirs(d, exist_ok=True)
fs = sorted(glob.glob("/tmp/work/raw/fsdd/recordings/*.wav"))
def enc(f):
    x, sr = sf.read(f, dtype="int16")
    assert sr == 8000 and x.ndim == 1
    ob = opus_bytes(x, sr, 24)
    y, sr2 = sf.read(io.BytesIO(ob), dtype="float32")
    assert sr2 == 8000 and np.isfinite(y).all()
    return ob, len(y) / sr, len(x) / sr
with ThreadPoolExecutor(2) as ex:
    res = list(ex.map(enc, fs))
rows = []
with zipfile.ZipFile(os.path.join(d, "recordings.zip"), "w", zipfile.ZIP_STORED) as z:
    for f, (ob, dur, rd) in zip(fs, res):
        name = os.path.basename(f)[:-4]
        digit, spk, idx = re.match(r"^(\d)_([a-z]+)_(\d+)$", name).groups()
        z.writestr(zipfile.ZipInfo(name + ".opus", date_time=(2020, 1, 1, 0, 0, 0)), ob)
        rows.append((name + ".opus", spk, digit, int(idx), dur, rd))
rows.sort(key=lambda r: (r[1], int(r[2]), r[3]))
with open(os.path.join(d, "clips.csv"), "w", newline="") as fh:
    w = csv.writer(fh, lineterminator="\n"); w.writerow(["file", "speaker", "digit"])
    w.writerows([(r[0], r[1], r[2]) for r in rows])
durs = np.array([r[4] for r in rows]); rds = np.array([r[5] for r in rows])
print(len(rows), "clips", round(durs.sum() / 3600, 3), "h", "min/med/max", durs.min(), np.median(durs), durs.max(), "orig sum", rds.sum(), "zip bytes", os.path.getsize(os.path.join(d, "recordings.zip")))
