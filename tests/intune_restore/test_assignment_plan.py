"""The assignment list a restore writes: merge keeps the target's own, replace lists removals."""

from __future__ import annotations

from tenantguard.intune.assignment_plan import plan_assignments

GROUP = "#microsoft.graph.groupAssignmentTarget"
EXCLUDE = "#microsoft.graph.exclusionGroupAssignmentTarget"


def assignment(group_id: str, kind: str = GROUP, **extra: object) -> dict:
    return {"target": {"@odata.type": kind, "groupId": group_id, **extra}}


def read_back(group_id: str, kind: str = GROUP) -> dict:
    """As Graph returns it: with the assignment's own id and source fields."""
    return {
        "id": f"{group_id}_1",
        "source": "direct",
        "sourceId": "p1",
        **assignment(group_id, kind),
    }


def test_merge_keeps_the_targets_own_assignments_and_adds_the_backups():
    plan = plan_assignments(
        backup=[assignment("pilot")],
        current=[read_back("target-own"), read_back("vip", EXCLUDE)],
        mode="merge",
    )

    assert [a["target"]["groupId"] for a in plan.written or []] == ["pilot", "target-own", "vip"]
    assert [a["target"]["groupId"] for a in plan.added] == ["pilot"]
    assert plan.removed == []
    assert len(plan.kept) == 2


def test_replace_lists_every_target_assignment_it_removes():
    plan = plan_assignments(
        backup=[assignment("pilot")],
        current=[read_back("pilot"), read_back("target-own")],
        mode="replace",
    )

    assert [a["target"]["groupId"] for a in plan.written or []] == ["pilot"]
    assert plan.added == []
    assert [a["target"]["groupId"] for a in plan.removed] == ["target-own"]


def test_merge_lets_the_backup_win_for_the_same_group_and_shows_the_old_version_removed():
    filtered = assignment(
        "pilot",
        deviceAndAppManagementAssignmentFilterId="f1",
        deviceAndAppManagementAssignmentFilterType="include",
    )
    plan = plan_assignments(backup=[filtered], current=[read_back("pilot")], mode="merge")

    assert plan.written == [filtered]
    assert len(plan.added) == 1 and len(plan.removed) == 1


def test_per_assignment_types_can_only_add_whatever_the_mode():
    plan = plan_assignments(
        backup=[assignment("pilot")],
        current=[read_back("target-own")],
        mode="replace",
        per_assignment=True,
    )

    assert plan.mode == "merge"
    assert plan.removed == []


def test_assignments_not_captured_write_nothing():
    plan = plan_assignments(backup=None, current=[read_back("x")], mode="replace")
    assert plan.written is None and not plan.changes_anything
