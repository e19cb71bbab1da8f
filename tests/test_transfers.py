"""A node's uploads, in isolation: what the task's failureInfo and fileuploadout.txt say."""

from __future__ import annotations

from pathlib import Path

import pytest

from localbatch import transfers
from localbatch.transfers import Failure

NOWHERE = "http://127.0.0.1:9/account/out?sv=2021-12-02&sig=SECRET"   # port 9: nothing listens


def outputs(pattern: str) -> list[dict]:
    return [{"filePattern": pattern, "destination": {"container": {"containerUrl": NOWHERE}},
             "uploadOptions": {"uploadCondition": "tasksuccess"}}]


def test_a_file_too_big_for_one_upload_fails_before_sending(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfers, "PUT_BLOB_LIMIT", 10)
    (tmp_path / "big.mp3").write_bytes(b"x" * 11)
    log: list[str] = []
    with pytest.raises(Failure) as caught:
        transfers.upload_output_files(outputs("big.mp3"), tmp_path, 0, log)
    assert caught.value.code == "FileUploadMiscError"
    assert "big.mp3 is larger than 5000 MiB" in caught.value.message


def test_an_unreachable_destination_names_the_file_and_hides_the_sas(tmp_path: Path) -> None:
    (tmp_path / "out.mp3").write_bytes(b"mp3")
    log: list[str] = []
    with pytest.raises(Failure) as caught:
        transfers.upload_output_files(outputs("out.mp3"), tmp_path, 0, log)
    assert caught.value.code == "FileUploadMiscError"
    assert "out.mp3 to http://127.0.0.1:9/account/out/out.mp3" in caught.value.message
    assert "SECRET" not in caught.value.message + "".join(log)
    assert log == ["upload of out.mp3 to http://127.0.0.1:9/account/out/out.mp3 failed: URLError"]


def test_a_failed_task_skips_success_only_uploads(tmp_path: Path) -> None:
    (tmp_path / "out.mp3").write_bytes(b"mp3")
    log: list[str] = []
    transfers.upload_output_files(outputs("out.mp3"), tmp_path, 1, log)   # nothing sent
    assert log == []
