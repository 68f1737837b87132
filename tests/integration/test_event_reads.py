"""The recorder's faster ``select_notifications`` returns what the library's returns."""

from __future__ import annotations

import pytest
from eventsourcing.postgres import PostgresApplicationRecorder

from shared.adapters.eventstore import Ledger
from tests.integration.helpers import Provisioned

OPENED = "shared.domain.accounts:Account.Opened"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": 1, "limit": 50},
        {"start": 10, "limit": 25, "inclusive_of_start": False},
        {"start": None, "limit": 7},
        {"start": 3, "limit": 100, "stop": 40},
        {"start": 1, "limit": 100, "topics": [OPENED]},
        {"start": 5, "limit": 100, "stop": 500, "topics": ("no.such:Topic",)},
    ],
)
def test_reads_match_the_library_row_for_row(
    ledger: Ledger, user: Provisioned, kwargs: dict[str, object]
) -> None:
    recorder = ledger.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    ours = recorder.select_notifications(**kwargs)
    library = PostgresApplicationRecorder.select_notifications(recorder, **kwargs)
    assert ours == library
    if kwargs.get("topics") != ("no.such:Topic",):
        assert ours  # the user fixture wrote events: an empty answer would prove nothing
    assert all(type(n.state) is bytes for n in ours)
    # Built without the dataclass's __init__: the same type and attributes, in order.
    assert [(type(n), list(vars(n).items())) for n in ours] == [
        (type(n), list(vars(n).items())) for n in library
    ]
