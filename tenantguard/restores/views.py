"""The Restore Run Wizard's pages: parse, authorize through the policy, call one service, render.

Every page reads the run from the database (state lives on the run, so reload, back button and a
second tab agree). Refusals come from the services as ``RestoreRunRefused`` and are shown with
their reasons; the server re-checks everything whatever the page showed.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from functools import wraps
from typing import Any, Final
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenantguard.backups.models import BackupSet
from tenantguard.common.ids import parse_id, parse_page
from tenantguard.graph import GraphError
from tenantguard.intune import reference_kinds
from tenantguard.restores import selectors
from tenantguard.restores.forms import (
    ConfirmForm,
    DryRunForm,
    MappingEntryForm,
    NewRunForm,
    OptionsForm,
    SourceForm,
    scope_request,
)
from tenantguard.restores.models import ItemOutcome, PreviewAction, RestoreRun, ScopeMode
from tenantguard.restores.services.analysis import restore_run_request_analysis
from tenantguard.restores.services.checks import restore_run_mapping_needs
from tenantguard.restores.services.errors import RestoreRunError, RestoreRunRefused
from tenantguard.restores.services.fingerprint import effective_options
from tenantguard.restores.services.policy import EDITABLE_STATUSES, Action, RestoreRunPolicy
from tenantguard.restores.services.runs import (
    restore_run_cancel,
    restore_run_create,
    restore_run_finish_dry_run,
    restore_run_request_execution,
    restore_run_resume,
    restore_run_select_source,
    restore_run_set_dry_run,
    restore_run_set_scope,
    restore_run_update_mapping,
    restore_run_update_mapping_entries,
    restore_run_update_options,
)
from tenantguard.restores.services.scope import RestoreScopeBuilder
from tenantguard.restores.services.undo import restore_run_undo, undo_carried_summary
from tenantguard.security.ratelimit import RateLimited, RateLimitScope, rate_limited_user_action
from tenantguard.tenants.models import Tenant

SCOPE_PAGE_SIZE = 100
PREVIEW_PAGE_SIZE = 50
OUTCOME_PAGE_SIZE = 100


# ---- helpers ---------------------------------------------------------------------------------


def _htmx(request: HttpRequest) -> bool:
    """Whether htmx sent the request (django-htmx's middleware sets ``request.htmx``)."""
    return bool(getattr(request, "htmx", False))


def _step_url(run: RestoreRun, step: str) -> str:
    return reverse(f"restores:{step}", args=[run.pk])


def _run_url(run: RestoreRun) -> str:
    return reverse("restores:run", args=[run.pk])


def _visible_run(request: HttpRequest, run_id: int) -> RestoreRun:
    return get_object_or_404(selectors.restore_runs_visible_to(request.user), pk=run_id)


def _refused(
    request: HttpRequest, reasons: list[str], *, run: RestoreRun | None = None, status: int = 403
) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Not allowed",
        "run": run,
        "reasons": reasons,
    }
    template = "restores/_refused.html" if _htmx(request) else "restores/refused.html"
    return render(request, template, context, status=status)


class _NotAllowed(Exception):
    def __init__(self, run: RestoreRun, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons))
        self.run, self.reasons = run, reasons


def _wizard_run(request: HttpRequest, run_id: int) -> RestoreRun:
    """The run, if ``request.user`` may prepare it (viewers never reach the wizard)."""
    run = _visible_run(request, run_id)
    decision = selectors.can_prepare(request.user, run)
    if not decision.allowed:
        raise _NotAllowed(run, decision.reasons)
    return run


def _refusals_shown(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A wizard page the user may not use answers 403 with the policy's reasons."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except _NotAllowed as exc:
            return _refused(request, exc.reasons, run=exc.run)

    return wrapper


def _context(request: HttpRequest, run: RestoreRun, step: str, **extra: Any) -> dict[str, Any]:
    policy = RestoreRunPolicy(run, request.user)
    title = dict((key, title) for key, _, title in selectors.STEPS).get(step, "Restore run")
    return {
        **admin.site.each_context(request),
        "title": f"Restore #{run.pk}: {title}",
        "run": run,
        "policy": policy,
        "step": step,
        "steps": selectors.wizard_steps(policy, current=step),
        "editable": run.status in EDITABLE_STATUSES,
        # Read once here: templates must not reach into a result that may not exist yet.
        "preview_summary": (policy.preview or {}).get("summary"),
        "last_check_counts": _check_counts(policy),
        "prod_admins": selectors.execute_needs_admin(request.user, run)
        if step in ("source", "scope")
        else None,
        **extra,
    }


def _check_counts(policy: RestoreRunPolicy) -> dict[str, int]:
    """The last checks' counts per severity (zeros before the first checks)."""
    counts = (policy.checks or {}).get("counts") or {}
    return {
        severity: int(counts.get(severity) or 0) for severity in ("blocking", "warning", "safe")
    }


def _not_editable(run: RestoreRun) -> HttpResponse | None:
    """Finished or executing runs have no wizard any more: their page is the run page."""
    if run.status in EDITABLE_STATUSES:
        return None
    return HttpResponseRedirect(_run_url(run))


def _after_error(request: HttpRequest, run: RestoreRun, step: str, exc: Exception) -> HttpResponse:
    if isinstance(exc, RestoreRunRefused):
        return _refused(request, exc.reasons, run=run)
    messages.error(request, str(exc))
    return HttpResponseRedirect(_step_url(run, step))


# ---- start -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def run_new(request: HttpRequest) -> HttpResponse:
    tenants = selectors.restore_target_tenants(request.user)
    if not tenants:
        return _refused(
            request,
            [
                "You cannot prepare restores on any tenant: operators and admins can. "
                "Ask a tenant admin for the Operator role."
            ],
        )
    tenant_qs = Tenant.objects.filter(pk__in=[t.pk for t in tenants])
    backup_sets = selectors.restore_source_choices(request.user)
    initial: dict[str, Any] = {}
    if (backup_set_id := parse_id(request.GET.get("backup_set"))) is not None:
        chosen = backup_sets.filter(pk=backup_set_id).first()
        if chosen is not None:
            initial["backup_set"] = chosen.pk
            if any(t.pk == chosen.tenant_id for t in tenants):
                initial["tenant"] = chosen.tenant_id
    if (tenant_id := parse_id(request.GET.get("tenant"))) is not None:
        initial["tenant"] = tenant_id
    form = NewRunForm(
        request.POST or None, initial=initial, tenants=tenant_qs, backup_sets=backup_sets
    )
    if request.method == "POST" and form.is_valid():
        try:
            run = restore_run_create(
                actor=request.user,
                tenant=form.cleaned_data["tenant"],
                backup_set=form.cleaned_data["backup_set"],
            )
        except RestoreRunRefused as exc:
            return _refused(request, exc.reasons)
        next_step = "scope" if run.backup_set_id else "source"
        return HttpResponseRedirect(_step_url(run, next_step))
    context = {**admin.site.each_context(request), "title": "Start a restore", "form": form}
    return render(request, "restores/new.html", context)


# ---- step 1: source --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@_refusals_shown
def step_source(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _wizard_run(request, run_id)
    if redirect := _not_editable(run):
        return redirect
    backup_sets = selectors.restore_source_choices(request.user)
    form = SourceForm(
        request.POST or None,
        initial={"backup_set": run.backup_set_id},
        backup_sets=backup_sets,
    )
    has_later_steps = run.status != "draft"
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["backup_set"]
        if chosen.pk == run.backup_set_id and has_later_steps:
            return HttpResponseRedirect(_step_url(run, "scope"))
        if has_later_steps and not form.cleaned_data["confirm_reset"]:
            form.add_error(
                "confirm_reset",
                "Changing the backup set resets scope, mapping, checks, preview and confirmation: "
                "tick the box to go on.",
            )
        else:
            try:
                run = restore_run_select_source(actor=request.user, run=run, backup_set=chosen)
            except RestoreRunError as exc:
                return _after_error(request, run, "source", exc)
            messages.success(request, f"Source set to '{chosen.name}'. Now choose the scope.")
            return HttpResponseRedirect(_step_url(run, "scope"))
    picked: BackupSet | None = run.backup_set
    if (preview_pk := parse_id(request.GET.get("backup_set"))) is not None:
        picked = backup_sets.filter(pk=preview_pk).first() or picked
    context = _context(
        request,
        run,
        "source",
        form=form,
        has_later_steps=has_later_steps,
        picked=picked,
        source_groups=[
            (
                f"Backups of {run.tenant_label}",
                [b for b in backup_sets if b.tenant_id == run.tenant_id],
            ),
            (
                f"Other tenants (a cross-tenant restore into {run.tenant_label})",
                [b for b in backup_sets if b.tenant_id != run.tenant_id],
            ),
        ],
        picked_types=selectors.backup_set_type_summary(picked) if picked else [],
        picked_summary=RestoreScopeBuilder(picked).summary() if picked else {},
    )
    return render(request, "restores/step_source.html", context)


# ---- step 2: scope ---------------------------------------------------------------------------


def _scope_context(request: HttpRequest, run: RestoreRun) -> dict[str, Any]:
    search = request.GET.get("q", "") if request.method == "GET" else request.POST.get("q", "")
    page_raw = request.GET.get("page", "") or request.POST.get("page", "")
    page = parse_page(page_raw, page_size=SCOPE_PAGE_SIZE)
    assert run.backup_set is not None
    scope_page = RestoreScopeBuilder(run.backup_set).groups(
        search=search, page=page, page_size=SCOPE_PAGE_SIZE
    )
    picking = (
        run.scope_mode == ScopeMode.SELECTED
        or (request.GET.get("mode") or request.POST.get("mode")) == ScopeMode.SELECTED
    )
    return {
        "scope": scope_page,
        "search": search,
        "picking": picking,
        "selected_ids": set(run.requested_items or [])
        if run.scope_mode == ScopeMode.SELECTED
        else set(),
        "selected_count": len(run.requested_items or [])
        if run.scope_mode == ScopeMode.SELECTED
        else 0,
    }


@require_http_methods(["GET", "POST"])
@_refusals_shown
def step_scope(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _wizard_run(request, run_id)
    if redirect := _not_editable(run):
        return redirect
    if run.backup_set is None:
        messages.info(request, "Pick a backup set first.")
        return HttpResponseRedirect(_step_url(run, "source"))
    if request.method == "POST" and request.POST.get("op") == "pick":
        # Picking items starts in the page; the run keeps "all" until the first item is ticked.
        return HttpResponseRedirect(_step_url(run, "scope") + "?mode=selected")
    if request.method == "POST":
        builder = RestoreScopeBuilder(run.backup_set)
        try:
            mode, item_ids = scope_request(
                run,
                request.POST,
                group_ids=lambda policy_type, platform: builder.item_ids(
                    search=request.POST.get("q", ""), policy_type=policy_type, platform=platform
                ),
            )
            run = restore_run_set_scope(actor=request.user, run=run, mode=mode, item_ids=item_ids)
            error = ""
        except RestoreRunRefused as exc:
            return _refused(request, exc.reasons, run=run)
        except (RestoreRunError, ValueError) as exc:
            error = str(getattr(exc, "message", "") or exc)
        if not _htmx(request):
            if error:
                messages.error(request, error)
            keep = {k: request.POST[k] for k in ("q", "page", "mode") if request.POST.get(k)}
            query = ("?" + urlencode(keep)) if keep else ""
            return HttpResponseRedirect(_step_url(run, "scope") + query)
        context = _context(request, run, "scope", scope_error=error, **_scope_context(request, run))
        if request.POST.get("op") == "page" and not request.POST.get("group_action") and not error:
            # The ticks are already right in the browser: only the counts and the stepper
            # change (redrawing the list under the user's keyboard would race with them).
            return render(request, "restores/_scope_saved.html", context)
        response = render(request, "restores/_scope_body.html", context)
        response["HX-Retarget"] = "#scope-body"
        response["HX-Reswap"] = "outerHTML"
        return response
    context = _context(request, run, "scope", **_scope_context(request, run))
    if _htmx(request) and request.GET.get("fragment") == "list":
        return render(request, "restores/_scope_body.html", context)
    return render(request, "restores/step_scope.html", context)


# ---- step 3: checks --------------------------------------------------------------------------


def _mapping_kind_shown(kind: str) -> tuple[str, str, str, str]:
    """A reference kind in the mapping editor (``reference_kinds``): the section title, what
    one object is called, what "skip" does to it (button), and how a skipped entry reads."""
    spec = reference_kinds.get(kind)
    return spec.section_title, spec.singular, spec.skip_label, spec.skipped_text


def _mapping_sections(
    run: RestoreRun, needs: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The mapping editor's sections, each entry with its target choices once each (the
    same-name suggestion, the other candidates, the current mapping) and the current mapping's
    name (from the last checks, else from when it was mapped)."""
    known_names: dict[str, dict[str, str]] = (run.metadata or {}).get("mapping_names") or {}
    sections = []
    for kind, entries in needs.items():
        title, noun, skip_label, skipped_text = _mapping_kind_shown(kind)
        kind_names = known_names.get(kind) or {}
        bulk_choices: dict[str, str] = {}
        for position, entry in enumerate(entries, start=1):
            suggestion = entry.get("suggestion") or {}
            entry["selected"] = entry["mapped_to"] or suggestion.get("id") or ""
            entry["dom_id"] = f"{kind}-{position}"
            choices: dict[str, dict[str, str]] = {}
            if suggestion.get("id"):
                choices[suggestion["id"]] = {
                    "id": suggestion["id"],
                    "name": suggestion.get("name") or suggestion["id"],
                    "note": "suggested: same name",
                }
            for candidate in entry.get("candidates") or []:
                if candidate.get("id") and candidate["id"] not in choices:
                    choices[candidate["id"]] = {
                        "id": candidate["id"],
                        "name": candidate.get("name") or candidate["id"],
                        "note": "",
                    }
            mapped_to = entry.get("mapped_to")
            if mapped_to and not entry.get("mapped_to_name"):
                entry["mapped_to_name"] = kind_names.get(mapped_to) or (
                    choices[mapped_to]["name"] if mapped_to in choices else None
                )
            if mapped_to and entry["status"] == "mapped":
                if mapped_to in choices:
                    choices[mapped_to]["note"] = "current"
                else:
                    choices[mapped_to] = {
                        "id": mapped_to,
                        "name": entry.get("mapped_to_name") or mapped_to,
                        "note": "current",
                    }
            entry["choices"] = list(choices.values())
            entry["can_accept"] = entry["status"] == "missing" and bool(suggestion.get("id"))
            for choice in entry["choices"]:
                bulk_choices.setdefault(choice["id"], choice["name"])
        sections.append(
            {
                "kind": kind,
                "title": title,
                "noun": noun,
                "skip_label": skip_label,
                "skipped_text": skipped_text,
                "entries": entries,
                "unreadable": any(e.get("unreadable_permission") for e in entries),
                "bulk_choices": sorted(bulk_choices.items(), key=lambda item: item[1].lower()),
            }
        )
    return sections


SEVERITY_SECTIONS = (
    ("blocking", "❌", "Blocking: execution is impossible until resolved"),
    ("warning", "⚠️", "Warnings: review them"),
    ("safe", "✅", "Safe"),
)


def _checks_context(
    request: HttpRequest, run: RestoreRun, *, results: bool = True
) -> dict[str, Any]:
    """Step 3's page; without ``results`` only what the mapping section and the notices show
    (a mapping change redraws those, not the results)."""
    needs = restore_run_mapping_needs(run) if run.backup_set_id else {}
    groups = (
        selectors.check_result_groups(run, show_all_code=request.GET.get("all", ""))
        if results
        else {}
    )
    checks_state = RestoreRunPolicy(run, request.user).checks_state()
    sections = _mapping_sections(run, needs)
    return {
        "result_sections": [
            (
                severity,
                icon,
                heading,
                sum(group.total for group in groups.get(severity, [])),
                groups.get(severity, []),
            )
            for severity, icon, heading in SEVERITY_SECTIONS
        ],
        "mapping_sections": sections,
        "accept_count": sum(
            1 for section in sections for entry in section["entries"] if entry["can_accept"]
        ),
        "stale_text": checks_state.out_of_date_because,
        "analysis": selectors.analysis_state(run, step="checks"),
        "needs_count": sum(len(entries) for entries in needs.values()),
        "options": effective_options(run),
        "options_form": OptionsForm(initial=effective_options(run)),
    }


@require_GET
@_refusals_shown
def step_checks(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _wizard_run(request, run_id)
    if redirect := _not_editable(run):
        return redirect
    context = _context(request, run, "checks", **_checks_context(request, run))
    return render(request, "restores/step_checks.html", context)


@require_POST
@_refusals_shown
def checks_run(request: HttpRequest, run_id: int) -> HttpResponse:
    return _request_analysis(request, run_id, "checks")


def _mapping_saved(
    request: HttpRequest, run: RestoreRun, *, notice: str = "", error: str = ""
) -> HttpResponse:
    """After a mapping change: htmx gets the mapping section, the stepper and the checks'
    out-of-date notice redrawn (no page reload); a plain form post goes back to the page."""
    if not _htmx(request):
        if error:
            messages.error(request, error)
        elif notice:
            messages.success(request, notice)
        return HttpResponseRedirect(_step_url(run, "checks") + "#mapping")
    run = _visible_run(request, run.pk)
    context = _context(
        request,
        run,
        "checks",
        oob=True,
        mapping_notice=notice,
        mapping_error=error,
        **_checks_context(request, run, results=False),
    )
    return render(request, "restores/_mapping_saved.html", context)


def _mapping_change(
    request: HttpRequest,
    run: RestoreRun,
    *,
    decision: str,
    entries: list[tuple[str, str]],
    target_id: str = "",
) -> HttpResponse:
    try:
        run = restore_run_update_mapping_entries(
            actor=request.user, run=run, decision=decision, entries=entries, target_id=target_id
        )
    except RestoreRunRefused as exc:
        if not _htmx(request):
            return _refused(request, exc.reasons, run=run)
        return _mapping_saved(request, run, error=" ".join(exc.reasons))
    except RestoreRunError as exc:
        return _mapping_saved(request, run, error=str(exc))
    return _mapping_saved(request, run, notice=_mapping_notice(run, decision, entries))


def _mapping_notice(run: RestoreRun, decision: str, entries: list[tuple[str, str]]) -> str:
    """What the last mapping change did, from its audit event (the service's own list)."""
    changed = selectors.last_mapping_change(run)
    count = len(changed) or len(entries)
    noun = "reference" if count == 1 else "references"
    if decision == "accept_suggestions":
        their = "its" if count == 1 else "their"
        done = f"{count} {noun} mapped to {their} same-name object in {run.tenant_label}"
    elif decision == "skip":
        done = f"{count} {noun} skipped"
    else:
        name = (changed[0].get("target_name") if changed else "") or ""
        done = f"{count} {noun} mapped to {name or 'the chosen object'}"
    return f"{done}. Run the checks again to see whether anything is still missing."


@require_POST
@_refusals_shown
def mapping_update(request: HttpRequest, run_id: int) -> HttpResponse:
    """One entry: map it, skip it or clear its decision."""
    run = _wizard_run(request, run_id)
    form = MappingEntryForm(request.POST)
    if not form.is_valid():
        return _mapping_saved(
            request, run, error="Pick a target object to map to, or skip the assignments."
        )
    data = form.cleaned_data
    if data["decision"] in ("map", "skip"):
        return _mapping_change(
            request,
            run,
            decision=data["decision"],
            entries=[(data["kind"], data["source_id"])],
            target_id=data["target_id"],
        )
    try:
        run = restore_run_update_mapping(actor=request.user, run=run, mapping=form.mapping_for(run))
    except RestoreRunRefused as exc:
        return _refused(request, exc.reasons, run=run)
    except RestoreRunError as exc:
        return _mapping_saved(request, run, error=str(exc))
    return _mapping_saved(
        request,
        run,
        notice="Decision cleared. Run the checks again to see whether anything is still missing.",
    )


@require_POST
@_refusals_shown
def mapping_bulk(request: HttpRequest, run_id: int) -> HttpResponse:
    """Many entries at once: accept every same-name suggestion, or map the ticked entries (of
    one kind) to one target, or skip them. ``entry`` values are ``kind:source_id``."""
    run = _wizard_run(request, run_id)
    decision = request.POST.get("op", "")
    entries = []
    for value in request.POST.getlist("entry"):
        kind, _, source_id = str(value).partition(":")
        if kind and source_id:
            entries.append((kind, source_id))
    return _mapping_change(
        request,
        run,
        decision=decision,
        entries=entries,
        target_id=request.POST.get("target_id", ""),
    )


@require_POST
@_refusals_shown
def options_update(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _wizard_run(request, run_id)
    form = OptionsForm(request.POST)
    form.is_valid()
    try:
        run = restore_run_update_options(actor=request.user, run=run, options=form.options())
    except RestoreRunError as exc:
        return _after_error(request, run, "checks", exc)
    messages.success(request, "Options saved.")
    return HttpResponseRedirect(_step_url(run, "checks") + "#options")


@require_GET
@_refusals_shown
def mapping_targets(request: HttpRequest, run_id: int) -> HttpResponse:
    """Target objects to map a missing reference to (htmx fragment: a labelled select)."""
    run = _wizard_run(request, run_id)
    kind = request.GET.get("kind", "")
    source_id = request.GET.get("source_id", "")
    query = request.GET.get("q", "").strip()
    try:
        options = selectors.mapping_target_options(run, kind=kind, text=query)
        error = ""
    except (GraphError, RestoreRunError, ValueError) as exc:
        options, error = [], str(exc)
    context = {
        "run": run,
        "kind": kind,
        # Groups are searched in Entra from the start of their name (Graph's startswith), the
        # other kinds by any part of it: an empty result says which, with the words searched.
        "query": query,
        "noun": reference_kinds.get(kind).singular if reference_kinds.is_kind(kind) else "object",
        "nouns": reference_kinds.get(kind).plural if reference_kinds.is_kind(kind) else "objects",
        "source_id": source_id,
        "field_id": request.GET.get("field_id", "target"),
        "label": request.GET.get("label", "Target object"),
        "selected": request.GET.get("selected", ""),
        "options": options,
        "error": error,
    }
    return render(request, "restores/_mapping_targets.html", context)


# ---- step 4: preview -------------------------------------------------------------------------


@require_GET
@_refusals_shown
def step_preview(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _wizard_run(request, run_id)
    if redirect := _not_editable(run):
        return redirect
    action = _filter_choice(request.GET.get("action"), PreviewAction.values)
    policy = RestoreRunPolicy(run, request.user)
    counts = selectors.preview_action_counts(run)
    paginator = Paginator(selectors.preview_items(run, action=action), PREVIEW_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    changes = sum(
        count for value, count in counts.items() if value not in selectors.QUIET_PREVIEW_ACTIONS
    )
    context = _context(
        request,
        run,
        "preview",
        action=action,
        action_filters=_filter_chips(
            PreviewAction.choices, counts, changes=changes, quiet=selectors.QUIET_PREVIEW_ACTIONS
        ),
        changes_count=changes,
        quiet_count=sum(counts.values()) - changes,
        nothing_to_restore=policy.nothing_to_restore(),
        held_back=policy.held_back_reason(),
        page_obj=page,
        preview_rows=selectors.with_type_labels(page),
        can_preview=policy.can(Action.RUN_PREVIEW),
        stale_text=policy.preview_state().out_of_date_because,
        analysis=selectors.analysis_state(run, step="preview"),
    )
    return render(request, "restores/step_preview.html", context)


def _filter_choice(value: str | None, values: list[str]) -> str:
    """The list filter a page shows: what changes by default (``selectors.CHANGES_FILTER``),
    ``all`` (shown as "") or one value."""
    if value is None or value == "":
        return selectors.CHANGES_FILTER
    if value == "all":
        return ""
    return value if value in values else selectors.CHANGES_FILTER


#: The quiet values as their chips name them (one word per state on both pages).
_QUIET_LABELS: Final = {
    PreviewAction.NO_CHANGE.value: "Unchanged",
    PreviewAction.SKIP.value: "Skipped",
}


def _filter_chips(
    choices: list[tuple[str, str]], counts: dict[str, int], *, changes: int, quiet: Any
) -> list[dict[str, Any]]:
    """The filter chips of a signal-first list: "Changes" first, each value with its count,
    then "All"; the quiet values (unchanged, skipped) come last."""
    chips = [{"value": selectors.CHANGES_FILTER, "label": "Changes", "count": changes}]
    choices = [(value, _QUIET_LABELS.get(value, label)) for value, label in choices]
    loud = [(value, label) for value, label in choices if value not in quiet]
    calm = [(value, label) for value, label in choices if value in quiet]
    chips += [
        {"value": value, "label": label, "count": counts.get(value, 0)} for value, label in loud
    ]
    chips += [
        {"value": value, "label": label, "count": counts.get(value, 0), "quiet": True}
        for value, label in calm
    ]
    chips.append({"value": "all", "label": "All", "count": sum(counts.values())})
    return chips


@require_POST
@_refusals_shown
def preview_run(request: HttpRequest, run_id: int) -> HttpResponse:
    return _request_analysis(request, run_id, "preview")


def _request_analysis(request: HttpRequest, run_id: int, step: str) -> HttpResponse:
    """Queue the checks or preview for the worker; the step's page then shows their progress
    (or, when the worker was quicker than the redirect, the results)."""
    run = _wizard_run(request, run_id)
    scope = RateLimitScope.PREVIEW if step == "preview" else RateLimitScope.CHECKS
    try:
        with rate_limited_user_action(scope=scope, user=request.user):
            run = restore_run_request_analysis(actor=request.user, run=run, step=step)
    except (RateLimited, RestoreRunError) as exc:
        return _after_error(request, run, step, exc)
    if not run.analysis:
        messages.success(request, _finished_message(run, step))
    return HttpResponseRedirect(_step_url(run, step))


def _finished_message(run: RestoreRun, step: str) -> str:
    if step == "preview":
        return "Preview ready. Nothing was written to the tenant."
    counts = (run.metadata.get("checks") or {}).get("counts") or {}
    return (
        f"Checks done: {counts.get('blocking', 0)} blocking, {counts.get('warning', 0)} "
        f"warnings, {counts.get('safe', 0)} safe."
    )


@require_GET
@_refusals_shown
def analysis_status(request: HttpRequest, run_id: int) -> HttpResponse:
    """The polled progress of the checks or preview reading the target. When the job is over,
    the page reloads itself to show the results (or why it failed)."""
    run = _wizard_run(request, run_id)
    step = "preview" if request.GET.get("step") == "preview" else "checks"
    analysis = selectors.analysis_state(run, step=step)
    if not analysis.pending:
        return HttpResponse(status=204, headers={"HX-Refresh": "true"})
    return render(request, "restores/_analysis.html", {"run": run, "analysis": analysis})


# ---- step 5: confirm & execute ---------------------------------------------------------------


def _confirm_values(request: HttpRequest, run: RestoreRun) -> tuple[bool, str]:
    if request.method == "POST":
        form = ConfirmForm(request.POST)
        form.is_valid()
        return bool(form.cleaned_data.get("acknowledged")), form.cleaned_data.get("typed_label", "")
    confirmation = (run.metadata or {}).get("confirmation") or {}
    if confirmation.get("user_id") != request.user.pk:
        return False, ""
    return bool(confirmation.get("acknowledged")), str(confirmation.get("typed_label") or "")


def _panel_context(request: HttpRequest, run: RestoreRun) -> dict[str, Any]:
    acknowledged, typed_label = _confirm_values(request, run)
    policy = RestoreRunPolicy(run, request.user)
    decision = policy.execute_decision_if_confirmed(
        acknowledged=acknowledged, typed_label=typed_label
    )
    return {
        "policy": policy,
        "acknowledged": acknowledged,
        "typed_label": typed_label,
        "execute": decision,
        "finish_dry_run": policy.can(Action.FINISH_DRY_RUN),
        # A current preview that writes nothing and holds nothing back: Execute is not offered
        # at all (the policy refuses it too); a dry run can still be finished.
        "nothing_to_restore": policy.nothing_to_restore(),
        "held_back": policy.held_back_reason(),
    }


@require_GET
@_refusals_shown
def step_confirm(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _wizard_run(request, run_id)
    if redirect := _not_editable(run):
        return redirect
    warnings = selectors.check_warning_groups(run)
    context = _context(
        request,
        run,
        "confirm",
        warning_groups=warnings,
        warning_total=sum(group.total for group in warnings),
        removal_rows=selectors.preview_removals(run),
        **_panel_context(request, run),
    )
    return render(request, "restores/step_confirm.html", context)


@require_POST
@_refusals_shown
def confirm_check(request: HttpRequest, run_id: int) -> HttpResponse:
    """The unmet conditions for the values being typed (asked of the policy; nothing saved)."""
    run = _wizard_run(request, run_id)
    context = {"run": run, **_panel_context(request, run)}
    return render(request, "restores/_execute_panel.html", context)


@require_POST
@_refusals_shown
def dry_run_set(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _wizard_run(request, run_id)
    form = DryRunForm(request.POST)
    form.is_valid()
    try:
        run = restore_run_set_dry_run(
            actor=request.user, run=run, dry_run=bool(form.cleaned_data.get("dry_run"))
        )
    except RestoreRunError as exc:
        return _after_error(request, run, "confirm", exc)
    if not _htmx(request):
        return HttpResponseRedirect(_step_url(run, "confirm"))
    context = {"run": run, **_panel_context(request, run)}
    return render(request, "restores/_execute_panel.html", context)


@require_POST
def execute(request: HttpRequest, run_id: int) -> HttpResponse:
    """Record the confirmation, then queue. The service re-checks every gate and audits a
    refusal, whatever this request carried."""
    run = _visible_run(request, run_id)
    acknowledged, typed_label = _confirm_values(request, run)
    try:
        run = restore_run_request_execution(
            actor=request.user, run=run, acknowledged=acknowledged, typed_label=typed_label
        )
    except RestoreRunRefused as exc:
        return _refused(request, exc.reasons, run=run)
    except RestoreRunError as exc:
        return _after_error(request, run, "confirm", exc)
    messages.success(request, f"Restore #{run.pk} queued: this page shows its progress.")
    return HttpResponseRedirect(_run_url(run))


@require_POST
@_refusals_shown
def finish_dry_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _wizard_run(request, run_id)
    try:
        run = restore_run_finish_dry_run(actor=request.user, run=run)
    except RestoreRunError as exc:
        return _after_error(request, run, "confirm", exc)
    messages.success(request, "Dry run recorded as completed. Nothing was written to the tenant.")
    return HttpResponseRedirect(_run_url(run))


# ---- the run page ----------------------------------------------------------------------------


def _run_page_context(request: HttpRequest, run: RestoreRun) -> dict[str, Any]:
    outcome = _filter_choice(request.GET.get("outcome"), ItemOutcome.values)
    paginator = Paginator(selectors.item_outcomes(run, outcome=outcome), OUTCOME_PAGE_SIZE)
    policy = RestoreRunPolicy(run, request.user)
    outcome_page = paginator.get_page(request.GET.get("page"))
    counts = selectors.outcome_counts(run)
    snapshot = selectors.pre_restore_snapshot(run)
    can_cancel, can_resume = policy.can(Action.CANCEL), policy.can(Action.RESUME)
    return {
        "outcome": outcome,
        "outcome_rows": selectors.with_type_labels(outcome_page),
        "outcome_filters": _filter_chips(
            ItemOutcome.choices,
            counts,
            changes=selectors.item_outcomes(run, outcome=selectors.CHANGES_FILTER).count(),
            quiet=selectors.QUIET_OUTCOMES,
        ),
        "outcome_counts": counts,
        "outcome_total": sum(counts.values()),
        "outcome_quiet": sum(counts[value] for value in selectors.QUIET_OUTCOMES),
        "outcome_page": outcome_page,
        "progress": selectors.restore_run_progress(run),
        "snapshot": snapshot,
        "can_prepare": selectors.can_prepare(request.user, run).allowed,
        "can_cancel": can_cancel,
        "can_resume": can_resume,
        "live": run.status in ("queued", "running"),
        "result_counts": _result_counts(run),
        # What the page shows outside its polled panel (header badge, facts, buttons, snapshot
        # link): when the poll finds it changed, the whole page is reloaded.
        "page_state": "-".join(
            str(part)
            for part in (
                run.status,
                int(bool(run.cancel_requested_at)),
                int(bool(run.started_at)),
                int(bool(run.finished_at)),
                snapshot.pk if snapshot else 0,
                snapshot.item_count if snapshot else 0,
                int(can_cancel.allowed),
                int(can_resume.allowed),
            )
        ),
    }


def _result_counts(run: RestoreRun) -> dict[str, int]:
    """The finished run's counts as the run page shows them (0 for what it did not record)."""
    results = run.results if isinstance(run.results, dict) else {}

    def count(key: str) -> int:
        value = results.get(key)
        if isinstance(value, list):
            return len(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return {
        key: count(key)
        for key in ("items", "verified", "unverified", "failed", "changed_since_preview")
    }


@require_GET
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _visible_run(request, run_id)
    context = _context(
        request,
        run,
        "run",
        audit_events=selectors.restore_run_audit_events(run),
        check_counts=selectors.check_severity_counts(run),
        **_run_page_context(request, run),
    )
    context["title"] = f"Restore #{run.pk} to {run.tenant_label}"
    context["continue_step"] = selectors.next_step(context["steps"])
    return render(request, "restores/run_detail.html", context)


@require_GET
def run_live(request: HttpRequest, run_id: int) -> HttpResponse:
    """The live part of the run page (status, progress, outcomes), polled while it executes.

    The poll sends the ``page_state`` the page was drawn with; once the status, the buttons or
    the snapshot changed, it answers ``HX-Refresh`` so every part of the page is drawn again
    (no badge, Cancel button or missing Undo left from before)."""
    run = _visible_run(request, run_id)
    context = {"run": run, **_run_page_context(request, run)}
    shown = request.GET.get("state")
    if shown is not None and shown != context["page_state"]:
        return HttpResponse(status=204, headers={"HX-Refresh": "true"})
    return render(request, "restores/_run_live.html", context)


@require_GET
def checks_csv(request: HttpRequest, run_id: int) -> StreamingHttpResponse:
    """Every recorded check result of a run, as CSV (anyone who may see the run)."""
    run = _visible_run(request, run_id)
    buffer = _Echo()
    writer = csv.writer(buffer)
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in selectors.check_results_csv_rows(run)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="restore-{run.pk}-checks.csv"'
    return response


class _Echo:
    """A file-like object whose ``write`` returns what it was given (for streaming csv)."""

    def write(self, value: str) -> str:
        return value


@require_POST
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _visible_run(request, run_id)
    try:
        run = restore_run_cancel(actor=request.user, run=run)
    except RestoreRunRefused as exc:
        return _refused(request, exc.reasons, run=run)
    except RestoreRunError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Restore #{run.pk}: cancellation recorded.")
    return HttpResponseRedirect(_run_url(run))


@require_POST
def run_resume(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _visible_run(request, run_id)
    try:
        run = restore_run_resume(actor=request.user, run=run)
    except RestoreRunRefused as exc:
        return _refused(request, exc.reasons, run=run)
    except RestoreRunError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Restore #{run.pk} queued again: it continues where it stopped.")
    return HttpResponseRedirect(_run_url(run))


@require_POST
def run_undo(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _visible_run(request, run_id)
    try:
        undo = restore_run_undo(actor=request.user, run=run)
    except RestoreRunRefused as exc:
        return _refused(request, exc.reasons, run=run)
    except RestoreRunError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(_run_url(run))
    if undo.analysis:
        ready = "being checked and previewed"
    elif (undo.metadata or {}).get("preview"):
        ready = "checked and previewed"
    else:
        ready = "ready for its checks"
    messages.success(
        request,
        f"Undo of restore #{run.pk} opened as restore #{undo.pk} from the pre-restore snapshot, "
        f"{undo_carried_summary(undo)}, {ready}. Nothing is written until you "
        "confirm it at step 5 (dry-run off, the acknowledgement and the tenant's name).",
    )
    return HttpResponseRedirect(_step_url(undo, "preview"))
