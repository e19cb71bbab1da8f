"""localbatch.states on its own: the moves each entity's table allows, and the stamps a move
leaves."""

from __future__ import annotations

import pytest

from localbatch import states

STAMP = "2025-01-01T00:00:00.0000000Z"


@pytest.mark.parametrize(("kind", "old", "new"), [
    ("pool", "active", "deleting"),
    ("node", "creating", "starting"), ("node", "idle", "running"),
    ("node", "waitingforstarttask", "starttaskfailed"), ("node", "unusable", "leavingpool"),
    ("job", "active", "terminating"), ("job", "terminating", "completed"),
    ("job", "completed", "deleting"),
    ("task", "active", "running"), ("task", "running", "completed"),
    ("task", "running", "active"), ("task", "completed", "active"),
])
def test_an_allowed_move_changes_the_state_and_its_time(kind: str, old: str, new: str) -> None:
    doc = {"id": "x", "state": old, "stateTransitionTime": STAMP}
    assert states.move(kind, doc, new) is True
    assert doc["state"] == new
    assert doc["stateTransitionTime"] != STAMP
    assert doc["stateTransitionTime"].endswith("Z")


@pytest.mark.parametrize(("kind", "old", "new"), [
    ("pool", "deleting", "active"),
    ("node", "leavingpool", "idle"), ("node", "creating", "running"),
    ("node", "unusable", "idle"),
    ("job", "completed", "active"), ("job", "deleting", "completed"),
    ("job", "active", "disabled"),
    ("task", "completed", "running"), ("task", "completed", "preparing"),
])
def test_a_forbidden_move_is_a_transition_error_and_changes_nothing(
        kind: str, old: str, new: str) -> None:
    doc = {"id": "x", "state": old, "stateTransitionTime": STAMP}
    with pytest.raises(states.TransitionError, match=f"{kind} x: {old} -> {new} is not allowed"):
        states.move(kind, doc, new)
    assert doc == {"id": "x", "state": old, "stateTransitionTime": STAMP}


def test_moving_to_the_same_state_is_no_move() -> None:
    doc = {"id": "x", "state": "running", "stateTransitionTime": STAMP}
    assert states.move("task", doc, "running") is False
    assert doc == {"id": "x", "state": "running", "stateTransitionTime": STAMP}


@pytest.mark.parametrize("kind", ["task", "job"])
def test_a_task_or_job_keeps_its_previous_state(kind: str) -> None:
    doc = {"id": "x", "state": "active", "stateTransitionTime": STAMP}
    states.move(kind, doc, "completed")
    assert doc["previousState"] == "active"
    assert doc["previousStateTransitionTime"] == STAMP


@pytest.mark.parametrize(("kind", "old", "new"), [("pool", "active", "deleting"),
                                                  ("node", "idle", "running")])
def test_a_pool_or_node_has_no_previous_state(kind: str, old: str, new: str) -> None:
    doc = {"id": "x", "state": old, "stateTransitionTime": STAMP}
    states.move(kind, doc, new)
    assert "previousState" not in doc and "previousStateTransitionTime" not in doc


def test_every_target_state_is_a_state_of_its_table() -> None:
    for kind, table in states.TRANSITIONS.items():
        for old, targets in table.items():
            assert targets <= table.keys(), f"{kind} {old} -> {targets - table.keys()}"


def test_every_first_state_is_in_its_table_and_can_be_left() -> None:
    assert set(states.FIRST) == set(states.TRANSITIONS)
    for kind, first in states.FIRST.items():
        assert states.TRANSITIONS[kind][first], f"a {kind} could never leave {first}"
