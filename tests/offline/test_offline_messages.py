"""What a user reads in counts: one home (``pulumi_offline.messages.counted``) for the demo and the appliers."""

from __future__ import annotations

from pulumi_offline.messages import counted


def test_counted_is_singular_for_one_and_plural_otherwise() -> None:
    assert [counted(n, "table") for n in (0, 1, 2)] == ["0 tables", "1 table", "2 tables"]
    assert counted(1, "broken file") == "1 broken file"
