"""A game server moderating voice chat live: several players, one classifier, asyncio.

Each player's microphone is simulated from the example recordings with silence between
utterances, sent as 48 kHz int16 PCM in 20 ms packets (as a voice server receives them).
Every player gets a stream; one classifier serves them all. Events arrive as utterances
end; a flagged event mutes the player (here: prints it).

    pip install "voicesafety[vad]"      # Silero VAD's ONNX weights
    python examples/game_server.py [--realtime]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

import voicesafety as vs

AUDIO = Path(__file__).resolve().parent / "audio"
RATE = 48_000
PACKET = RATE // 50  # 20 ms


def microphone(player: int) -> np.ndarray:
    """A player's mic: their recordings separated by silence, as 48 kHz int16 PCM."""
    rng = np.random.default_rng(player)
    clips = sorted(AUDIO.glob("*.ogg"))
    parts = []
    for _ in range(3):
        speech, rate = sf.read(clips[int(rng.integers(len(clips)))], dtype="float32")
        parts += [np.zeros(int(rng.uniform(0.5, 2.0) * rate), np.float32), speech]
    parts.append(np.zeros(rate, np.float32))
    pcm = soxr.resample(np.concatenate(parts), rate, RATE)
    return (np.clip(pcm, -1.0, 32767 / 32768) * 32768).astype(np.int16)


async def player_connection(clf: vs.Classifier, name: str, pcm: np.ndarray, realtime: bool,
                            muted: set[str]) -> int:
    """What the server runs per connected player: packets in, moderation events out."""
    stream = clf.stream(sample_rate=RATE, name=name, window=8.0, hop=4.0)
    events = 0
    for at in range(0, len(pcm), PACKET):
        packet = pcm[at:at + PACKET].tobytes()  # what arrives from the network
        for event in await stream.apush(packet):
            events += 1
            report(event, muted)
        if realtime:
            await asyncio.sleep(0.02)
    for event in await stream.aflush():
        events += 1
        report(event, muted)
    return events


def report(event: vs.StreamEvent, muted: set[str]) -> None:
    verdict = f"FLAGGED {', '.join(event.flags)}" if event.flagged else "ok"
    print(f"[{event.stream}] {event.start:6.2f}-{event.end:6.2f} s  toxicity "
          f"{event.toxicity:.2f}  {verdict}  ({event.latency * 1000:.0f} ms)")
    if event.flagged and event.stream not in muted:
        muted.add(str(event.stream))
        print(f"  -> muting {event.stream} and sending the clip to human review")


async def main(realtime: bool) -> None:
    clf = vs.Classifier.from_pretrained()  # one model, shared by every player's stream
    players = {f"player{i}": microphone(i) for i in range(4)}
    muted: set[str] = set()
    counts = await asyncio.gather(*(player_connection(clf, name, pcm, realtime, muted)
                                    for name, pcm in players.items()))
    print(f"{sum(counts)} utterance events from {len(players)} players; muted: "
          f"{sorted(muted) or 'nobody'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realtime", action="store_true",
                        help="send packets at real time (default: as fast as possible)")
    asyncio.run(main(parser.parse_args().realtime))
