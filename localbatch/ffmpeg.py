"""Where the kit's ffmpeg comes from: its own (imageio-ffmpeg), else one on PATH.

The sample clips are made with it, and a local node's `apt-get install ffmpeg` links it.
"""

from __future__ import annotations

import shutil


def find_ffmpeg() -> str:
    """Return the kit's own ffmpeg (imageio-ffmpeg), else one on PATH, so no system install is needed."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        pass
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise RuntimeError(
        "ffmpeg not found: install the kit's copy with `pip install imageio-ffmpeg` "
        "(part of `make setup`), or a system one with `apt install ffmpeg`"
    )
