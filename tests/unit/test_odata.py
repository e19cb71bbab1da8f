"""localbatch.odata on its own: $filter parsing and matching, $select, maxresults and paging."""

from __future__ import annotations

import pytest

from localbatch import errors, odata

TASKS = [
    {"id": "t1", "state": "completed", "executionInfo": {"exitCode": 0}, "priority": 5,
     "displayName": "Encode Clip"},
    {"id": "t2", "state": "completed", "executionInfo": {"exitCode": 3}, "priority": 1.5},
    {"id": "t3", "state": "active", "priority": 10},
    {"id": "other", "state": "running", "executionInfo": {}, "retry": True},
]


def matching(text: str) -> list[str]:
    predicate = odata.parse_filter(text)
    assert predicate is not None
    return [doc["id"] for doc in TASKS if predicate(doc)]


@pytest.mark.parametrize("text", [None, "", "   "])
def test_no_filter_is_none(text: str | None) -> None:
    assert odata.parse_filter(text) is None


@pytest.mark.parametrize(("text", "ids"), [
    ("state eq 'completed'", ["t1", "t2"]),
    ("state eq 'COMPLETED'", ["t1", "t2"]),                  # strings compare without case
    ("state ne 'completed'", ["t3", "other"]),
    ("executionInfo/exitCode eq 0", ["t1"]),
    ("executionInfo/exitCode ne 0", ["t2", "t3", "other"]),  # absent: only ne matches
    ("executionInfo/exitCode gt 0", ["t2"]),
    ("priority ge 5", ["t1", "t3"]),                         # ints and floats compare
    ("priority lt 5", ["t2"]),
    ("priority le 1.5", ["t2"]),
    ("priority eq '5'", []),                                 # no string to number coercion
    ("retry eq true", ["other"]),
    ("state eq 'completed' and executionInfo/exitCode eq 0", ["t1"]),
    ("state eq 'active' or id eq 'other'", ["t3", "other"]),
    ("state eq 'active' or state eq 'running' and id eq 't1'", ["t3"]),   # and binds first
    ("(state eq 'active' or state eq 'running') and id eq 'other'", ["other"]),
    ("not (state eq 'completed')", ["t3", "other"]),
    ("not not state eq 'active'", ["t3"]),
    ("startswith(id, 'T')", ["t1", "t2", "t3"]),
    ("endswith(displayName, 'clip')", ["t1"]),
    ("substringof(id, 'th')", ["other"]),
    ("startswith(displayName, 'x') or substringof(priority, '1')", []),  # not strings: no match
])
def test_a_filter_matches_as_the_service_does(text: str, ids: list[str]) -> None:
    assert matching(text) == ids


def test_a_quote_in_a_string_is_doubled() -> None:
    predicate = odata.parse_filter("displayName eq 'it''s'")
    assert predicate({"displayName": "it's"}) and not predicate({"displayName": "its"})


@pytest.mark.parametrize(("text", "reason"), [
    ("state eq", "expected a value"),
    ("state 'completed'", "expected word"),
    ("state is 'completed'", "unknown operator 'is'"),
    ("state eq completed", "'completed' is not a value; quote strings with '"),
    ("state eq 'a' 'b'", "unexpected 'b'"),
    ("(state eq 'a'", "expected )"),
    ("state eq 'a' && id eq 'b'", "unexpected text at ' && id eq 'b''"),
    ("startswith(id 'a')", "expected ,"),
    ("(" * 51 + "id eq 'a'" + ")" * 51, "nested more than 50 levels deep"),
])
def test_a_bad_filter_is_an_invalid_query_parameter_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(errors.InvalidQueryParameterValue) as caught:
        odata.parse_filter(text)
    assert caught.value.status == 400
    assert caught.value.values == {"QueryParameterName": "$filter", "QueryParameterValue": text,
                                   "Reason": reason}


def test_fifty_levels_of_nesting_are_allowed() -> None:
    predicate = odata.parse_filter("(" * 50 + "id eq 'a'" + ")" * 50)
    assert predicate({"id": "a"}) and not predicate({"id": "b"})


def test_lookup_follows_a_path_and_gives_none_when_absent() -> None:
    doc = {"executionInfo": {"result": "success", "exitCode": 0}}
    assert odata.lookup(doc, "executionInfo/exitCode") == 0
    assert odata.lookup(doc, "executionInfo/missing") is None
    assert odata.lookup(doc, "executionInfo/result/deeper") is None


def test_select_keeps_only_the_named_top_level_properties() -> None:
    fields = odata.parse_select(" id, state ,,")
    assert fields == ["id", "state"]
    assert odata.select(TASKS[0], fields) == {"id": "t1", "state": "completed"}
    assert odata.parse_select(None) is None and odata.parse_select("") is None
    assert odata.select(TASKS[0], None) is TASKS[0]


@pytest.mark.parametrize(("text", "limit"), [(None, 1000), ("1", 1), ("1000", 1000)])
def test_maxresults_within_range(text: str | None, limit: int) -> None:
    assert odata.max_results(text) == limit


@pytest.mark.parametrize("text", ["0", "1001", "-1", "ten", "", "2.5"])
def test_maxresults_out_of_range_is_named(text: str) -> None:
    with pytest.raises(errors.OutOfRangeQueryParameterValue) as caught:
        odata.max_results(text)
    assert caught.value.values == {"QueryParameterName": "maxresults",
                                   "QueryParameterValue": text}


def test_paging_walks_the_keys_in_order_and_ends_without_a_token() -> None:
    keyed = [(f"k{i:02}", {"n": i}) for i in range(5)]
    first, token = odata.page(keyed, 2, None)
    assert first == [{"n": 0}, {"n": 1}] and token
    second, token = odata.page(keyed, 2, token)
    assert second == [{"n": 2}, {"n": 3}] and token
    last, token = odata.page(keyed, 2, token)
    assert last == [{"n": 4}] and token is None
    exact, token = odata.page(keyed, 5, None)
    assert len(exact) == 5 and token is None


def test_a_skiptoken_that_is_not_ours_is_invalid() -> None:
    with pytest.raises(errors.InvalidQueryParameterValue) as caught:
        odata.page([("a", {})], 10, "!!not base64!!")
    assert caught.value.values["QueryParameterName"] == "$skiptoken"
