import subprocess, numpy as np
def opus_bytes(x_int16: np.ndarray, sr: int, kbps: int, app: str = "audio") -> bytes:
    cmd = ["ffmpeg", "-v", "error", "-f", "s16le", "-ar", str(sr), "-ac", "1", "-i", "pipe:0",
           "-c:a", "libopus", "-b:a", f"{kbps}k", "-vbr", "on", "-application", app,
           "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "ogg", "pipe:1"]
    return subprocess.run(cmd, input=x_int16.astype("<i2").tobytes(), capture_output=True, check=True).stdout
