"""helpers.media makes real, playable inputs and tells a good MP3 from a broken one; localbatch
finds the nodes' ffmpeg."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from helpers import media
from localbatch import ffmpeg


def _to_mp3(src: Path, dst: Path) -> Path:
    """Convert as a tutorial task does."""
    subprocess.run(
        [media.find_ffmpeg(), "-nostdin", "-y", "-loglevel", "error", "-i", str(src), str(dst)],
        check=True,
    )
    return dst


def _mean_volume_db(path: Path) -> float:
    err = subprocess.run(
        [media.find_ffmpeg(), "-nostdin", "-hide_banner", "-i", str(path), "-map", "0:a",
         "-af", "volumedetect", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    return float(re.search(r"mean_volume: (-?[\d.]+) dB", err).group(1))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return media.make_sample_video(tmp_path_factory.mktemp("clip") / "clip.mp4", 3.0)


def test_sample_video_has_video_and_audio_of_the_asked_length(clip: Path) -> None:
    info = media.probe(clip)
    assert info.video_codec == "h264"
    assert info.audio_codec == "aac"
    assert info.duration == pytest.approx(3.0, abs=0.1)
    assert media.check_audio(clip)


def test_sample_video_audio_is_audible(clip: Path) -> None:
    # A sine at the default amplitude (1/8 of full scale) is about -21 dB; silence is -91 dB.
    assert _mean_volume_db(clip) > -30


def test_any_length_and_tone(tmp_path: Path) -> None:
    path = media.make_sample_video(tmp_path / "long.mp4", 12.5, tone_hz=880, label="x")
    assert media.probe(path).duration == pytest.approx(12.5, abs=0.1)
    assert media.check_audio(path)


def test_mp3_from_sample_is_valid_and_the_mp4_is_not_an_mp3(clip: Path, tmp_path: Path) -> None:
    mp3 = _to_mp3(clip, tmp_path / "out.mp3")
    assert media.is_valid_mp3(mp3)
    assert media.probe(mp3).duration == pytest.approx(3.0, abs=0.1)
    assert not media.is_valid_mp3(clip)


def test_truncated_and_corrupt_files_are_invalid(clip: Path, tmp_path: Path) -> None:
    video = clip.read_bytes()
    (tmp_path / "half.mp4").write_bytes(video[: len(video) // 2])
    (tmp_path / "cut-end.mp4").write_bytes(video[:-2000])
    mp3 = _to_mp3(clip, tmp_path / "full.mp3").read_bytes()
    (tmp_path / "half.mp3").write_bytes(mp3[: len(mp3) // 2])
    (tmp_path / "junk.mp3").write_bytes(b"not audio at all\n" * 100)
    (tmp_path / "empty.mp3").write_bytes(b"")
    for name in ["half.mp4", "cut-end.mp4", "half.mp3", "junk.mp3", "empty.mp3", "missing.mp3"]:
        assert not media.check_audio(tmp_path / name), name
        assert not media.is_valid_mp3(tmp_path / name), name


@pytest.mark.parametrize(
    "name",
    ['with space\'s "quotes" $(touch X) `touch Y`; touch Z.mp4', "-leading-dash.mp4", "noext"],
)
def test_odd_file_names_are_just_names(name: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = media.make_sample_video(Path(name), 1.0)
    assert path == tmp_path / name
    assert media.check_audio(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no X, Y, Z, no partial file


def test_sample_inputs_are_the_tutorials_and_idempotent(tmp_path: Path) -> None:
    paths = media.make_sample_inputs(tmp_path / "in", count=3, seconds=1.0)
    assert [p.name for p in paths] == ["LowPriVMs-1.mp4", "LowPriVMs-2.mp4", "LowPriVMs-3.mp4"]
    assert [round(media.probe(p).duration) for p in paths] == [1, 2, 3]
    assert len({p.read_bytes() for p in paths}) == 3

    before = [p.stat().st_mtime_ns for p in paths]
    paths[1].write_bytes(b"")  # an empty file is remade, the others are kept
    again = media.make_sample_inputs(tmp_path / "in", count=3, seconds=1.0)
    assert again == paths
    assert [p.stat().st_mtime_ns for p in (paths[0], paths[2])] == [before[0], before[2]]
    assert media.check_audio(paths[1])


def test_find_ffmpeg_falls_back_to_path_then_says_how_to_install(monkeypatch) -> None:
    import imageio_ffmpeg

    def no_binary() -> str:
        raise RuntimeError("no ffmpeg binary in this imageio-ffmpeg")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", no_binary)
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/local/bin/ffmpeg")
    assert ffmpeg.find_ffmpeg() == "/usr/local/bin/ffmpeg"
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="pip install imageio-ffmpeg.*apt install ffmpeg"):
        ffmpeg.find_ffmpeg()


def test_ffmpeg_failure_raises_with_its_stderr_and_leaves_no_file(
    tmp_path: Path, monkeypatch
) -> None:
    fake = tmp_path / "fake-ffmpeg"
    fake.write_text("#!/bin/sh\necho 'Unknown encoder libx264' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(media, "find_ffmpeg", lambda: str(fake))
    out = tmp_path / "out"
    with pytest.raises(media.FFmpegError, match="Unknown encoder libx264"):
        media.make_sample_video(out / "a.mp4", 1.0)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("kwargs", [{"seconds": 0}, {"seconds": -1}, {"tone_hz": 5}])
def test_bad_arguments_are_refused(kwargs: dict, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        media.make_sample_video(tmp_path / "a.mp4", **kwargs)


def test_excerpt_is_the_start_of_the_mp3_and_plays(tmp_path: Path) -> None:
    mp3 = _to_mp3(media.make_sample_video(tmp_path / "long.mp4", 12.0), tmp_path / "long.mp3")
    part = tmp_path / "part.mp3"
    part.write_bytes(media.excerpt(mp3, seconds=3))
    assert 0 < part.stat().st_size < mp3.stat().st_size / 2
    assert media.probe(part).duration == pytest.approx(3, abs=0.3)
    with pytest.raises(media.FFmpegError, match="could not read"):
        media.excerpt(tmp_path / "missing.mp3")
