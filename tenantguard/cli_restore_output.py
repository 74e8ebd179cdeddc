"""What `tenantguard restore` shows: a run's checks, plan and outcomes as text and as JSON.

``run_document`` is the whole run as one JSON-ready document (``show --json``, ``plan --json``);
the ``render_*`` functions print the same for a person: checks grouped by code with what to do
in this command line's flags (``cli_words``, ``check_hint``), each planned item with its readable
changes (``restores.presentation``, labels from the setting definition cache), and the outcomes.
Plain and 80 columns when piped, coloured on a terminal (``cli_output``).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Final

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from tenantguard.cli_output import cut, fitted_table, plural, short_value
from tenantguard.intune import reference_kinds

#: Results listed per check code unless ``--all-checks`` (blocking ones are decisions to make:
#: more of them); changes listed per item.
CHECK_ROWS_SHOWN: Final = {"blocking": 20, "warning": 5}
DIFF_ROWS_SHOWN: Final = 15
SKIPPED_ROWS_SHOWN: Final = 20

#: A command in backquotes, or a flag with its KIND:VALUE: never broken across two lines.
_UNBROKEN: Final = re.compile(r"`[^`]+`|--[a-z-]+ [A-Za-z_]+:\S+")

_SEVERITY_MARKS: Final = {
    "blocking": ("✗", "red"),
    "warning": ("!", "yellow"),
    "safe": ("✓", "green"),
}

_ACTION_MARKS: Final = {
    "create": ("+", "green", "create"),
    "update": ("~", "yellow", "update"),
    "no_change": ("=", "dim", "unchanged"),
    "skip": ("-", "dim", "skip"),
}

#: A run that ended (``policy.TERMINAL_STATUSES``, readable before Django is set up).
TERMINAL_STATUSES: Final = ("completed", "partial", "failed", "cancelled")


#: The wizard's words for its controls, as the command line says them.
_CLI_PHRASES: Final = (
    ("remove the item from the scope in step 2", "leave the item out of the plan (--item/--type)"),
    ("Remove the item from the scope in step 2", "Leave the item out of the plan (--item/--type)"),
    ("remove it from the scope in step 2", "leave it out of the plan (--item/--type)"),
    ("pick another backup set in step 1", "plan from another --backup-set"),
    ("choose 'replace' in step 3 options", "pass --source-identifiers replace"),
    ("Choose 'keep' in step 3 options", "Pass --source-identifiers keep"),
    ("In step 3 options, choose 'replace'", "Pass --source-identifiers replace"),
    (
        "resolve them in step 3.",
        "decide them with --map KIND:SRC=DST|skip or --accept-suggestions and plan again.",
    ),
    ("Run them again in step 3.", "Plan again."),
    ("Run the preview again in step 4.", "Plan again."),
    ("run the preview in step 4.", "plan again."),
    ("run the checks in step 3.", "plan again."),
    ("Tick 'I reviewed the impact'.", "Pass --reviewed."),
    ("turn it off to write to the tenant.", "`tenantguard restore apply` turns it off."),
    ("in step 3", "with --map"),
    ("in step 2", "with --item/--type"),
    ("in step 1", "with --backup-set"),
)


def cli_words(text: str) -> str:
    """``text`` (a check's resolution, a policy reason) naming flags instead of web controls."""
    from tenantguard.restores.check_words import OPTION_NAMES

    options = (
        (f"turn off '{OPTION_NAMES['include_assignments']}'", "pass --no-assignments"),
        (f"Turn off '{OPTION_NAMES['include_assignments']}'", "Pass --no-assignments"),
        (f"Turn on '{OPTION_NAMES['create_missing']}'", "Plan without --no-create-missing"),
        (f"turn on '{OPTION_NAMES['create_missing']}'", "plan without --no-create-missing"),
        (
            f"'{OPTION_NAMES['create_missing']}' is turned off for this run",
            "the plan was made with --no-create-missing",
        ),
        ("creating missing objects is off", "the plan was made with --no-create-missing"),
    )
    for web, cli in (*options, *_CLI_PHRASES):
        text = text.replace(web, cli)
    return text


def check_title(code: str) -> str:
    from tenantguard.restores.check_words import check_title as title_of

    return title_of(code) or code


def type_label(policy_type: str, payload: Mapping[str, Any] | None = None) -> str:
    from tenantguard.restores.check_words import item_type_label

    return item_type_label(policy_type, payload)


def _missing_kind(code: str) -> str | None:
    for kind in reference_kinds.all_kinds():
        if kind.missing_code == code:
            return kind.key
    return None


def check_hint(code: str, severity: str, *, run_id: int, suggestions: int = 0) -> str:
    """What to do about results of ``code``, with this command line's flags."""
    kind = _missing_kind(code)
    if kind is not None:
        info = reference_kinds.get(kind)
        hint = (
            f"Map each with --map {kind}:SOURCE_ID=TARGET_ID (candidates: "
            f"`tenantguard restore targets {run_id} --kind {kind}`)"
        )
        if info.on_skip == "not_allowed":
            hint += f", or put the {reference_kinds.label(kind)} in the plan (--item/--type)"
        else:
            hint += f", or skip it with --map {kind}:SOURCE_ID=skip"
        if suggestions:
            hint += (
                f"; --accept-suggestions maps {suggestions} of them to the "
                f"{reference_kinds.label(kind)} of the same name in the target"
            )
        return hint + "."
    hints = {
        "target_missing": (
            "Plan without --no-create-missing to create it, or leave the item out (--item/--type)."
            if severity == "blocking"
            else "It will be created; leave the item out (--item/--type) if you do not want it."
        ),
        "broad_assignment": (
            "Check the assignments in the plan below; --no-assignments leaves the target's "
            "assignments as they are."
        ),
        "target_newer_than_backup": (
            "Review the differences below; `tenantguard backup create --tenant NAME` first if "
            "you may need the current version."
        ),
        "ambiguous_match": (
            "Rename or remove the extra objects of that name in Intune, or leave the item out "
            "(--item/--type)."
        ),
        "source_tenant_identifier": (
            "Pass --source-identifiers replace (write the target's own) or keep."
        ),
        "preview_only_type": "Shown in the plan, never written.",
        "unsupported_type": "Shown in the plan, never written.",
        "assignments_not_captured": "The target's assignments are left as they are.",
    }
    return hints.get(code, "")


# ---- what a run shows --------------------------------------------------------------------------


@dataclass
class Verdict:
    """What ``plan`` concludes: its result, exit code and why it cannot execute (if so)."""

    result: str  # "no_changes" | "changes" | "blocked"
    exit_code: int
    reasons: list[str] = field(default_factory=list)
    next_command: str | None = None


def _check_item(row: Any) -> dict[str, Any] | None:
    if not row.item_type and not row.item_source_id:
        return None
    return {
        "type": row.item_type,
        "type_label": type_label(row.item_type) if row.item_type else "",
        "source_id": row.item_source_id,
        "name": row.item_name,
    }


def check_groups(run: Any) -> list[dict[str, Any]]:
    """Every check result of ``run``, grouped by code: blocking codes first, then warnings,
    then safe, each in the order it was first found."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for row in run.check_results.order_by("position"):
        key = (row.severity, row.code)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "code": row.code,
                "title": check_title(row.code),
                "severity": row.severity,
                "count": 0,
                "results": [],
            }
        group["count"] += 1
        group["results"].append(
            {
                "item": _check_item(row),
                "message": row.message,
                "resolution": row.resolution,
                "details": row.details or {},
            }
        )
    order = {"blocking": 0, "warning": 1, "safe": 2}
    ordered = sorted(groups.values(), key=lambda g: order.get(g["severity"], 3))
    for group in ordered:
        suggestions = {
            (r["details"].get("source_id"), r["details"].get("suggested_target_id"))
            for r in group["results"]
            if r["details"].get("suggested_target_id")
        }
        group["hint"] = check_hint(
            group["code"], group["severity"], run_id=run.pk, suggestions=len(suggestions)
        )
        group["resolution"] = cli_words(
            next((r["resolution"] for r in group["results"] if r["resolution"]), "")
        )
    return ordered


def _diff_rows(
    diff: Mapping[str, Any], labels: Mapping[str, Any], payload: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """The readable rows of a preview diff (display names where known, raw path kept)."""
    from tenantguard.restores.presentation import readable_diff_rows

    return readable_diff_rows(diff, labels=labels, source_payload=payload)


def _setting_labels(run: Any, payloads: Iterable[Mapping[str, Any]]) -> Mapping[str, Any]:
    """Labels of the settings the payloads name, from the tenant's definition cache (filled by
    the checks and the preview; unknown ids are absent and shown raw)."""
    from tenantguard.catalog.selectors import setting_labels
    from tenantguard.intune.setting_definitions import setting_definition_ids

    ids: set[str] = set()
    for payload in payloads:
        ids |= setting_definition_ids(payload)
    if not ids:
        return {}
    return dict(setting_labels(tenant=run.tenant, definition_ids=ids))


def preview_rows(run: Any) -> list[dict[str, Any]]:
    """Every planned item of ``run``'s preview with its readable changes."""
    from tenantguard.backups.models import BackupItem

    items = list(run.preview_items.order_by("position"))
    changing = [i for i in items if i.action in ("create", "update")]
    payloads: dict[tuple[str, str], Mapping[str, Any]] = {}
    if changing and run.backup_set_id:
        wanted = {i.source_id for i in changing}
        for policy_type, source_id, payload in BackupItem.objects.filter(
            backup_set_id=run.backup_set_id, source_id__in=wanted
        ).values_list("policy_type", "source_id", "payload"):
            payloads[(policy_type, source_id)] = payload or {}
    labels = _setting_labels(run, payloads.values())
    rows = []
    for item in items:
        diff = item.diff or {}
        payload = payloads.get((item.policy_type, item.source_id))
        rows.append(
            {
                "policy_type": item.policy_type,
                "type_label": type_label(item.policy_type, payload),
                "source_id": item.source_id,
                "display_name": item.display_name,
                "action": item.action,
                "reason": item.reason,
                "target_id": item.target_id,
                "changes": _diff_rows(diff, labels, payload) if diff.get("changes") else [],
                "assignments": diff.get("assignments") or {},
                "scope_tags": diff.get("scope_tags") or {},
                "diff_truncated": item.diff_truncated,
            }
        )
    return rows


def outcome_rows(run: Any) -> list[dict[str, Any]]:
    return list(
        run.item_outcomes.order_by("position").values(
            "policy_type",
            "source_id",
            "display_name",
            "target_id",
            "outcome",
            "reason",
            "skip_code",
            "error_code",
            "error_message",
            "verified",
            "differences",
        )
    )


def run_document(run: Any) -> dict[str, Any]:
    """Everything about ``run`` as one JSON document (``show --json``, ``plan --json``)."""
    from tenantguard.restores.services.policy import RestoreRunPolicy

    policy = RestoreRunPolicy(run, None)
    metadata = run.metadata or {}
    backup_set = run.backup_set
    outcomes = outcome_rows(run)
    return {
        "id": run.pk,
        "tenant": run.tenant_label,
        "environment": run.environment,
        "status": run.status,
        "dry_run": run.dry_run,
        "backup_set": run.backup_set_id,
        "backup_set_name": backup_set.name if backup_set else None,
        "backup_set_tenant": backup_set.tenant.display_name if backup_set else None,
        "scope_mode": run.scope_mode,
        "requested_items": run.requested_items,
        "mapping": run.group_mapping,
        "options": run.options,
        "undo_of": metadata.get("undo_of"),
        "checks": metadata.get("checks"),
        "checks_current": policy.checks_state().current,
        "check_results": check_groups(run),
        "preview": metadata.get("preview"),
        "preview_current": policy.preview_state().current,
        "preview_items": preview_rows(run),
        "results": run.results,
        "items": outcomes,  # the per-item outcomes (the name `restore show --json` always had)
        "outcomes": outcomes,
    }


# ---- rendering ---------------------------------------------------------------------------------


def badge(run: Any) -> str:
    return (
        "[bold white on red] PROD [/]"
        if run.environment == "prod"
        else "[bold white on blue] TEST [/]"
    )


def _assignment_name(entry: Mapping[str, Any]) -> str:
    """A planned assignment's group by name (``exclude`` for an exclusion), or its broad target
    (``all_users`` -> "All users")."""
    target = str(entry.get("target") or "")
    name = entry.get("group") or entry.get("group_id")
    if not name:
        return target.replace("_", " ").capitalize() or "?"
    return f"exclude {name}" if target == "exclusion" else str(name)


def say(console: Console, text: str, *, indent: int = 0, bullet: str = "", style: str = "") -> None:
    """``text`` wrapped to the console's width, continuation lines under its first word (rich
    would start them at the margin)."""
    lead = " " * indent + bullet
    # A command or a flag with its value stays on one line (copied as a whole).
    text = _UNBROKEN.sub(lambda m: m[0].replace(" ", "\N{NO-BREAK SPACE}"), " ".join(text.split()))
    filled = textwrap.fill(
        text,
        width=max(console.width, 40),
        initial_indent=lead,
        subsequent_indent=" " * len(lead),
        break_on_hyphens=False,
        break_long_words=True,
    )
    console.print(Text(filled.replace("\N{NO-BREAK SPACE}", " "), style=style), soft_wrap=True)


def _result_lines(group: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """(text, is_item) lines of one code's results: a missing reference with its source id
    (what --map needs); other results that say the same thing once, with their items' names."""
    results = group["results"]
    if results and all((r["details"] or {}).get("kind") for r in results):
        return [(text, True) for text in _missing_reference_lines(results)]
    rows = [
        SimpleNamespace(
            message=cli_words(r["message"]),
            resolution=r["resolution"],
            item_name=(r["item"] or {}).get("name", ""),
        )
        for r in results
    ]
    from tenantguard.restores.check_words import group_results_by_message

    lines: list[tuple[str, bool]] = []
    for shared in group_results_by_message(rows):
        if shared.total == 1:
            lines.append((shared.message, True))
            continue
        lines.append((shared.message, False))
        lines += [("  " + name, True) for name in shared.names]
    return lines


def render_checks(
    console: Console, groups: list[dict[str, Any]], counts: Mapping[str, int], *, all_checks: bool
) -> None:
    console.print(
        f"[bold]Checks[/bold]: {int(counts.get('blocking', 0))} blocking, "
        f"{plural(int(counts.get('warning', 0)), 'warning')}, {int(counts.get('safe', 0))} safe"
    )
    cut_any = False
    for group in groups:
        if group["severity"] == "safe":
            continue
        mark, colour = _SEVERITY_MARKS.get(group["severity"], ("?", "white"))
        title = group["title"]
        code = "" if title == group["code"] else f" [{group['code']}]"
        say(console, f"{mark} {title}{code}: {group['count']}", style=f"bold {colour}")
        advice = group["hint"] or group["resolution"]
        if advice:
            say(console, f"To do: {advice}", indent=2)
        shown = 0
        lines = _result_lines(group)
        for text, is_item in lines:
            if not all_checks and shown >= CHECK_ROWS_SHOWN.get(group["severity"], 5):
                continue
            shown += is_item
            say(
                console,
                text.strip(),
                indent=2 + (len(text) - len(text.lstrip())),
                bullet="- " if is_item else "",
            )
        hidden = sum(is_item for _, is_item in lines) - shown
        if hidden > 0:
            cut_any = True
            say(console, f"… and {hidden} more: --all-checks lists them", indent=2, style="dim")
    if cut_any:
        say(console, "(--json prints every result with its details)", style="dim")


def _missing_reference_lines(results: list[Mapping[str, Any]]) -> list[str]:
    """One line per missing object: its name and source id (what --map needs), the items that
    use it, and the target's object of the same name when the checks found one."""
    by_source: dict[str, dict[str, Any]] = {}
    for result in results:
        details = result.get("details") or {}
        entry = by_source.setdefault(
            str(details["source_id"]),
            {"name": details.get("source_name"), "items": [], "suggestion": None},
        )
        name = (result.get("item") or {}).get("name")
        if name and name not in entry["items"]:
            entry["items"].append(name)
        if details.get("suggested_target_id"):
            entry["suggestion"] = (
                details.get("suggested_target_name"),
                details["suggested_target_id"],
            )
    lines = []
    for source_id, entry in by_source.items():
        text = f"{entry['name'] or '(name not in the backup)'}, source id {source_id}"
        if entry["items"]:
            text += f", used by {', '.join(entry['items'])}"
        if entry["suggestion"]:
            text += (
                f"; same name in the target: {entry['suggestion'][0]}, id {entry['suggestion'][1]}"
            )
        lines.append(text)
    return lines


def render_plan_items(console: Console, items: list[dict[str, Any]]) -> None:
    width = console.width
    counts = {action: 0 for action in _ACTION_MARKS}
    for item in items:
        counts[item["action"]] = counts.get(item["action"], 0) + 1
    console.print(
        f"[bold]Plan[/bold]: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['no_change']} unchanged, {counts['skip']} skipped"
    )
    for item in items:
        if item["action"] not in ("create", "update"):
            continue
        mark, colour, word = _ACTION_MARKS[item["action"]]
        head = f"{mark} {word:<7} {item['type_label']}: {item['display_name']}"
        console.print(f"[{colour}]{escape(cut(head, width))}[/{colour}]")
        changes = [row for row in item["changes"] if not row.get("technical")]
        technical = len(item["changes"]) - len(changes)
        for row in changes[:DIFF_ROWS_SHOWN]:
            console.print("      " + escape(_change_text(row, item["action"], width - 6)))
        more = max(len(changes) - DIFF_ROWS_SHOWN, 0)
        if more or technical:
            words = [plural(more, "more change")] if more else []
            words += [f"{technical} technical (Graph types, ids)"] if technical else []
            console.print(f"      [dim]… {', '.join(words)}: --json lists them[/dim]")
        if item["diff_truncated"]:
            console.print("      [dim](the stored difference was cut: it is too large)[/dim]")
        assignments = item["assignments"] or {}
        for entry in assignments.get("added") or []:
            console.print(
                "      [green]"
                + escape(cut(f"+ assignment {_assignment_name(entry)}", width - 6))
                + "[/green]"
            )
        for entry in assignments.get("removed") or []:
            console.print(
                "      [red]"
                + escape(cut(f"- assignment {_assignment_name(entry)} (removed)", width - 6))
                + "[/red]"
            )
        for entry in assignments.get("skipped") or []:
            console.print(
                "      [dim]"
                + escape(cut(f"  assignment {_assignment_name(entry)} skipped", width - 6))
                + "[/dim]"
            )
        tags = item["scope_tags"] or {}
        for name in tags.get("added") or []:
            console.print("      [green]" + escape(cut(f"+ scope tag {name}", width - 6)) + "[/]")
        for name in tags.get("removed") or []:
            console.print("      [red]" + escape(cut(f"- scope tag {name}", width - 6)) + "[/]")
    skipped = [i for i in items if i["action"] == "skip"]
    if skipped:
        render_skipped(console, skipped)


def _first_sentence(text: str) -> str:
    """The first sentence of a long reason (the plan stays short; --json has all of it)."""
    head, dot, rest = text.partition(". ")
    return head + "." if dot and rest else text


def render_skipped(console: Console, skipped: list[dict[str, Any]]) -> None:
    """Skipped items under their reason (one reason shared by several items said once)."""
    from tenantguard.restores.check_words import group_results_by_message

    console.print(f"[dim]Skipped ({len(skipped)}):[/dim]")
    rows = [
        SimpleNamespace(
            message=_first_sentence(cli_words(item["reason"])),
            resolution="",
            item_name=f"{item['display_name']} ({item['type_label']})",
        )
        for item in skipped
    ]
    shown = 0
    for group in group_results_by_message(rows):
        if shown >= SKIPPED_ROWS_SHOWN:
            break
        if group.total == 1:
            say(console, f"{group.names[0]}: {group.message}", indent=2, bullet="- ", style="dim")
            shown += 1
            continue
        say(console, group.message, indent=2, style="dim")
        for name in group.names[: SKIPPED_ROWS_SHOWN - shown]:
            say(console, name, indent=4, bullet="- ", style="dim")
            shown += 1
    if len(skipped) > shown:
        say(
            console, f"… and {len(skipped) - shown} more (--json lists them)", indent=2, style="dim"
        )


def _change_text(row: Mapping[str, Any], action: str, width: int) -> str:
    """One change on one line: ``Setting: detail: before → after`` (``= value`` for a new one)."""
    setting = str(row.get("setting") or "")
    detail = str(row.get("detail") or "")
    label = f"{setting}: {detail}" if setting and detail else (setting or detail or row["path"])
    label = cut(label, min(len(label), width * 3 // 5))
    room = width - len(label)
    if action == "create" or row.get("before") is None:
        return cut(f"{label} = {short_value(row.get('after'), room - 3)}", width)
    half = max((room - 5) // 2, 8)
    return cut(
        f"{label}: {short_value(row.get('before'), half)} → {short_value(row.get('after'), half)}",
        width,
    )


def render_outcomes(console: Console, outcomes: list[dict[str, Any]]) -> None:
    if not outcomes:
        return
    unchanged = [o for o in outcomes if o["outcome"] == "unchanged" and o["verified"] is not False]
    listed = [o for o in outcomes if o not in unchanged]
    rows = []
    for outcome in listed:
        verified = "—" if outcome["verified"] is None else ("yes" if outcome["verified"] else "NO")
        why = (
            outcome["error_message"] or outcome["reason"] or "; ".join(outcome["differences"] or [])
        )
        rows.append(
            [
                outcome["display_name"],
                outcome["outcome"],
                verified,
                why,
            ]
        )
    if rows:
        console.print(
            fitted_table(
                console,
                [("Item", 28), ("Outcome", 9), ("Verified", 8), ("Details", 0)],
                rows,
                flexible=3,
            )
        )
    if unchanged:
        console.print(
            f"[dim]{plural(len(unchanged), 'item')} already as in the backup (unchanged, "
            "not listed).[/dim]"
        )


def render_run(
    console: Console,
    run: Any,
    document: Mapping[str, Any],
    *,
    all_checks: bool,
    verdict: Verdict | None = None,
) -> None:
    backup = "no backup set yet"
    if document["backup_set"]:
        backup = f"backup set #{document['backup_set']} '{document['backup_set_name']}'"
        if document["backup_set_tenant"] != run.tenant_label:
            backup += f" of {document['backup_set_tenant']}"  # into another tenant
    console.print(
        f"{badge(run)} Restore #{run.pk} to [bold]{escape(run.tenant_label)}[/bold] from "
        f"{escape(backup)}: {run.status}, dry-run {'on' if run.dry_run else 'off'}",
        overflow="fold",
    )
    checks = document.get("checks") or {}
    if checks:
        if not document["checks_current"]:
            console.print("Checks [yellow](out of date)[/yellow]: plan again to refresh them.")
        render_checks(
            console, document["check_results"], checks.get("counts") or {}, all_checks=all_checks
        )
    preview = document.get("preview") or {}
    if preview:
        if not document["preview_current"]:
            console.print("Plan [yellow](out of date)[/yellow]: plan again to refresh it.")
        render_plan_items(console, document["preview_items"])
        render_assignment_summary(console, preview.get("summary") or {})
        render_names_problem(console, preview.get("summary") or {})
    render_outcomes(console, document["outcomes"])
    if run.status in TERMINAL_STATUSES and run.results:
        results = run.results
        if results.get("error"):
            console.print(f"[red]{escape(str(results['error']))}[/red]", overflow="fold")
    if verdict is not None:
        render_verdict(console, verdict)


def render_assignment_summary(console: Console, summary: Mapping[str, Any]) -> None:
    assignments = summary.get("assignments") or {}
    if assignments.get("included"):
        console.print(
            f"Assignments ({assignments.get('mode', 'replace')}): "
            f"+{assignments.get('added', 0)} added, -{assignments.get('removed', 0)} removed"
            + (f", {assignments['skipped']} skipped" if assignments.get("skipped") else "")
        )
    elif assignments:
        console.print("Assignments: left as they are in the target (--no-assignments).")
    tags = summary.get("scope_tags") or {}
    if tags.get("added") or tags.get("removed"):
        console.print(
            f"Scope tags: +{tags.get('added', 0)} added, -{tags.get('removed', 0)} removed"
        )


def render_names_problem(console: Console, summary: Mapping[str, Any]) -> None:
    """Why settings are shown by their ids, when Graph's setting names could not be read."""
    problem = (summary.get("setting_definitions") or {}).get("problem")
    if problem:
        console.print(f"[yellow]Setting names:[/yellow] {escape(str(problem))}", overflow="fold")


def render_removals(console: Console, summary: Mapping[str, Any]) -> None:
    removals = (summary.get("assignments") or {}).get("removals") or []
    if not removals:
        return
    console.print("[red]Assignments this restore removes:[/red]")
    for removal in removals:
        groups = ", ".join(_assignment_name(a) for a in removal.get("removed") or [])
        say(console, f"{removal.get('name')}: {groups}", indent=2, bullet="- ", style="red")


def render_verdict(console: Console, verdict: Verdict) -> None:
    if verdict.result == "no_changes":
        console.print("[green]No changes.[/green] The target already matches the backup.")
    elif verdict.result == "blocked":
        console.print("[red]Blocked:[/red] this plan cannot be applied yet.")
        for reason in verdict.reasons:
            say(console, reason, indent=2, bullet="- ")
    if verdict.next_command:
        console.print(f"Next: [bold]{verdict.next_command}[/bold]")
