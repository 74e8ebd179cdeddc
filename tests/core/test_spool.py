"""The JSON row spool the checks and the preview record their rows through."""

from __future__ import annotations

import pytest

from tenantguard.common.spool import JsonRowSpool


def test_rows_come_back_in_order_in_batches_and_can_be_read_again():
    rows = [{"position": n, "diff": {"changed": ["description"] * (n % 3)}} for n in range(1203)]
    with JsonRowSpool(batch_size=500) as spool:
        for row in rows:
            spool.append(row)
        first = list(spool.batches())
        second = list(spool.batches())

    assert [len(batch) for batch in first] == [500, 500, 203]
    assert [row for batch in first for row in batch] == rows
    assert second == first
    assert len(spool) == 1203


def test_an_empty_spool_has_no_batches():
    with JsonRowSpool() as spool:
        assert list(spool.batches()) == []
        assert len(spool) == 0


def test_rows_beyond_the_memory_limit_go_to_a_file_and_come_back_whole():
    big = {"diff": {"added": ["x" * 200 + str(n) for n in range(50)]}}
    with JsonRowSpool(batch_size=10, memory_limit=1024) as spool:
        for n in range(300):
            spool.append({**big, "n": n})
        assert spool._file._rolled  # type: ignore[attr-defined]
        back = [row for batch in spool.batches() for row in batch]

    assert [row["n"] for row in back] == list(range(300))
    assert back[7]["diff"] == big["diff"]


def test_appending_after_reading_keeps_every_row():
    with JsonRowSpool(batch_size=2) as spool:
        for n in range(3):
            spool.append(n)
        assert [row for batch in spool.batches() for row in batch] == [0, 1, 2]
        spool.append(3)
        assert [row for batch in spool.batches() for row in batch] == [0, 1, 2, 3]


def test_a_batch_size_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        JsonRowSpool(batch_size=0)
