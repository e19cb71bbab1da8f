"""localbatch.versions on its own: which api-versions are spoken, and what older ones lack."""

from __future__ import annotations

import pytest

from localbatch import API_VERSION, errors, versions


@pytest.mark.parametrize("version", [API_VERSION, "2024-07-01.20.0", "2020-09-01.12.0"])
def test_a_spoken_version_is_returned(version: str) -> None:
    assert versions.check(version) == version


@pytest.mark.parametrize("version", [None, ""])
def test_no_version_is_a_missing_parameter(version: str | None) -> None:
    with pytest.raises(errors.MissingRequiredQueryParameter) as caught:
        versions.check(version)
    assert caught.value.status == 400
    assert caught.value.values == {"QueryParameterName": "api-version"}


@pytest.mark.parametrize("version", ["2019-08-01.10.0", "2025-06-01.21.0", "2099-01-01",
                                     "latest", " 2025-06-01"])
def test_another_version_is_unsupported_and_named(version: str) -> None:
    with pytest.raises(errors.UnsupportedRequestVersion) as caught:
        versions.check(version)
    assert caught.value.status == 400
    assert caught.value.values["QueryParameterValue"] == version
    assert API_VERSION in caught.value.values["Reason"]


def test_the_newest_version_keeps_everything() -> None:
    body = {"id": "j", "allowTaskPreemption": True, "maxParallelTasks": 2}
    assert versions.shape(body, API_VERSION) == body


def test_an_older_version_loses_what_it_lacks_wherever_it_is() -> None:
    body = {"value": [{"id": "j", "allowTaskPreemption": False, "maxParallelTasks": 3,
                       "nested": {"virtualMachineInfo": {"x": 1}, "keep": [1, 2]}}]}
    assert versions.shape(body, "2021-06-01.14.0") == {"value": [{
        "id": "j", "maxParallelTasks": 3,
        "nested": {"virtualMachineInfo": {"x": 1}, "keep": [1, 2]}}]}
    assert versions.shape(body, "2020-09-01.12.0") == {"value": [{
        "id": "j", "nested": {"keep": [1, 2]}}]}
    assert body["value"][0]["allowTaskPreemption"] is False   # a copy: the body is untouched


def test_every_version_with_lacks_is_accepted() -> None:
    assert set(versions.LACKS) <= set(versions.ACCEPTED)
