"""Rebuild ``rirs.npz`` from the source impulse responses listed in ``README.md``.

Not run by the tests or by training: ``rirs.npz`` is committed. This script documents (and
reproduces) the processing. It needs ``h5py`` (for the SOFA file) besides numpy, scipy,
soundfile and soxr, and a folder laid out as::

    SRC/surrey/UniS_Room_A_BRIR_16k.sofa          IoSR-Surrey/RealRoomBRIRs
    SRC/bbc/BBCRD_LR_*.wav                        bbc/bbcrd-brirs  ambix-configs/irs/
    SRC/toob/*.wav                                rerdavies/ToobAmp  impulseFiles/reverb/
    SRC/qv/{large_church,large_hall,medium_chamber,medium_hall}.wav
                                                  QVbDev/quantumVerb  Resources/ImpulseResponses/
    SRC/sa/rir_clap.wav                           spatialaudio/selected-topics-in-audio-
                                                  signal-processing-exercises  data/

Usage: ``python training/data/rir/make_rirs.py SRC training/data/rir/rirs.npz``
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SR = 16000
MAX_LEN = SR  # at most 1 s
PRE = 16  # samples kept before the direct-path peak (1 ms)
FADE = 160  # 10 ms half-Hann fade-out at the end

#: room id -> (licence, split). The held-out rooms are used only for evaluation.
ROOMS = {
    "surrey_room_a_office": ("MIT", "train"),
    "bbc_rd_listening_room": ("CC-BY-SA-4.0", "heldout"),
    "openair_arthur_sykes_rymer_auditorium": ("CC-BY-4.0", "train"),
    "openair_genesis6_studio_live_room": ("CC-BY-4.0", "train"),
    "openair_jack_lyons_concert_hall": ("CC-BY-4.0", "train"),
    "openair_st_margarets_church": ("CC-BY-4.0", "heldout"),
    "openair_spokane_womans_club": ("CC-BY-3.0", "train"),
    "openair_st_andrews_church": ("CC-BY-SA-3.0", "train"),
    "openair_terrys_typing_room": ("CC-BY-SA-3.0", "train"),
    "openair_tyndall_bruce_monument": ("CC-BY-SA-3.0", "train"),
    "spatialaudio_seminar_room_clap": ("CC0-1.0", "train"),
}


def _prepare(h: np.ndarray, sr: int) -> np.ndarray:
    """Resample to 16 kHz, cut before the direct path, trim the tail, fade out, peak 1."""
    h = np.asarray(h, dtype=np.float64)
    if sr != SR:
        h = soxr.resample(h, sr, SR, quality="VHQ")
    peak = int(np.argmax(np.abs(h)))
    h = h[max(0, peak - PRE) :]
    # trim where the backward-integrated energy (Schroeder curve) falls 60 dB below its start
    edc = np.cumsum((h**2)[::-1])[::-1]
    edc_db = 10 * np.log10(edc / edc[0] + 1e-30)
    end = int(np.searchsorted(-edc_db, 60.0))
    n = min(MAX_LEN, max(end, 4 * FADE), h.size)
    h = h[:n].copy()
    h[-FADE:] *= np.hanning(2 * FADE)[FADE:]
    return h / np.max(np.abs(h))


def collect(src: Path) -> list[tuple[str, str, np.ndarray]]:
    """(room, name, rir) for every impulse response kept."""
    import h5py

    out: list[tuple[str, str, np.ndarray]] = []
    with h5py.File(src / "surrey" / "UniS_Room_A_BRIR_16k.sofa", "r") as f:
        ir = f["Data.IR"][:]  # (37 azimuths -90..90 deg, 2 ears, n)
        sr = int(f["Data.SamplingRate"][0])
        az = f["SourcePosition"][:, 0]
    for m in range(0, ir.shape[0], 2):  # every 10 degrees: 19 azimuths x 2 ears
        for ear in range(2):
            name = f"az{int(az[m]) % 360:03d}_{'LR'[ear]}"
            out.append(("surrey_room_a_office", name, _prepare(ir[m, ear], sr)))
    bbc = sorted((src / "bbc").glob("BBCRD_LR_M*.wav"))  # 14 ear-height loudspeakers x 2 ears
    for p in bbc:
        x, sr = sf.read(p, dtype="float64", always_2d=True)
        for ear in range(2):
            out.append(("bbc_rd_listening_room", f"{p.stem}_{'LR'[ear]}", _prepare(x[:, ear], sr)))
    toob = {
        "Arthur Sykes Rymer Auditorium.wav": "openair_arthur_sykes_rymer_auditorium",
        "Genesis 6 Studio Live Room.wav": "openair_genesis6_studio_live_room",
        "Jack Lyons Hall, University of York.wav": "openair_jack_lyons_concert_hall",
        "St. Margaret's Church.wav": "openair_st_margarets_church",
    }
    for fname, room in toob.items():
        x, sr = sf.read(src / "toob" / fname, dtype="float64", always_2d=True)
        out.append((room, "bformat_W", _prepare(x[:, 0], sr)))  # W = omnidirectional channel
    qv = {
        "medium_hall.wav": "openair_spokane_womans_club",
        "large_church.wav": "openair_st_andrews_church",
        "large_hall.wav": "openair_terrys_typing_room",
        "medium_chamber.wav": "openair_tyndall_bruce_monument",
    }
    for fname, room in qv.items():
        x, sr = sf.read(src / "qv" / fname, dtype="float64", always_2d=True)
        for ch in range(x.shape[1]):
            out.append((room, f"ch{ch}", _prepare(x[:, ch], sr)))
    x, sr = sf.read(src / "sa" / "rir_clap.wav", dtype="float64", always_2d=True)
    out.append(("spatialaudio_seminar_room_clap", "clap", _prepare(x[:, 0], sr)))
    return out


def main(src: str, dst: str) -> None:
    items = collect(Path(src))
    lengths = np.array([r.size for _, _, r in items], dtype=np.int32)
    data = np.concatenate([r for _, _, r in items]).astype(np.float16)
    rooms = np.array([room for room, _, _ in items])
    np.savez_compressed(
        dst,
        data=data,
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        room=rooms,
        name=np.array([name for _, name, _ in items]),
        split=np.array([ROOMS[room][1] for room in rooms]),
        licence=np.array([ROOMS[room][0] for room in rooms]),
        sample_rate=np.int32(SR),
        pre_samples=np.int32(PRE),
    )
    for room in ROOMS:
        sel = lengths[rooms == room]
        print(f"{room:40s} {ROOMS[room][1]:8s} {sel.size:3d} IRs, {sel.mean() / SR:.2f} s mean")
    print(f"{len(items)} IRs, {Path(dst).stat().st_size / 1e6:.2f} MB -> {dst}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
