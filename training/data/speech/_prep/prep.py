"""Prepare training/data/speech from the fetched snapshots (run once by hand; not shipped)."""
import csv, glob, hashlib, io, json, os, re, sys, zipfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
import numpy as np, soundfile as sf
sys.path.insert(0, "/tmp/work")
from trim import trim_bounds
from enc import opus_bytes

RAW = "/tmp/work/raw"
OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/work/out"
KBPS = int(os.environ.get("KBPS", "16"))
SC_CAP = int(os.environ.get("SC_CAP", "12"))
SO_PER = int(os.environ.get("SO_PER", "5"))
PV_N = int(os.environ.get("PV_N", "619"))

def h(s: str) -> int:
    return int(hashlib.sha256(s.encode()).hexdigest()[:8], 16)

def speaker_split(source: str, speaker: str) -> str:
    v = h(f"{source}:{speaker}") % 100
    return "train" if v < 70 else "dev" if v < 80 else "test"

def encode(item):
    path, kbps, margin = item["path"], item["kbps"], item["margin"]
    x, sr = sf.read(path, dtype="int16")
    if x.ndim > 1:
        x = x[:, 0]
    a, b = trim_bounds(x.astype(np.float32) / 32768, sr, margin_s=margin)
    x = x[a:b]
    ob = opus_bytes(x, sr, kbps)
    y, sr2 = sf.read(io.BytesIO(ob), dtype="float32")
    assert sr2 == sr and np.isfinite(y).all()
    return ob, len(y) / sr, (len(x) / sr)

def write_source(name, items, fixed_split=None):
    d = os.path.join(OUT, "training/data/speech", name)
    os.makedirs(d, exist_ok=True)
    for it in items:
        it["split"] = fixed_split or speaker_split(name, it["speaker"])
        it.setdefault("kbps", KBPS); it.setdefault("margin", 0.2)
    with ThreadPoolExecutor(2) as ex:
        res = list(ex.map(encode, items))
    zips = {}
    rows = []
    for it, (ob, dur, raw_dur) in zip(items, res):
        sp = it["split"]
        if sp not in zips:
            zips[sp] = zipfile.ZipFile(os.path.join(d, f"{sp}.zip"), "w", zipfile.ZIP_STORED)
        zi = zipfile.ZipInfo(it["key"], date_time=(2020, 1, 1, 0, 0, 0))
        zips[sp].writestr(zi, ob)
        rows.append((it["key"], it["speaker"], sp, it["transcript"] or "", f"{dur:.3f}"))
    for z in zips.values():
        z.close()
    order = {"train": 0, "dev": 1, "test": 2}
    rows.sort(key=lambda r: (order[r[2]], r[0]))
    with open(os.path.join(d, "clips.csv"), "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file_or_key", "speaker", "split", "transcript", "duration"])
        w.writerows(rows)
    stats = {}
    for sp in ("train", "dev", "test"):
        rs = [r for r in rows if r[2] == sp]
        stats[sp] = {"clips": len(rs), "speakers": len({r[1] for r in rs}),
                     "hours": round(sum(float(r[4]) for r in rs) / 3600, 3),
                     "bytes": os.path.getsize(os.path.join(d, f"{sp}.zip")) if rs else 0}
    durs = [float(r[4]) for r in rows]
    stats["duration_min_median_max"] = [min(durs), float(np.median(durs)), max(durs)]
    stats["raw_seconds_before_trim"] = None
    json.dump(stats, open(os.path.join("/tmp/work", f"stats_{name}.json"), "w"), indent=1)
    print(name, json.dumps(stats))

def speech_commands():
    base = f"{RAW}/sc/MLTK_keyworkSpotting/dataset"
    items = []
    for f in sorted(glob.glob(f"{base}/*/*.wav")):
        folder, fn = f.split("/")[-2:]
        if folder == "_silence_":
            continue
        m = re.match(r"^(?:([a-z]+)_)?([0-9a-f]{8})_nohash_(\d+)\.wav(?:\.wav)?$", fn)
        assert m, fn
        word = m.group(1) if folder == "_unknown_" else folder
        assert word, fn
        spk, n = m.group(2), m.group(3)
        items.append({"path": f, "speaker": spk, "transcript": word,
                      "key": f"{word}/{spk}_nohash_{n}.opus"})
    by = defaultdict(list)
    for it in items:
        by[it["speaker"]].append(it)
    sel = []
    for spk, its in by.items():
        its.sort(key=lambda it: h("sc:" + it["key"]))
        # prefer distinct words first
        seen, first, rest = set(), [], []
        for it in its:
            (rest if it["transcript"] in seen else first).append(it); seen.add(it["transcript"])
        sel.extend((first + rest)[:SC_CAP])
    print("speech_commands available", len(items), "speakers", len(by), "selected", len(sel))
    write_source("speech_commands", sel)

def speechocean():
    base = f"{RAW}/so"
    text = {}
    for part in ("train", "test"):
        for line in open(f"{base}/{part}/text", encoding="utf-8"):
            k, t = line.rstrip("\n").split("\t", 1) if "\t" in line else line.rstrip("\n").split(" ", 1)
            text[k] = t.strip()
    items = []
    for f in sorted(glob.glob(f"{base}/WAVE/SPEAKER*/*.WAV")):
        spk = f.split("/")[-2].replace("SPEAKER", "")
        utt = os.path.basename(f)[:-4]
        if utt not in text:
            continue
        items.append({"path": f, "speaker": spk, "transcript": text[utt],
                      "key": f"{spk}/{utt}.opus"})
    by = defaultdict(list)
    for it in items:
        by[it["speaker"]].append(it)
    sel = []
    for spk, its in by.items():
        its.sort(key=lambda it: h("so:" + it["key"]))
        sel.extend(its[:SO_PER])
    print("speechocean762 with text", len(items), "speakers", len(by), "selected", len(sel))
    write_source("speechocean762", sel)

def picovoice():
    fs = sorted(glob.glob(f"{RAW}/pv_s2i/data/speech/clean/*.wav"))
    fs.sort(key=lambda f: h("pv:" + os.path.basename(f)))
    items = [{"path": f, "speaker": "unknown", "transcript": None,
              "key": os.path.basename(f)[:-4] + ".opus"} for f in fs[:PV_N]]
    write_source("picovoice_s2i", items, fixed_split="train")

if __name__ == "__main__":
    which = sys.argv[2:] or ["sc", "so", "pv"]
    if "sc" in which: speech_commands()
    if "so" in which: speechocean()
    if "pv" in which: picovoice()
