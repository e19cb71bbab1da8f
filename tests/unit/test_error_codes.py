"""The error codes built from the service's table in errors.py, raised where they apply."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from localbatch import errors, odata
from localbatch.api.files import _range
from localbatch.pools import Pools


@pytest.mark.parametrize(("error", "status", "message"), [
    (errors.PoolBeingResized, 409, "The specified pool is being resized."),
    (errors.InvalidRange, 416,
     "The range specified is invalid for the current size of the resource."),
    (errors.OutOfRangeQueryParameterValue, 400,
     "A query parameter specified in the request URI is outside the permissible range."),
])
def test_each_code_has_the_tables_status_and_message(error: type[errors.BatchError],
                                                     status: int, message: str) -> None:
    raised = error()
    assert (raised.code, raised.status, raised.message) == (error.__name__, status, message)


def test_a_resize_of_a_resizing_pool_is_pool_being_resized() -> None:
    pool = {"id": "p", "state": "active", "allocationState": "resizing", "enableAutoScale": False}
    pools = Pools(SimpleNamespace(pools={"p": pool}), None, None, None, None, "", 8,
                  SimpleNamespace())
    with pytest.raises(errors.PoolBeingResized):
        pools.resize("p", {"targetDedicatedNodes": 1})


@pytest.mark.parametrize("wanted", ["bytes=5-", "bytes=2-1", "lines=0-1", "bytes=x-"])
def test_a_range_that_does_not_fit_is_invalid_range(wanted: str) -> None:
    with pytest.raises(errors.InvalidRange):
        _range(b"abcd", wanted)


@pytest.mark.parametrize("text", ["0", "1001", "ten"])
def test_maxresults_outside_1_to_1000_is_out_of_range(text: str) -> None:
    with pytest.raises(errors.OutOfRangeQueryParameterValue) as caught:
        odata.max_results(text)
    assert caught.value.values == {"QueryParameterName": "maxresults",
                                   "QueryParameterValue": text}
