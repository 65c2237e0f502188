"""The settings form <-> the program's JSON form.

Every input is named by the dotted path `integration.program.validate` uses for its problems
(`points_per_unit`, `rewards[2].points_cost`, `tiers[0].benefits.free_shipping`), so a problem is
shown next to the input it names. Lists (rewards, tiers, plans, campaigns) are rendered with one
blank row to add an entry and a "remove" box per row; blank and removed rows are dropped before
validation, and problem paths are mapped back to the row numbers of the form. Campaign times are
entered in the shop's timezone (`datetime-local`) and stored with their offset.
"""
from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integration.program import Problem, Program, program_to_dict

LISTS = ("rewards", "tiers", "plans", "campaigns")
ROW = re.compile(r"^(\w+)\[(\d+)\]\.")
SKIP_FOR_BLANK = {"kind", "enabled", "active"}  # a blank row's select and pre-ticked boxes


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _unwrap(hint: Any) -> tuple[Any, bool]:
    if get_origin(hint) is types.UnionType:
        return next(a for a in get_args(hint) if a is not type(None)), True
    return hint, False


# -- program -> form values --------------------------------------------------------------------

def form_values(program: Program, timezone: str) -> dict[str, str]:
    """Flat path -> text for every input of the form."""
    values: dict[str, str] = {}
    _flatten(program_to_dict(program), Program, "", values, zone(timezone))
    return values


def _flatten(data: Any, cls: Any, path: str, out: dict[str, str], tz: ZoneInfo) -> None:
    hints = get_type_hints(cls)
    for f in fields(cls):
        key = f"{path}.{f.name}" if path else f.name
        hint, _ = _unwrap(hints[f.name])
        value = data.get(f.name)
        if get_origin(hint) is tuple:
            item = get_args(hint)[0]
            if is_dataclass(item):
                for index, element in enumerate(value or []):
                    _flatten(element, item, f"{key}[{index}]", out, tz)
            else:
                out[key] = ", ".join(value or [])
        elif is_dataclass(hint):
            _flatten(value or {}, hint, key, out, tz)
        elif hint is bool:
            out[key] = "on" if value else ""
        elif hint is datetime:
            out[key] = datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%dT%H:%M") if value else ""
        else:
            out[key] = "" if value is None else str(value)


def row_indices(values: Mapping[str, str], name: str) -> list[int]:
    """The row numbers of list `name` present in the form, in order."""
    found = {int(m.group(2)) for key in values if (m := ROW.match(key)) and m.group(1) == name}
    return sorted(found)


# -- form values -> program JSON ------------------------------------------------------------------

def parse_form(form: Mapping[str, str], timezone: str) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The program's JSON form from the submitted inputs, and per list the form row of each kept
    entry (to map problem paths back: see `form_problems`)."""
    rows: dict[str, list[int]] = {}
    data = _parse(form, Program, "", zone(timezone), rows, in_row=False)
    return data, rows


def _parse(form: Mapping[str, str], cls: Any, path: str, tz: ZoneInfo, rows: dict[str, list[int]],
           in_row: bool) -> dict[str, Any]:
    hints = get_type_hints(cls)
    data: dict[str, Any] = {}
    for f in fields(cls):
        key = f"{path}.{f.name}" if path else f.name
        hint, optional = _unwrap(hints[f.name])
        if get_origin(hint) is tuple and is_dataclass(get_args(hint)[0]):
            kept = [i for i in row_indices(form, key)
                    if not form.get(f"{key}[{i}]._remove") and not _blank(form, f"{key}[{i}].")]
            rows[key] = kept
            data[f.name] = [_parse(form, get_args(hint)[0], f"{key}[{i}]", tz, rows, in_row=True) for i in kept]
        elif is_dataclass(hint):
            data[f.name] = _parse(form, hint, key, tz, rows, in_row)
        elif hint is bool:
            data[f.name] = bool(form.get(key))
        elif key not in form:
            continue  # not on the form: the default applies
        else:
            text = (form.get(key) or "").strip()
            if get_origin(hint) is tuple:
                data[f.name] = [p.strip() for p in re.split(r"[,\n]", text) if p.strip()]
            elif not text and optional:
                data[f.name] = None
            elif not text and in_row:
                continue  # an empty cell of a row takes the default (a problem if there is none)
            elif hint is datetime:
                data[f.name] = _moment(text, tz)
            else:
                data[f.name] = text
    return data


def _blank(form: Mapping[str, str], prefix: str) -> bool:
    return all(not (value or "").strip() for key, value in form.items()
               if key.startswith(prefix) and key[len(prefix):].split(".")[-1] not in SKIP_FOR_BLANK
               and not key.endswith("._remove") and value != "on")


def _moment(text: str, tz: ZoneInfo) -> str:
    """A `datetime-local` value in the shop's timezone, as ISO 8601 with its offset; text that is
    not a date-time is passed on for the program's own message."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).isoformat()


def form_problems(problems: list[Problem], rows: Mapping[str, list[int]]) -> dict[str, list[str]]:
    """Problems keyed by the form input they belong to ("" for the whole program)."""
    shown: dict[str, list[str]] = {}
    for problem in problems:
        path = problem.field
        match = ROW.match(path + ".") if path else None
        if match and match.group(1) in rows:
            kept = rows[match.group(1)]
            index = int(match.group(2))
            if index < len(kept):
                path = f"{match.group(1)}[{kept[index]}]" + path[match.end() - 1:].rstrip(".")
        shown.setdefault(path, []).append(problem.message)
    return shown


def without(data: dict[str, Any], rows: Mapping[str, list[int]],
            problems: list[Problem]) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """`data` without the values that could not be read (a list row with one goes entirely; a
    setting takes its default), and the row map that goes with it, so the rest can be validated."""
    readable = dict(data)
    kept = {name: list(indices) for name, indices in rows.items()}
    drop: dict[str, set[int]] = {}
    for problem in problems:
        match = ROW.match(problem.field + ".")
        if match and match.group(1) in readable:
            drop.setdefault(match.group(1), set()).add(int(match.group(2)))
        else:
            readable.pop(problem.field.split(".")[0].split("[")[0], None)
    for name, indices in drop.items():
        readable[name] = [row for i, row in enumerate(readable[name]) if i not in indices]
        kept[name] = [row for i, row in enumerate(kept.get(name, [])) if i not in indices]
    return readable, kept


# -- versions -------------------------------------------------------------------------------

def flat(data: Any, path: str = "") -> dict[str, str]:
    """A program's JSON form as path -> value text, for the diff view."""
    out: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flat(value, f"{path}.{key}" if path else key))
    elif isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        for index, value in enumerate(data):
            out.update(flat(value, f"{path}[{index}]"))
    elif isinstance(data, list):
        out[path] = ", ".join(str(v) for v in data) or "—"
    else:
        out[path] = "—" if data is None else str(data)
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(path, old, new, change) for every setting that differs, ignoring the version number."""
    a, b = flat(before), flat(after)
    changes = []
    for path in sorted(set(a) | set(b)):
        if path == "version" or a.get(path) == b.get(path):
            continue
        change = "added" if path not in a else "removed" if path not in b else "changed"
        changes.append((path, a.get(path, ""), b.get(path, ""), change))
    return changes


def decimal_text(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")
