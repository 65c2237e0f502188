"""Frozen dataclasses <-> JSON-ready values, driven by their type hints. Standard library only.

Used by `integration.program` for the program's stored and API form. Decimals travel as strings
(exact; a JSON float would round), datetimes as ISO 8601 with their offset, tuples as lists.
Decoding collects every problem as `(dotted.path[2].field, message)` instead of stopping at the
first, so that a settings page can show them all. Supported hints: bool, int, str, Decimal,
datetime, `X | None`, `tuple[X, ...]` and nested dataclasses.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields, is_dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import NoneType, UnionType
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

T = TypeVar("T")


def encode(value: Any) -> Any:
    """A dataclass (or any supported value) as dicts, lists, strings, numbers, booleans, None."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple):
        return [encode(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def decode(data: Any, cls: type[T]) -> tuple[T, list[tuple[str, str]]]:
    """`cls` read from `data` and the problems found; the value is meaningless if there are any.
    Missing keys with a default take it; missing keys without one and unknown keys are problems."""
    problems: list[tuple[str, str]] = []
    return _decode_dataclass(data, cls, "", problems), problems


_INVALID: Any = object()


def _whole_number(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    raise TypeError


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, Decimal | int | str):
        number = Decimal(value.strip() if isinstance(value, str) else value)
    elif isinstance(value, float):
        number = Decimal(str(value))  # the float's shortest repr, not its binary expansion
    else:
        raise TypeError
    if not number.is_finite():
        raise ValueError
    return number


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TypeError


def _exactly(kind: type) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if not isinstance(value, kind):
            raise TypeError
        return value
    return parse


_SCALARS: dict[Any, tuple[Callable[[Any], Any], str]] = {
    bool: (_exactly(bool), "not true or false"),
    str: (_exactly(str), "not text"),
    int: (_whole_number, "not a whole number"),
    Decimal: (_number, "not a number"),
    datetime: (_moment, "not an ISO 8601 date-time"),
}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _decode(value: Any, hint: Any, path: str, problems: list[tuple[str, str]]) -> Any:
    if get_origin(hint) is UnionType:  # "X | None" is the only union the program uses
        if value is None:
            return None
        hint = next(arg for arg in get_args(hint) if arg is not NoneType)
    if get_origin(hint) is tuple:
        if not isinstance(value, list | tuple):
            problems.append((path, "not a list"))
            return _INVALID
        item = get_args(hint)[0]
        return tuple(_decode(v, item, f"{path}[{i}]", problems) for i, v in enumerate(value))
    if is_dataclass(hint):
        return _decode_dataclass(value, hint, path, problems)
    parse, message = _SCALARS[hint]
    try:
        return parse(value)
    except (TypeError, ValueError, InvalidOperation):
        problems.append((path, message))
        return _INVALID


def _decode_dataclass(value: Any, cls: Any, path: str, problems: list[tuple[str, str]]) -> Any:
    if not isinstance(value, Mapping):
        problems.append((path, "not an object"))
        return _INVALID
    before = len(problems)
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in value:
            values[f.name] = _decode(value[f.name], hints[f.name], _join(path, f.name), problems)
        elif f.default is MISSING and f.default_factory is MISSING:
            problems.append((_join(path, f.name), "required"))
    known = {f.name for f in fields(cls)}
    problems.extend((_join(path, str(key)), "unknown setting") for key in value if key not in known)
    return cls(**values) if len(problems) == before else _INVALID
