"""Benchmark 1: converting N MP4s through localbatch with K nodes against ffmpeg alone, K at a time.

A local run of the tutorial should feel as fast as running ffmpeg by hand. Both sides run the
notebooks' ffmpeg command line; the localbatch side also uploads the inputs to Azurite, starts
a pool, adds one task per file (SAS resource file in, output files out, as notebook 05 does),
waits with notebook 06's monitor and downloads the MP3s, so the ratio b/a is what the whole
service costs. The breakdown says where the difference goes, per phase and per task (from the
task's own files on the node: when in.mp4, stdout.txt, out.mp3 and fileuploadout.txt were last
written).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

from azure.batch import models
from azure.storage.blob import (
    BlobSasPermissions,
    ContainerSasPermissions,
    generate_blob_sas,
    generate_container_sas,
)

from helpers.media import find_ffmpeg, make_sample_video

from .common import (
    POOL_ID,
    Instance,
    Row,
    batch_client,
    blob_client,
    children,
    cpu_seconds,
    create_job,
    delete_pool,
    localbatch,
    median,
    monitor,
    seconds_between,
    spread,
    start_pool,
)

MEDIA = Path(__file__).resolve().parent / ".media"
COMMAND = "ffmpeg -nostdin -y -loglevel error -i in.mp4 -vn out.mp3"   # notebook 05's
SCHEMES = ("http", "https")


def sample_clips(count: int, seconds: float) -> list[Path]:
    """The inputs, made once with helpers.media and cached in bench/.media (git-ignored)."""
    folder = MEDIA / f"{seconds:g}s"
    paths = [folder / f"clip-{i:02d}.mp4" for i in range(1, count + 1)]
    missing = [(i, p) for i, p in enumerate(paths) if not p.is_file()]
    if missing:
        print(f"  making {len(missing)} sample clips of {seconds:g} s in {folder} (cached)…")
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda ip: make_sample_video(ip[1], seconds, tone_hz=220 + 55 * ip[0]),
                          missing))
    return paths


def ffmpeg_alone(clips: list[Path], k: int) -> tuple[float, dict[str, float], float]:
    """(a): the same ffmpeg command, K at a time; wall time, each file's time, CPU seconds."""
    ffmpeg = find_ffmpeg()
    with tempfile.TemporaryDirectory(prefix="bench-mp3-") as out:
        def convert(clip: Path) -> tuple[str, float]:
            started = time.perf_counter()
            subprocess.run([ffmpeg, "-nostdin", "-y", "-loglevel", "error", "-i", str(clip),
                            "-vn", str(Path(out) / f"{clip.stem}.mp3")], check=True)
            return clip.name, time.perf_counter() - started

        started, cpu = time.perf_counter(), os.times()
        with ThreadPoolExecutor(k) as pool:
            each = dict(pool.map(convert, clips))
        after = os.times()
        return (time.perf_counter() - started, each, after.children_user + after.children_system
                - cpu.children_user - cpu.children_system)


def _tasks(blobs, endpoints: dict, inputs: str, outputs: str, names: list[str]) -> list:
    """One task per input, exactly as notebook 05 builds them (SAS in, output files out)."""
    account, key = endpoints["STORAGE_ACCOUNT_NAME"], endpoints["STORAGE_ACCOUNT_KEY"]
    expiry = datetime.now(timezone.utc) + timedelta(hours=2)
    out_sas = generate_container_sas(account, outputs, account_key=key, expiry=expiry,
                                     permission=ContainerSasPermissions(write=True, create=True))
    out_url = blobs.get_container_client(outputs).url + "?" + out_sas

    def to_output(path: str, pattern: str, condition: str) -> models.OutputFile:
        return models.OutputFile(
            file_pattern=pattern,
            destination=models.OutputFileDestination(container=models.OutputFileBlobContainerDestination(
                container_url=out_url, path=path)),
            upload_options=models.OutputFileUploadConfiguration(upload_condition=condition))

    tasks = []
    for index, name in enumerate(names):
        sas = generate_blob_sas(account, inputs, name, account_key=key, expiry=expiry,
                                permission=BlobSasPermissions(read=True))
        tasks.append(models.BatchTaskCreateOptions(
            id=f"Task{index}", command_line=COMMAND,
            resource_files=[models.ResourceFile(
                http_url=blobs.get_blob_client(inputs, name).url + "?" + sas, file_path="in.mp4")],
            output_files=[to_output(name.replace(".mp4", ".mp3"), "out.mp3", "tasksuccess"),
                          to_output(f"logs/Task{index}", "../std*.txt", "taskcompletion")]))
    return tasks


def through_localbatch(inst: Instance, clips: list[Path], k: int, run: str) -> dict:
    """(b): the tutorial's steps 02-07 with K nodes; the seconds of each phase and the tasks."""
    batch, blobs = batch_client(inst.endpoints), blob_client(inst.endpoints)
    inputs, outputs, job_id = f"in-{run}", f"out-{run}", f"job-{run}"
    phases: dict[str, float] = {}
    azurite, service = inst.state.pid("azurite"), inst.service_pid()
    cpu_before = {"Azurite": cpu_seconds(azurite)[0], "service": cpu_seconds(service)[0],
                  "this client": _own_cpu()}
    mark = started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name], mark = now - mark, now

    for name in (inputs, outputs):
        blobs.create_container(name)
    container = blobs.get_container_client(inputs)

    def upload(clip: Path) -> None:   # notebook 02's, four at a time
        with open(clip, "rb") as data:
            container.upload_blob(clip.name, data, overwrite=True)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(upload, clips))
    lap("upload")
    start_pool(batch, k)
    lap("pool start")
    create_job(batch, job_id)
    batch.create_tasks(job_id, _tasks(blobs, inst.endpoints, inputs, outputs,
                                      [c.name for c in clips]))
    lap("add tasks")
    monitor(batch, job_id)
    ended = datetime.now(timezone.utc)
    lap("tasks")
    out = blobs.get_container_client(outputs)
    mp3s = [b.name for b in out.list_blobs()
            if b.name.endswith(".mp3") and not b.name.startswith("logs/")]
    with tempfile.TemporaryDirectory(prefix="bench-mp3-") as folder:
        def download(name: str) -> None:   # notebook 07's, four at a time
            with open(Path(folder) / name, "wb") as target:
                out.download_blob(name).readinto(target)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(download, mp3s))
    lap("download")
    wall = time.perf_counter() - started
    tasks = list(batch.list_tasks(job_id))
    failed = [t.id for t in tasks if t.execution_info.result != "success"]
    if failed:
        raise RuntimeError(f"tasks failed: {failed}")
    last_end = max(t.execution_info.end_time for t in tasks)
    phases["monitor lag"] = seconds_between(last_end, ended)
    phases["tasks"] -= phases["monitor lag"]
    per_task = [_task_phases(inst, t, clips) for t in tasks]
    agents = [cpu_seconds(pid) for pid in children(service)]   # the nodes, before they go
    cpu = {"ffmpeg in tasks": sum(reaped for _, reaped in agents),
           "node agents": sum(own for own, _ in agents),
           "Azurite": cpu_seconds(azurite)[0] - cpu_before["Azurite"],
           "service": cpu_seconds(service)[0] - cpu_before["service"],
           "this client": _own_cpu() - cpu_before["this client"]}
    delete_pool(batch)
    batch.begin_delete_job(job_id, polling_interval=0.1).result()
    return {"wall": wall, "phases": phases, "tasks": per_task, "gaps": _gaps(tasks), "cpu": cpu}


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def _task_phases(inst: Instance, task, clips: list[Path]) -> dict:
    """A task's run split by its own files: download, ffmpeg, upload, and reporting the end."""
    info, node = task.execution_info, task.node_info
    folder = inst.state.path / "nodes" / POOL_ID.lower() / node.node_id / node.task_root_directory
    downloaded = _mtime(folder / "wd" / "in.mp4")
    spawned = _mtime(folder / "stdout.txt")   # opened just before ffmpeg starts; stays empty
    converted = _mtime(folder / "wd" / "out.mp3")
    uploaded = _mtime(folder / "fileuploadout.txt")
    return {"clip": clips[int(task.id.removeprefix("Task"))].name,
            "run": seconds_between(info.start_time, info.end_time),
            "download": seconds_between(info.start_time, downloaded),
            "spawn": seconds_between(downloaded, spawned),
            "ffmpeg": seconds_between(spawned, converted),
            "upload": seconds_between(converted, uploaded),
            "report": seconds_between(uploaded, info.end_time)}


def _gaps(tasks: list) -> list[float]:
    """Idle time of each node between one task's end and its next task's start."""
    by_node: dict[str, list] = {}
    for t in tasks:
        by_node.setdefault(t.node_info.node_id, []).append(t.execution_info)
    gaps = []
    for infos in by_node.values():
        infos.sort(key=lambda i: i.start_time)
        gaps += [seconds_between(a.end_time, b.start_time) for a, b in itertools.pairwise(infos)]
    return gaps or [0.0]


def run(count: int, seconds: float, repeats: int, ks: tuple[int, ...] = (1, 2)) -> list[Row]:
    """b / a over https (the default) and over http (`up --http`), side by side: the repeats
    interleave ffmpeg alone and both instances, so drift in the machine's load hits all three."""
    clips = sample_clips(count, seconds)
    alone: dict[int, list] = {k: [] for k in ks}
    pooled: dict[tuple[str, int], list] = {(s, k): [] for s in SCHEMES for k in ks}
    with localbatch(scheme="http") as plain, localbatch() as secure:
        instances = {"http": plain, "https": secure}
        for r in range(repeats):
            for k in ks:
                alone[k].append(ffmpeg_alone(clips, k))
                for scheme, inst in instances.items():
                    pooled[scheme, k].append(through_localbatch(inst, clips, k, f"k{k}-r{r}"))
                print(f"  K={k} repeat {r + 1}: ffmpeg alone {alone[k][-1][0]:.1f} s, "
                      + ", ".join(f"localbatch over {s} {pooled[s, k][-1]['wall']:.1f} s"
                                  for s in SCHEMES))
    rows = []
    for k in ks:
        a = [w for w, _, _ in alone[k]]
        rows.append(Row(f"{count} × {seconds:g} s clips, K={k}: ffmpeg alone (a)", spread(a)))
        ratios = {}
        for scheme in SCHEMES:
            b = [p["wall"] for p in pooled[scheme, k]]
            ratios[scheme] = [pb / pa for pa, pb in zip(a, b)]
            rows += [Row(f"… through localbatch over {scheme}, K={k} nodes (b)", spread(b)),
                     Row(f"… b / a over {scheme}, K={k}", spread(ratios[scheme], "", 2),
                         "≤ 1.10", median(ratios[scheme]) <= 1.10)]
        rows.append(Row(f"… K={k}: https b / a against http's range", spread(ratios["https"], "", 2),
                        f"≤ {max(ratios['http']):.2f} (http's highest)",
                        median(ratios["https"]) <= max(ratios["http"])))
        rows += _breakdown(k, count, pooled["https", k], alone[k],
                           median([p["wall"] for p in pooled["https", k]]) - median(a))
    return rows


def _breakdown(k: int, count: int, runs: list[dict], alone: list, extra: float) -> list[Row]:
    """Medians over the repeats: b's phases, one task against ffmpeg alone, and b - a split
    into fixed phases, the tasks' transfers, ffmpeg's slowdown inside tasks, and the rest."""
    phases = {name: median([r["phases"][name] for r in runs]) for name in runs[0]["phases"]}
    order = ("upload", "pool start", "add tasks", "tasks", "monitor lag", "download")
    tasks = [t for r in runs for t in r["tasks"]]
    mean = {name: sum(t[name] for t in tasks) / len(tasks)
            for name in ("run", "download", "spawn", "ffmpeg", "upload", "report")}
    solo = [seconds for _, each, _ in alone for seconds in each.values()]
    solo_mean = sum(solo) / len(solo)
    gaps = [g for r in runs for g in r["gaps"]]
    fixed = sum(phases[n] for n in order if n != "tasks")
    moves = (mean["run"] - mean["ffmpeg"]) * count / k
    slower = (mean["ffmpeg"] - solo_mean) * count / k
    return [
        Row(f"… K={k}: where b's time goes (s)", " · ".join(f"{n} {phases[n]:.2f}" for n in order)),
        Row(f"… K={k}: one task, mean (s)",
            f"run {mean['run']:.2f} = download {mean['download']:.3f} + spawn "
            f"{mean['spawn']:.3f} + ffmpeg {mean['ffmpeg']:.2f} + upload {mean['upload']:.3f} + "
            f"report {mean['report']:.3f}; ffmpeg alone {solo_mean:.2f}"),
        Row(f"… K={k}: b − a = {extra:.1f} s, made of (s)",
            f"fixed phases {fixed:.1f} + tasks' transfers {moves:.1f} + ffmpeg slower in tasks "
            f"{slower:.1f} + rest {extra - fixed - moves - slower:.1f}"),
        Row(f"… K={k}: node idle between tasks", f"{1000 * median(gaps):.1f} ms median, "
            f"{1000 * max(gaps):.1f} ms max"),
        Row(f"… K={k}: CPU seconds (b), beside ffmpeg alone's {median([c for *_, c in alone]):.1f}",
            " · ".join(f"{name} {median([r['cpu'][name] for r in runs]):.2f}"
                       for name in runs[0]["cpu"])),
    ]
