"""What `tenantguard restore` shows: a run's checks, plan and outcomes as text and as JSON.

``run_document`` is the whole run as one JSON-ready document (``show --json``, ``plan --json``);
the ``render_*`` functions print the same for a person: checks grouped by code with what to do
in this command line's flags (``cli_words``, ``check_hint``), each planned item with its readable
changes (``restores.presentation``, labels from the setting definition cache), and the outcomes.
Plain and 80 columns when piped, coloured on a terminal (``cli_output``).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Final

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from tenantguard.cli_output import cut, fitted_table, plural
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


#: The preview's reason for an item blocked by checks (``restores.services.diff``).
_BLOCKED_BY: Final = re.compile(
    r"Blocked by (?:the checks?|check\(s\)) ([^:]+): resolve (?:it|them) in step 3\."
)

#: The wizard's words for its controls, as the command line says them.
_CLI_PHRASES: Final = (
    ("remove the item from the scope in step 2", "leave the item out of the plan (--item/--type)"),
    ("Remove the item from the scope in step 2", "Leave the item out of the plan (--item/--type)"),
    ("remove it from the scope in step 2", "leave it out of the plan (--item/--type)"),
    ("pick another backup set in step 1", "plan from another --backup-set"),
    ("choose 'replace' in step 3 options", "pass --source-identifiers replace"),
    ("Choose 'keep' in step 3 options", "Pass --source-identifiers keep"),
    ("In step 3 options, choose 'replace'", "Pass --source-identifiers replace"),
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


def _blocked_by(codes_text: str, run: str) -> str:
    """An item blocked by checks: each code with its own remedy in flags (the Checks of the
    plan say more)."""
    codes = [code.strip() for code in codes_text.split(",") if code.strip()]
    fixes = []
    for code in codes:
        kind = _missing_kind(code)
        if kind is not None and reference_kinds.get(kind).can_skip:
            fixes.append(
                f"map or skip the missing {reference_kinds.label(kind)} with "
                f"--map {kind}:SOURCE_ID=TARGET_ID|skip"
            )
        elif kind is not None:  # a reference that cannot be skipped
            fixes.append(
                f"map the missing {reference_kinds.label(kind)} with "
                f"--map {kind}:SOURCE_ID=TARGET_ID, or put it in the plan (--item/--type)"
            )
        elif code == "source_tenant_identifier":
            fixes.append("pass --source-identifiers replace or keep")
        else:
            fixes.append(f"see {code} under Checks (`tenantguard restore show {run}`)")
    noun = "check" if len(codes) == 1 else "checks"
    return f"Blocked by the {noun} {', '.join(codes)}: {'; '.join(fixes)}."


def cli_words(text: str, *, run_id: int | None = None) -> str:
    """``text`` (a check's resolution, a policy reason) naming flags and commands instead of web
    controls (``run_id``: the run the commands name; RUN when not known). Applying it twice
    changes nothing more."""
    from tenantguard.restores.check_words import OPTION_NAMES

    run = str(run_id) if run_id is not None else "RUN"
    # Blocking checks each have their own remedy: never one catch-all ("decide them with
    # --map") whatever the codes.
    text = _BLOCKED_BY.sub(lambda match: _blocked_by(match[1], run), text)
    text = text.replace(
        "resolve them in step 3.",
        f"each one's remedy is under Checks (`tenantguard restore show {run}`); then plan again.",
    )
    text = text.replace(
        "Finish it as a dry run, or change the scope or options and run the checks and the "
        "preview again.",
        f"Record it as a finished dry run with `tenantguard restore dry-run {run}`, or plan "
        "again with another scope (--item/--type) or options.",
    )

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
            next((r["resolution"] for r in group["results"] if r["resolution"]), ""),
            run_id=run.pk,
        )
    return ordered


def _diff_rows(
    diff: Mapping[str, Any], labels: Mapping[str, Any], payload: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """The readable rows of a preview diff (display names where known, raw path kept)."""
    from tenantguard.restores.presentation import readable_diff_rows

    return readable_diff_rows(diff, labels=labels, source_payload=payload)


def _setting_labels(
    run: Any, payloads: Iterable[Mapping[str, Any]], diffs: Iterable[Mapping[str, Any]] = ()
) -> Mapping[str, Any]:
    """Labels of the settings the diffs' changes and the payloads name (a setting only the
    target has is in a diff, not in a backup payload), from the tenant's definition cache
    (filled by the checks and the preview; unknown ids are absent and shown raw), as
    ``restores.selectors.diff_presentation_context`` gathers them for the pages."""
    from tenantguard.catalog.selectors import setting_labels
    from tenantguard.intune.setting_definitions import setting_definition_ids
    from tenantguard.restores.presentation import change_setting_ids

    ids: set[str] = set()
    for diff in diffs:
        ids |= change_setting_ids(diff)
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
        ).values_list("policy_type", "source_id", "stored_payload__payload"):
            payloads[(policy_type, source_id)] = payload or {}
    labels = _setting_labels(run, payloads.values(), [item.diff or {} for item in items])
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
    """Every item's outcome, with ``written``: what the restore wrote to it ("settings",
    "assignments", "scope tags"; empty when nothing). An item whose object was already right
    but whose assignments were written is ``updated`` here: the restore changed it."""
    rows = list(
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
            "object_written",
            "assignments_written",
            "skipped_assignments",
        )
    )
    tags_planned = {
        (policy_type, source_id)
        for policy_type, source_id, diff in run.preview_items.filter(
            action__in=("create", "update")
        ).values_list("policy_type", "source_id", "diff")
        if ((diff or {}).get("scope_tags") or {}).get("added")
        or ((diff or {}).get("scope_tags") or {}).get("removed")
    }
    for row in rows:
        written = []
        if row["object_written"]:
            written.append("settings")
            if (row["policy_type"], row["source_id"]) in tags_planned:
                written.append("scope tags")  # written with the object
        if row["assignments_written"]:
            written.append("assignments")
        row["written"] = written
        row["recorded_outcome"] = row["outcome"]
        if row["outcome"] == "unchanged" and written:
            row["outcome"] = "updated"
    return rows


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
        cut_any |= render_check_group(console, group, all_checks=all_checks)
    if cut_any:
        say(console, "(--json prints every result with its details)", style="dim")


def render_check_group(console: Console, group: Mapping[str, Any], *, all_checks: bool) -> bool:
    """One check code: its sentence, code and count, what to do, and its results (the first
    ones unless ``all_checks``). True when some were left out."""
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
        say(console, f"… and {hidden} more: --all-checks lists them", indent=2, style="dim")
    return hidden > 0


def render_warnings(console: Console, groups: list[dict[str, Any]]) -> None:
    """Every warning of the checks, each code with all its results (what the wizard's step 5
    repeats before the admin confirms)."""
    warnings = [g for g in groups if g["severity"] == "warning"]
    if not warnings:
        return
    total = sum(int(g["count"]) for g in warnings)
    console.print(f"[yellow]Warnings of the checks ({total}):[/yellow]")
    for group in warnings:
        render_check_group(console, group, all_checks=True)


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


def render_plan_items(
    console: Console, items: list[dict[str, Any]], *, run_id: int | None = None
) -> None:
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
        _wrapped(console, head, indent=0, hanging=len(f"{mark} {word:<7} "), style=colour)
        changes = [row for row in item["changes"] if not row.get("technical")]
        technical = len(item["changes"]) - len(changes)
        for row in changes[:DIFF_ROWS_SHOWN]:
            label, values = _change_parts(row, item["action"], width - 10)
            _wrapped(console, label, indent=6, hanging=4, unbroken=values)
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
        render_skipped(console, skipped, run_id=run_id)


def _first_sentence(text: str) -> str:
    """The first sentence of a long reason (the plan stays short; --json has all of it)."""
    head, dot, rest = text.partition(". ")
    return head + "." if dot and rest else text


def render_skipped(
    console: Console, skipped: list[dict[str, Any]], *, run_id: int | None = None
) -> None:
    """Skipped items under their reason (one reason shared by several items said once)."""
    from tenantguard.restores.check_words import group_results_by_message

    console.print(f"[dim]Skipped ({len(skipped)}):[/dim]")
    rows = [
        SimpleNamespace(
            message=_first_sentence(cli_words(item["reason"], run_id=run_id)),
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


#: A value longer than this is not printed whole in the plan (``--json`` has it).
LONG_VALUE: Final = 60
#: Characters shown before the first difference of two long values, and in all.
_DIFF_LEAD: Final = 12
_DIFF_SHOWN: Final = 40


def _value_text(value: Any) -> str:
    """A diff value as a person reads it (whole: the caller decides what to show of it)."""
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return " ".join(value.split()) if value.strip() else '""'
    return json.dumps(value, default=str, ensure_ascii=False)


def _where_they_differ(before: str, after: str, room: int) -> tuple[str, str]:
    """Two long values shown around their first difference (the same start left out), so two
    scripts never look identical; when even that is wider than ``room``, "(changed; see
    --json)"."""
    same = next(
        (i for i, (b, a) in enumerate(zip(before, after, strict=False)) if b != a),
        min(len(before), len(after)),
    )
    start = max(same - _DIFF_LEAD, 0)

    def around(text: str) -> str:
        shown = text[start : start + _DIFF_SHOWN]
        return ("…" if start else "") + shown + ("…" if start + _DIFF_SHOWN < len(text) else "")

    b, a = around(before), around(after)
    if max(len(b), len(a)) > room:  # either side wider than a line: no use showing it
        return "(changed; see --json)", f"({len(before)} → {len(after)} characters)"
    where = f"from character {same + 1}: " if start else ""
    return where + b, a


def _change_parts(row: Mapping[str, Any], action: str, room: int) -> tuple[str, str]:
    """(the setting's whole label, its values): ``before → after``, ``= value`` for a new one.
    Short values whole; long ones where they differ (``_where_they_differ``)."""
    setting = str(row.get("setting") or "")
    detail = str(row.get("detail") or "")
    label = f"{setting}: {detail}" if setting and detail else (setting or detail or row["path"])
    after = _value_text(row.get("after"))
    if action == "create" or row.get("before") is None:
        if len(after) > LONG_VALUE:
            after = f"{after[:_DIFF_SHOWN]}… ({len(after)} characters; see --json)"
        return label, f"= {after}"
    before = _value_text(row.get("before"))
    if len(before) > LONG_VALUE or len(after) > LONG_VALUE:
        before, after = _where_they_differ(before, after, room)
    return label + ":", f"{before} → {after}"


def _wrapped(
    console: Console,
    text: str,
    *,
    indent: int,
    hanging: int,
    unbroken: str = "",
    style: str = "",
) -> None:
    """``text`` (then ``unbroken``, kept on one line when it fits) wrapped to the console's
    width, never cut; continuation lines ``hanging`` further in."""
    width = max(console.width, 40)
    text = " ".join(text.split())
    if unbroken:
        room = width - indent - hanging
        glue = "\N{NO-BREAK SPACE}" if len(unbroken) <= room else " "
        text += " " + glue.join(unbroken.split(" "))
    filled = textwrap.fill(
        text,
        width=width,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + hanging),
        break_on_hyphens=False,
        break_long_words=True,
    )
    console.print(Text(filled.replace("\N{NO-BREAK SPACE}", " "), style=style), soft_wrap=True)


#: The order outcomes are listed in: failures first, then what was written.
_OUTCOME_ORDER: Final = {"failed": 0, "not written": 1, "created": 2, "updated": 3}


def _outcome_signal(outcome: Mapping[str, Any]) -> str | None:
    """How an outcome is listed among what happened ("failed", "not written" for an item the
    target changed under, "created", "updated", or a written item that failed its
    verification), or None for the quiet ones (unchanged and verified, skipped)."""
    if outcome["outcome"] == "skipped":
        return "not written" if outcome["skip_code"] == "changed_since_preview" else None
    if outcome["outcome"] == "unchanged":
        return "unchanged" if outcome["verified"] is False else None
    return str(outcome["outcome"])


def render_outcomes(console: Console, outcomes: list[dict[str, Any]]) -> None:
    """What happened, signal first: failures, then created and updated items with what was
    written to each; then the skipped ones grouped by reason with counts; then how many were
    already as in the backup."""
    if not outcomes:
        return
    listed = [o for o in outcomes if _outcome_signal(o) is not None]
    listed.sort(key=lambda o: _OUTCOME_ORDER.get(str(_outcome_signal(o)), 4))
    rows = []
    for outcome in listed:
        verified = "—" if outcome["verified"] is None else ("yes" if outcome["verified"] else "NO")
        written = outcome.get("written") or []
        why = "; ".join(
            part
            for part in (
                f"wrote {', '.join(written)}" if written else "",
                outcome["error_message"] or outcome["reason"],
                "; ".join(outcome["differences"] or []),
            )
            if part
        )
        rows.append([outcome["display_name"], _outcome_signal(outcome), verified, why])
    counts: dict[str, int] = {}
    for outcome in listed:
        signal = str(_outcome_signal(outcome))
        counts[signal] = counts.get(signal, 0) + 1
    if rows:
        console.print(
            "[bold]Outcomes[/bold]: "
            + ", ".join(f"{count} {signal}" for signal, count in counts.items())
        )
        console.print(
            fitted_table(
                console,
                [("Item", 28), ("Outcome", 11), ("Verified", 8), ("Details", 0)],
                rows,
                flexible=3,
            )
        )
    skipped = [o for o in outcomes if o["outcome"] == "skipped" and o not in listed]
    if skipped:
        by_reason: dict[str, list[str]] = {}
        for outcome in skipped:
            reason = _first_sentence(cli_words(outcome["reason"] or "No reason recorded."))
            by_reason.setdefault(reason, []).append(outcome["display_name"])
        console.print(f"[dim]Skipped ({len(skipped)}), by reason:[/dim]")
        for reason, names in sorted(by_reason.items(), key=lambda entry: -len(entry[1])):
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            say(
                console,
                f"{plural(len(names), 'item')}: {reason} ({shown})",
                indent=2,
                bullet="- ",
                style="dim",
            )
    unchanged = [o for o in outcomes if o["outcome"] == "unchanged" and o not in listed]
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
        render_plan_items(console, document["preview_items"], run_id=run.pk)
        render_assignment_summary(console, preview.get("summary") or {})
        render_names_problem(console, preview.get("summary") or {})
        render_target_read(console, preview.get("summary") or {})
    render_outcomes(console, document["outcomes"])
    if run.status in TERMINAL_STATUSES and run.results:
        results = run.results
        if results.get("error"):
            console.print(f"[red]{escape(str(results['error']))}[/red]", overflow="fold")
    if verdict is not None:
        summary = (document.get("preview") or {}).get("summary") or {}
        skipped = sum(
            int((summary.get(part) or {}).get("skip") or 0) for part in ("policies", "foundations")
        )
        render_verdict(console, verdict, skipped=skipped)


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


def render_target_read(console: Console, summary: Mapping[str, Any]) -> None:
    """When the plan's target was read, and whether it is the checks' read (reused)."""
    read = summary.get("target_read") or {}
    if not read.get("read_at"):
        return
    stamp = str(read["read_at"])
    when = f"{stamp[:10]} {stamp[11:19]} UTC"
    if read.get("reused"):
        how = "by the checks (the plan reused their read: the inputs are unchanged since)"
    else:
        how = "by the plan" + (f" ({read['not_reused']})" if read.get("not_reused") else "")
    console.print(
        f"Target read at {when} {escape(how)}; applying re-reads every object before writing it.",
        overflow="fold",
    )


def render_removals(console: Console, removals: Sequence[Mapping[str, Any]]) -> None:
    """Every item that loses assignments with the ones it loses (``restores.selectors.
    preview_removals``: all of them, not the preview summary's first ones)."""
    if not removals:
        return
    lost = sum(len(removal.get("removed") or []) for removal in removals)
    console.print(
        f"[red]Assignments this restore removes ({plural(lost, 'assignment')} of "
        f"{plural(len(removals), 'item')}):[/red]"
    )
    for removal in removals:
        groups = ", ".join(_assignment_name(a) for a in removal.get("removed") or [])
        say(console, f"{removal.get('name')}: {groups}", indent=2, bullet="- ", style="red")


def render_verdict(console: Console, verdict: Verdict, *, skipped: int = 0) -> None:
    """``skipped``: items the plan skips (not written whatever they hold): with any, the target
    is not said to match the backup."""
    if verdict.result == "no_changes" and skipped:
        console.print(
            f"[green]No changes to write.[/green] Nothing TenantGuard can write differs from the "
            f"backup; {plural(skipped, 'skipped item')} {'is' if skipped == 1 else 'are'} not "
            "written (their reasons are listed above)."
        )
    elif verdict.result == "no_changes":
        console.print("[green]No changes.[/green] The target already matches the backup.")
    elif verdict.result == "blocked":
        console.print("[red]Blocked:[/red] this plan cannot be applied yet.")
        for reason in verdict.reasons:
            say(console, reason, indent=2, bullet="- ")
    if verdict.next_command:
        console.print(f"Next: [bold]{verdict.next_command}[/bold]")
