"""Where the local nodes' ffmpeg comes from: the kit's own (imageio-ffmpeg), else one on PATH.

The service puts it first on every node's PATH, so no system install is needed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


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


def ffmpeg_bin_dir(folder: str | os.PathLike[str]) -> Path:
    """Make ``folder/ffmpeg`` a link to the kit's ffmpeg, so the folder can go first on a PATH."""
    folder = Path(folder).absolute()
    folder.mkdir(parents=True, exist_ok=True)
    target = os.path.abspath(find_ffmpeg())
    link = folder / "ffmpeg"
    if link.is_symlink() and os.readlink(link) == target:
        return folder
    # Link under a unique name, then rename over: concurrent callers never see a missing link.
    tmp = folder / f".ffmpeg-{uuid.uuid4().hex}"
    tmp.symlink_to(target)
    os.replace(tmp, link)
    return folder
