"""Conditional requests (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since).

Why: a delete with a stale If-Match went through. Learn, "Specifying conditional headers" (Batch):
an unmet condition is 412 ConditionNotMet, or 304 for If-None-Match and If-Modified-Since on a
read; more than one such header is a 400, except If-Match with If-Unmodified-Since and
If-None-Match with If-Modified-Since, where the ETag header decides.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from azure.batch import BatchClient, models
from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError

from tests.conftest import pool_options, unique
from tests.faults.test_validation import refusal, send

STALE = "0x8DDEADBEEF00000"


def http_date(delta: timedelta) -> str:
    return format_datetime(datetime.now(timezone.utc) + delta, usegmt=True)


@pytest.fixture
def entities(batch: BatchClient, idle_job: str, empty_pool: str) -> dict[str, str]:
    """A path for each kind of entity: a pool, a job and a task."""
    batch.create_task(idle_job, models.BatchTaskCreateOptions(id="t", command_line="/bin/true"))
    return {"pool": f"/pools/{empty_pool}", "job": f"/jobs/{idle_job}",
            "task": f"/jobs/{idle_job}/tasks/t"}


@pytest.mark.parametrize("kind", ["pool", "job", "task"])
def test_reads_answer_304_or_412_as_documented(endpoints: dict, entities: dict,
                                               kind: str) -> None:
    path = entities[kind]
    plain = send(endpoints, "GET", path)
    etag = plain.headers["ETag"]
    cases = [({"If-None-Match": etag}, 304), ({"If-None-Match": f'"{etag}"'}, 304),
             ({"If-None-Match": STALE}, 200), ({"If-None-Match": "*"}, 304),
             ({"If-Match": etag}, 200), ({"If-Match": STALE}, 412), ({"If-Match": "*"}, 200),
             ({"If-Modified-Since": http_date(timedelta(hours=1))}, 304),
             ({"If-Modified-Since": http_date(-timedelta(hours=1))}, 200),
             ({"If-Unmodified-Since": http_date(-timedelta(hours=1))}, 412),
             ({"If-Unmodified-Since": http_date(timedelta(hours=1))}, 200)]
    for headers, status in cases:
        answer = send(endpoints, "GET", path, headers=headers)
        assert answer.status_code == status, (headers, answer.text)
        if status == 304:
            assert answer.content == b""
            assert answer.headers["ETag"] == etag
        elif status == 412:
            assert refusal(answer, 412)[0] == "ConditionNotMet"
        else:
            assert answer.json()["id"]


def test_head_of_a_pool_answers_304(endpoints: dict, entities: dict) -> None:
    etag = send(endpoints, "GET", entities["pool"]).headers["ETag"]
    assert send(endpoints, "HEAD", entities["pool"],
                headers={"If-None-Match": etag}).status_code == 304
    assert send(endpoints, "HEAD", entities["pool"],
                headers={"If-Match": STALE}).status_code == 412


@pytest.mark.parametrize("kind", ["task", "job"])
def test_a_delete_with_an_unmet_condition_is_412_and_deletes_nothing(
        endpoints: dict, entities: dict, kind: str) -> None:
    path = entities[kind]
    etag = send(endpoints, "GET", path).headers["ETag"]
    for headers in ({"If-Match": STALE}, {"If-None-Match": etag},
                    {"If-Unmodified-Since": http_date(-timedelta(hours=1))},
                    {"If-Modified-Since": http_date(timedelta(hours=1))}):
        answer = send(endpoints, "DELETE", path, headers=headers)
        assert refusal(answer, 412)[0] == "ConditionNotMet", headers
        assert send(endpoints, "GET", path).status_code == 200
    assert send(endpoints, "DELETE", path, headers={"If-Match": etag}).status_code in (200, 202)


def test_a_pool_delete_with_a_stale_etag_is_412(batch: BatchClient, endpoints: dict) -> None:
    pool_id = unique("condpool")
    batch.create_pool(pool_options(pool_id, 0))
    etag = send(endpoints, "GET", f"/pools/{pool_id}").headers["ETag"]
    answer = send(endpoints, "DELETE", f"/pools/{pool_id}", headers={"If-Match": STALE})
    assert refusal(answer, 412)[0] == "ConditionNotMet"
    assert batch.get_pool(pool_id).state == "active"
    assert send(endpoints, "DELETE", f"/pools/{pool_id}",
                headers={"If-Match": etag}).status_code == 202


def test_every_change_gives_a_new_etag_and_old_ones_stop_matching(
        batch: BatchClient, endpoints: dict, entities: dict) -> None:
    """Terminating the job changes it: a write conditioned on the ETag from before is refused."""
    before = send(endpoints, "GET", entities["job"]).headers["ETag"]
    answer = send(endpoints, "POST", entities["job"] + "/terminate", {},
                  headers={"If-Match": before})
    assert answer.status_code == 202, answer.text
    after = answer.headers["ETag"]
    assert after != before
    answer = send(endpoints, "POST", entities["job"] + "/terminate", {},
                  headers={"If-Match": before})
    assert refusal(answer, 412)[0] == "ConditionNotMet"


def test_the_sdks_match_conditions_work(batch: BatchClient, idle_job: str) -> None:
    job = batch.get_job(idle_job)
    with pytest.raises(ResourceModifiedError):
        batch.get_job(idle_job, etag=STALE, match_condition=MatchConditions.IfNotModified)
    assert batch.get_job(idle_job, etag=job.etag,
                         match_condition=MatchConditions.IfNotModified).id == idle_job


@pytest.mark.parametrize("headers", [
    {"If-Match": STALE, "If-None-Match": STALE},
    {"If-Match": STALE, "If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"},
    {"If-None-Match": STALE, "If-Unmodified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"},
    {"If-Modified-Since": "yesterday"},
])
def test_conflicting_or_malformed_conditions_are_400(endpoints: dict, entities: dict,
                                                     headers: dict) -> None:
    code, values = refusal(send(endpoints, "GET", entities["job"], headers=headers))
    assert code == "InvalidHeaderValue"
    assert values["HeaderName"] and values["Reason"]


def test_etag_wins_in_the_two_allowed_pairs(endpoints: dict, entities: dict) -> None:
    etag = send(endpoints, "GET", entities["job"]).headers["ETag"]
    old = "Sun, 06 Nov 1994 08:49:37 GMT"
    assert send(endpoints, "GET", entities["job"], headers={
        "If-Match": etag, "If-Unmodified-Since": old}).status_code == 200
    assert send(endpoints, "GET", entities["job"], headers={
        "If-None-Match": STALE, "If-Modified-Since": http_date(timedelta(hours=1))}
    ).status_code == 200
