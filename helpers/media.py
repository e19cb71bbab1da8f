"""Sample media for the tutorial and the tests: make MP4 inputs, check MP3 outputs.

Every ffmpeg call passes its arguments as a list (no shell) and file names as absolute paths,
so a name with spaces, quotes, ``$(...)`` or a leading dash is just a name.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from localbatch.ffmpeg import find_ffmpeg

TIMEOUT_S = 300  # longest any single ffmpeg call may take before it is stopped


class FFmpegError(RuntimeError):
    """ffmpeg failed; the message carries its stderr, which says why."""


@dataclass(frozen=True)
class MediaInfo:
    """What ffmpeg reports about a file: its length and the codec of its first streams."""

    duration: float | None
    audio_codec: str | None
    video_codec: str | None


def _ffmpeg(args: list[str], text: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([find_ffmpeg(), "-nostdin", "-hide_banner", *args], check=False,
                          stdin=subprocess.DEVNULL, capture_output=True, text=text,
                          errors="replace" if text else None, timeout=TIMEOUT_S)


def excerpt(path: str | os.PathLike[str], seconds: float = 10) -> bytes:
    """The first seconds of an MP3, unchanged: enough to listen to, small enough to embed."""
    done = _ffmpeg(["-v", "error", "-i", os.path.abspath(path), "-t", f"{seconds}",
                    "-c", "copy", "-f", "mp3", "pipe:1"], text=False)
    if done.returncode != 0:
        raise FFmpegError(f"ffmpeg could not read {path}: {done.stderr.decode(errors='replace')}")
    return done.stdout


def make_sample_video(path: str | os.PathLike[str], seconds: float = 6.0, *,
                      tone_hz: float = 440, label: str | None = None) -> Path:
    """Write an MP4 with a test picture and an audible tone, so the tutorial needs no downloads.

    The picture is small and slow (160x120, 10 frames a second): only the sound reaches the MP3,
    and it makes the clip in less than half the time 320x240 at 25 took."""
    if not seconds > 0:
        raise ValueError(f"seconds must be > 0, not {seconds!r}")
    if not 20 <= tone_hz <= 20000:
        raise ValueError(f"tone_hz must be an audible frequency (20-20000), not {tone_hz!r}")
    path = Path(path).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename when complete: an interrupted run leaves no half file.
    partial = path.parent / f".partial-{uuid.uuid4().hex}.mp4"
    args = [
        "-y", "-loglevel", "error",
        "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10",
        "-f", "lavfi", "-i", f"sine=frequency={tone_hz}:sample_rate=44100",
        "-t", f"{seconds}", "-map", "0:v", "-map", "1:a",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "96k",
        "-metadata", f"title={label if label is not None else path.stem}",
        "-f", "mp4", str(partial),
    ]  # fmt: skip
    try:
        result = _ffmpeg(args)
        if result.returncode != 0:
            raise FFmpegError(f"ffmpeg could not make {path}: {result.stderr.strip()}")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def sample_seconds() -> float:
    """The clips' base length: the original sample's 2 minutes, or 6 s with SAMPLE=short."""
    return 6.0 if os.environ.get("BATCH_NOTEBOOKS_SAMPLE", "").lower() == "short" else 116.0


def make_sample_inputs(folder: str | os.PathLike[str], count: int = 5, seconds: float = 6.0,
                       prefix: str = "LowPriVMs-") -> list[Path]:
    """Make the tutorial's inputs ``LowPriVMs-1.mp4`` ..., each with its own tone and length.

    Clip i lasts ``seconds + (i - 1) % 5`` seconds (6 to 10 s by default, as the modern sample's
    generator makes them). Files that already exist with a non-zero size are kept.
    """
    folder = Path(folder)
    paths = []
    for i in range(1, count + 1):
        path = folder / f"{prefix}{i}.mp4"
        if not (path.is_file() and path.stat().st_size > 0):
            make_sample_video(path, seconds + (i - 1) % 5, tone_hz=330 + 110 * ((i - 1) % 8),
                              label=path.stem)
        paths.append(path)
    return paths


_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.MULTILINE)
_STREAM = re.compile(r"^\s*Stream #\d+:\d+\S*: (Audio|Video): (\w+)", re.MULTILINE)


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Read length and codecs from ``ffmpeg -i`` (the kit's ffmpeg comes without ffprobe)."""
    # With no output file ffmpeg exits 1 after printing the input's description: that is expected.
    err = _ffmpeg(["-i", os.path.abspath(path)]).stderr
    duration = None
    if m := _DURATION.search(err):
        hours, minutes, secs = m.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(secs)
    codecs: dict[str, str] = {}
    for kind, codec in _STREAM.findall(err):
        codecs.setdefault(kind, codec)
    return MediaInfo(duration, codecs.get("Audio"), codecs.get("Video"))


def check_audio(path: str | os.PathLike[str]) -> bool:
    """True when the file has audio and decodes to its stated end with no error.

    Decoding alone accepts a truncated MP3 (it stops early without complaint), so the decoded
    length is also compared with the length the file's header states.
    """
    if not Path(path).is_file():
        return False
    decoded = _ffmpeg(["-v", "error", "-nostats", "-progress", "pipe:1", "-i",
                       os.path.abspath(path), "-f", "null", "-"])
    if decoded.returncode != 0 or decoded.stderr.strip():
        return False
    times = re.findall(r"^out_time_us=(\d+)$", decoded.stdout, re.MULTILINE)
    decoded_s = int(times[-1]) / 1e6 if times else 0.0
    info = probe(path)
    return info.audio_codec is not None and decoded_s > 0 and (
        info.duration is None or decoded_s >= info.duration * 0.98 - 0.25)


def is_valid_mp3(path: str | os.PathLike[str]) -> bool:
    """True for a complete, decodable MP3: what a finished tutorial task should have uploaded."""
    return check_audio(path) and probe(path).audio_codec == "mp3"
