"""Property: no sequence of wizard actions, by anyone, in any order, queues a run with a gate unmet.

A hypothesis state machine drives random wizard actions (including queue_execution at any time,
by any persona) against the real services. Next to the run it keeps its own model of what the
admin did, and whenever a run ends up queued it checks every gate against that model itself,
without asking RestoreRunPolicy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tenantguard.restores.models import RestoreRun, RestoreStatus
from tenantguard.restores.services import runs

DEFAULT_OPTIONS = {"create_missing": True, "include_assignments": True}
ACTORS = st.sampled_from(["owner", "owner", "operator", "operator", "viewer", "outsider"])
LABELS = st.sampled_from(["exact", "exact", "exact", "lower", "upper", "other", "empty", "spaced"])
SEVERITIES = st.sampled_from(["safe", "warning", "warning", "blocking"])
ADVANCE_ARGS = {
    "actor": st.sampled_from(["owner", "owner", "owner", "operator", "operator", "viewer"]),
    "queuer": st.sampled_from([None, None, None, None, None, "owner", "operator"]),
    "stages": st.integers(2, 8),
    "severities": st.lists(SEVERITIES, max_size=2),
    "acknowledged": st.sampled_from([True, True, True, False]),
    "label": LABELS,
    "fix": st.booleans(),
}
MAPPINGS = st.dictionaries(
    st.sampled_from(["group", "assignment_filter", "scope_tag"]),
    st.dictionaries(st.sampled_from(["g1", "g2"]), st.sampled_from([None, "t1", "t2"]), max_size=2),
    max_size=2,
)


@dataclass
class Model:
    """What the admin has done, as the test sees it."""

    source: int | None = None
    mode: str = "all"
    items: tuple[int, ...] = ()
    mapping: dict[str, dict[str, str | None]] = field(default_factory=dict)
    options: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_OPTIONS))
    dry_run: bool = True
    # (inputs, blocking count, sequence number)
    checks: tuple[Any, int, int] | None = None
    # (inputs, checks sequence number it followed, sequence number)
    preview: tuple[Any, int, int] | None = None
    # (user pk, acknowledged, typed label, preview sequence number)
    confirmation: tuple[int, bool, str, int] | None = None
    sequence: int = 0

    def inputs(self) -> Any:
        mapping = tuple(sorted((k, tuple(sorted(v.items()))) for k, v in self.mapping.items() if v))
        return (self.source, self.mode, self.items, mapping, tuple(sorted(self.options.items())))

    def reset_source(self, source: int) -> None:
        self.__init__()  # type: ignore[misc]
        self.source = source


def test_no_action_sequence_queues_a_run_with_a_gate_unmet(
    personas, tenant, prod_tenant, make_backup_set, enqueued
):
    backup_sets = {
        "test": make_backup_set(tenant, name="Test nightly"),
        "prod": make_backup_set(prod_tenant, name="Prod nightly"),
        "running": make_backup_set(tenant, name="Unfinished", status="running"),
    }
    targets = {"test": tenant, "prod": prod_tenant}
    queued_runs: list[int] = []

    class WizardMachine(RuleBasedStateMachine):
        run: RestoreRun
        target: Any

        @initialize(
            where=st.sampled_from(["test", "prod"]),
            forgets=st.sampled_from([None, None, None, "checks", "preview", "dry_run", "confirm"]),
        )
        def create(self, where: str, forgets: str | None) -> None:
            self.forgets = forgets
            self.target = targets[where]
            self.run = runs.restore_run_create(actor=personas["owner"], tenant=self.target)
            self.model = Model()
            self.verified_queue = False

        def attempt(self, call: Any, **kwargs: Any) -> bool:
            try:
                call(run=self.run, **kwargs)
            except runs.RestoreRunError:
                return False
            return True

        def next_sequence(self) -> int:
            self.model.sequence += 1
            return self.model.sequence

        @rule(actor=ACTORS, name=st.sampled_from(["test", "prod", "running"]))
        def select_source(self, actor: str, name: str) -> None:
            backup_set = backup_sets[name]
            if self.attempt(
                runs.restore_run_select_source, actor=personas[actor], backup_set=backup_set
            ):
                self.model.reset_source(backup_set.pk)

        @rule(
            actor=ACTORS,
            mode=st.sampled_from(["all", "selected", "selected", "bogus"]),
            picks=st.lists(st.integers(0, 12), max_size=4),
        )
        def set_scope(self, actor: str, mode: str, picks: list[int]) -> None:
            own = list(
                RestoreRun.objects.get(pk=self.run.pk)
                .backup_set.items.order_by("pk")
                .values_list("pk", flat=True)
                if self.model.source
                else []
            )
            foreign = list(backup_sets["running"].items.values_list("pk", flat=True))
            candidates = own + foreign
            ids = [candidates[i % len(candidates)] for i in picks] if candidates else []
            if self.attempt(
                runs.restore_run_set_scope, actor=personas[actor], mode=mode, item_ids=ids
            ):
                self.model.mode = mode
                self.model.items = tuple(sorted(set(ids))) if mode == "selected" else ()

        @rule(actor=ACTORS, mapping=MAPPINGS)
        def update_mapping(self, actor: str, mapping: dict[str, dict[str, str | None]]) -> None:
            if self.attempt(
                runs.restore_run_update_mapping, actor=personas[actor], mapping=mapping
            ):
                self.model.mapping = {k: dict(v) for k, v in mapping.items() if v}

        @rule(
            actor=ACTORS,
            options=st.dictionaries(
                st.sampled_from(["create_missing", "include_assignments"]), st.booleans()
            ),
        )
        def update_options(self, actor: str, options: dict[str, bool]) -> None:
            if self.attempt(
                runs.restore_run_update_options, actor=personas[actor], options=options
            ):
                self.model.options.update(options)

        @rule(actor=ACTORS, dry_run=st.booleans())
        def set_dry_run(self, actor: str, dry_run: bool) -> None:
            if self.attempt(runs.restore_run_set_dry_run, actor=personas[actor], dry_run=dry_run):
                self.model.dry_run = dry_run

        @rule(actor=ACTORS, severities=st.lists(SEVERITIES, max_size=3))
        def record_checks(self, actor: str, severities: list[str]) -> None:
            results = [
                {"code": f"c{i}", "severity": s, "message": "m", "resolution": "r"}
                for i, s in enumerate(severities)
            ]
            if self.attempt(
                runs.restore_run_record_checks, actor=personas[actor], results=results, summary={}
            ):
                blocking = severities.count("blocking")
                self.model.checks = (self.model.inputs(), blocking, self.next_sequence())

        @rule(actor=ACTORS)
        def record_preview(self, actor: str) -> None:
            items = [{"policy_type": "device_configuration", "source_id": "s1", "action": "update"}]
            if self.attempt(
                runs.restore_run_record_preview, actor=personas[actor], summary={}, items=items
            ):
                assert self.model.checks is not None
                self.model.preview = (
                    self.model.inputs(),
                    self.model.checks[2],
                    self.next_sequence(),
                )
                self.model.confirmation = None

        @rule(
            actor=ACTORS,
            acknowledged=st.booleans(),
            label=LABELS,
        )
        def confirm(self, actor: str, acknowledged: bool, label: str) -> None:
            exact = self.run.tenant_label
            typed = {
                "exact": exact,
                "lower": exact.lower(),
                "upper": exact.upper(),
                "other": "Fabrikam",
                "empty": "",
                "spaced": f" {exact} ",
            }[label]
            if self.attempt(
                runs.restore_run_confirm,
                actor=personas[actor],
                acknowledged=acknowledged,
                typed_label=typed,
            ):
                assert self.model.preview is not None
                user = personas[actor].pk
                self.model.confirmation = (user, acknowledged, typed, self.model.preview[2])

        @rule(actor=ACTORS)
        def queue_execution(self, actor: str) -> None:
            user = personas[actor]
            if not self.attempt(runs.restore_run_queue_execution, actor=user):
                return
            self.assert_every_gate_met(actor)
            self.verified_queue = True
            queued_runs.append(self.run.pk)

        def confirmation_is_good(self, actor: str) -> bool:
            model = self.model
            if model.confirmation is None or model.preview is None:
                return False
            user_pk, acknowledged, typed, preview_seq = model.confirmation
            return (
                acknowledged
                and typed == self.run.tenant_label
                and preview_seq == model.preview[2]
                and user_pk == personas[actor].pk
            )

        def advance(
            self,
            *,
            actor: str,
            queuer: str | None,
            stages: int,
            severities: list[str],
            acknowledged: bool,
            label: str,
            fix: bool,
        ) -> None:
            """Take the next natural wizard steps with random arguments, so that sequences reach
            the queue often. With ``fix`` the admin repairs what is wrong (re-runs checks that
            found blockers, confirms again); without it they go on and try to queue anyway. A
            forgetful admin (see ``create``) never repeats one step once done (or never turns
            dry-run off); ``queuer`` sometimes queues for someone else. After every step the
            run is also sent to the queue, whatever its state."""
            forgets = self.forgets
            for _ in range(stages):
                model, current = self.model, self.model.inputs()
                status = RestoreRun.objects.get(pk=self.run.pk).status
                checks_stale = model.checks is None or model.checks[0] != current
                preview_stale = (
                    model.preview is None
                    or model.checks is None
                    or model.preview[0] != current
                    or model.preview[1] != model.checks[2]
                )
                if model.source is None:
                    own = "test" if self.target.environment == "test" else "prod"
                    self.select_source(actor, own)
                elif status == RestoreStatus.DRAFT:
                    self.set_scope(actor, "all", [])
                elif (model.checks is None or forgets != "checks") and (
                    checks_stale or (fix and model.checks is not None and model.checks[1])
                ):
                    self.record_checks(actor, severities)
                elif (model.preview is None or forgets != "preview") and preview_stale:
                    self.record_preview(actor)
                elif forgets != "dry_run" and model.dry_run:
                    self.set_dry_run(actor, False)
                elif (model.confirmation is None or forgets != "confirm") and (
                    model.confirmation is None or (fix and not self.confirmation_is_good(actor))
                ):
                    self.confirm(actor, acknowledged, label)
                else:
                    self.queue_execution(queuer or actor)
                    continue
                # A client may ask to execute at any point: try it after every step.
                self.queue_execution(queuer or actor)

        # Hypothesis picks rules uniformly: three entry points make guided steps about as
        # likely as random ones.
        @rule(**ADVANCE_ARGS)
        def advance_a(self, **kwargs: Any) -> None:
            self.advance(**kwargs)

        @rule(**ADVANCE_ARGS)
        def advance_b(self, **kwargs: Any) -> None:
            self.advance(**kwargs)

        @rule(**ADVANCE_ARGS)
        def advance_c(self, **kwargs: Any) -> None:
            self.advance(**kwargs)

        @precondition(lambda self: self.model.sequence % 7 == 6)
        @rule(actor=ACTORS)
        def cancel(self, actor: str) -> None:
            self.attempt(runs.restore_run_cancel, actor=personas[actor])

        def assert_every_gate_met(self, actor: str) -> None:
            model, run = self.model, RestoreRun.objects.get(pk=self.run.pk)
            current = model.inputs()
            assert not model.dry_run and not run.dry_run, "dry-run on"
            assert model.checks is not None, "no checks"
            assert model.checks[0] == current, "stale checks"
            assert model.checks[1] == 0, "open blocking check"
            assert model.preview is not None, "no preview"
            assert model.preview[0] == current, "stale preview"
            assert model.preview[1] == model.checks[2], "preview older than checks"
            assert model.confirmation is not None, "no confirmation"
            user_pk, acknowledged, typed, preview_seq = model.confirmation
            assert preview_seq == model.preview[2], "confirmation for an earlier preview"
            assert user_pk == personas[actor].pk, "confirmed by someone else"
            assert acknowledged, "not acknowledged"
            assert typed == run.tenant_label, "label mismatch"
            allowed = {"owner"} if run.environment == "prod" else {"owner", "operator"}
            assert actor in allowed, f"{actor} may not execute on {run.environment}"

        @invariant()
        def queued_only_through_a_verified_queue(self) -> None:
            status = RestoreRun.objects.filter(pk=self.run.pk).values_list("status", flat=True)[0]
            if status == RestoreStatus.QUEUED:
                assert self.verified_queue
            assert status not in (RestoreStatus.RUNNING, RestoreStatus.COMPLETED)

    run_state_machine_as_test(
        WizardMachine,
        settings=settings(
            max_examples=200,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    # The property is not vacuous: some sequences did reach the queue.
    assert len(queued_runs) >= 10, len(queued_runs)
