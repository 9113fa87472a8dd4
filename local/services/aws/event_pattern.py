"""EventBridge's event-pattern language: a pattern is compiled once (and so validated, as
PutRule validates it), then matched against events; Lambda's FilterCriteria use the same
language (filter_criteria.py). Pure Python, no moto: the endpoint and the event runner import it.

It follows the EventBridge user guide's pages on event patterns, content filtering, arrays and
null values, and aws/event-ruler's README (the engine behind EventBridge) where the guide is
silent: pattern and event are both seen as dotted paths to leaf values (so a key containing
dots matches the same nesting spelled out); a leaf matches when any of its values does, and an
event array when any element does, but fields under objects in different elements of one array
never match together (moto's flattening gets this wrong); `exists` looks at leaves only.
"""

import ipaddress
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache

_NUMERIC_OPERATORS = ("=", "<", "<=", ">", ">=")


class InvalidEventPattern(ValueError):
    """A pattern PutRule (or CreateEventSourceMapping) refuses; the message says why."""


@dataclass(frozen=True)
class _Leaf:
    path: str
    tests: tuple  # a value matches when any test passes
    absent_ok: bool  # {"exists": false} is among the values: a missing field matches


@dataclass(frozen=True)
class _Or:
    alternatives: tuple  # of tuples of items, each one a conjunction


class Pattern:
    """A compiled pattern: `matches(event)` for a parsed JSON event (a dict)."""

    def __init__(self, items: tuple):
        self._items = items
        paths = set()
        _collect_paths(items, paths)
        # every dotted prefix of a path the pattern names: flattening skips the rest of the event
        self._prefixes = frozenset(".".join(path.split(".")[:n]) for path in paths
                                   for n in range(1, path.count(".") + 2))

    def matches(self, event) -> bool:
        if not isinstance(event, dict):
            return False
        leaves: dict[str, list] = {}
        _flatten(event, "", (), leaves, self._prefixes, [0])
        return _solve(self._items, leaves, {})


def compile_pattern(pattern) -> Pattern:
    """A pattern given as JSON text or as a parsed dict; InvalidEventPattern when it is not one."""
    if isinstance(pattern, (str, bytes)):
        try:
            pattern = json.loads(pattern)
        except ValueError as error:
            raise InvalidEventPattern(f"Invalid JSON: {error}") from None
    if not isinstance(pattern, dict):
        raise InvalidEventPattern("Filter is not an object")
    return Pattern(_conjunction(pattern, ""))


@lru_cache(maxsize=1024)
def compiled(text: str) -> Pattern:
    """compile_pattern for pattern text, remembered: rules and filters are matched many times."""
    return compile_pattern(text)


# -- compiling ---------------------------------------------------------------------------


def _conjunction(node: dict, prefix: str) -> tuple:
    items = []
    for key, value in node.items():
        if key == "$or" and isinstance(value, list):
            if len(value) < 2 or not all(isinstance(alt, dict) and alt for alt in value):
                raise InvalidEventPattern("$or must be an array of at least 2 non-empty objects")
            items.append(_Or(tuple(_conjunction(alt, prefix) for alt in value)))
            continue
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            items.extend(_conjunction(value, path))
        elif isinstance(value, list):
            if not value:
                raise InvalidEventPattern("Empty arrays are not allowed")
            tests = tuple(_value_test(entry, key) for entry in value)
            absent_ok = any(isinstance(entry, dict) and entry.get("exists") is False for entry in value)
            items.append(_Leaf(path, tuple(test for test in tests if test is not None), absent_ok))
        else:
            raise InvalidEventPattern(f"'{key}' must be an object or an array")
    return tuple(items)


def _value_test(entry, key: str):
    """A test of one event value for one entry of a pattern's value list; None for exists:false."""
    if isinstance(entry, dict):
        if len(entry) != 1:
            raise InvalidEventPattern(f"Only one key allowed in a match expression, in '{key}'")
        (name, argument), = entry.items()
        return _operator(name, argument)
    if isinstance(entry, list):
        raise InvalidEventPattern(f"Match value must be String, number, true, false, or null, in '{key}'")
    return _equals(entry)


def _equals(expected):
    if _is_number(expected):
        # Numbers compare by value and by their kind (int or float): the Lambda event filtering
        # page says 300 and 300.0 are not the same; numeric ranges are the way to compare values.
        return lambda value: _is_number(value) and type(value) is type(expected) and value == expected
    return lambda value: type(value) is type(expected) and value == expected


def _operator(name: str, argument):
    if name in ("prefix", "suffix"):
        return _affix(name, argument)
    if name == "equals-ignore-case":
        folded = _strings(name, argument)
        return lambda value: isinstance(value, str) and value.lower() in folded
    if name == "wildcard":
        regexes = [_wildcard(text) for text in _strings(name, argument)]
        return lambda value: isinstance(value, str) and any(regex.fullmatch(value) for regex in regexes)
    if name == "anything-but":
        excluded = _anything_but(argument)
        return lambda value: not excluded(value)
    if name == "numeric":
        return _numeric(argument)
    if name == "exists":  # true: any leaf value, null included; false: handled as absent_ok
        if not isinstance(argument, bool):
            raise InvalidEventPattern("exists match pattern must be either true or false.")
        return (lambda value: True) if argument else None
    if name == "cidr":
        return _cidr(argument)
    raise InvalidEventPattern(f"Unrecognized match type {name}")


def _affix(name: str, argument):
    ignore_case = isinstance(argument, dict) and set(argument) == {"equals-ignore-case"}
    text = argument["equals-ignore-case"] if ignore_case else argument
    if not isinstance(text, str):
        raise InvalidEventPattern(f"{name} match pattern must be a string or an equals-ignore-case object")
    if ignore_case:
        text = text.lower()
    check = str.startswith if name == "prefix" else str.endswith
    return lambda value: isinstance(value, str) and check(value.lower() if ignore_case else value, text)


def _strings(name: str, argument) -> list[str]:
    """A string, or for equals-ignore-case and wildcard a non-empty list of strings."""
    values = argument if isinstance(argument, list) else [argument]
    if not values or not all(isinstance(value, str) for value in values):
        raise InvalidEventPattern(f"{name} match pattern must be a string")
    return [value.lower() for value in values] if name == "equals-ignore-case" else values


def _wildcard(text: str) -> re.Pattern:
    """`*` matches any run of characters; `\\*` a star and `\\\\` a backslash; nothing else may
    be escaped, and two stars may not follow each other (event-ruler's rules)."""
    parts, position = [], 0
    while position < len(text):
        char = text[position]
        if char == "\\":
            following = text[position + 1:position + 2]
            if following not in ("*", "\\"):
                raise InvalidEventPattern(f"Invalid escape character at position {position} of wildcard '{text}'")
            parts.append(re.escape(following))
            position += 2
            continue
        if char == "*":
            if text[position + 1:position + 2] == "*":
                raise InvalidEventPattern(f"Consecutive wildcard characters at position {position} of '{text}'")
            parts.append(".*")
        else:
            parts.append(re.escape(char))
        position += 1
    return re.compile("".join(parts), re.DOTALL)


def _anything_but(argument):
    """What anything-but excludes: a value, a list of strings or numbers, or an expression."""
    if isinstance(argument, dict):
        if len(argument) != 1 or next(iter(argument)) not in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
            raise InvalidEventPattern("anything-but takes a value, a list, or one of prefix, suffix, "
                                      "equals-ignore-case and wildcard")
        return _operator(*next(iter(argument.items())))
    values = argument if isinstance(argument, list) else [argument]
    strings = all(isinstance(value, str) for value in values)
    if not values or not (strings or all(_is_number(value) for value in values)):
        raise InvalidEventPattern("anything-but must be a string or a number, "
                                  "or a list of only strings or only numbers")
    tests = [_equals(value) if strings else _numeric(["=", value]) for value in values]
    return lambda value: any(test(value) for test in tests)


def _numeric(argument):
    if not isinstance(argument, list) or len(argument) not in (2, 4):
        raise InvalidEventPattern("numeric must be a list of one or two operator and value pairs")
    pairs = list(zip(argument[::2], argument[1::2]))
    for operator, bound in pairs:
        if operator not in _NUMERIC_OPERATORS:
            raise InvalidEventPattern(f"Unrecognized numeric range operator: {operator}")
        if not _is_number(bound) or not math.isfinite(bound):
            raise InvalidEventPattern(f"Value of {operator} must be numeric")
    if len(pairs) == 2 and (pairs[0][0] not in (">", ">=") or pairs[1][0] not in ("<", "<=")):
        raise InvalidEventPattern("A numeric range is a lower bound (> or >=) then an upper bound (< or <=)")
    if len(pairs) == 2 and pairs[0][1] >= pairs[1][1]:
        raise InvalidEventPattern("Bottom must be less than top")
    compare = {"=": float.__eq__, "<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}
    checks = [(compare[operator], float(bound)) for operator, bound in pairs]

    def in_range(value) -> bool:
        if not _is_number(value):
            return False  # numbers only: "5" is a string, never in a range
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a double is outside every range
            return False
        return all(check(number, bound) for check, bound in checks)
    return in_range


def _cidr(argument):
    if not isinstance(argument, str) or "/" not in argument:
        raise InvalidEventPattern(f"Malformed CIDR, one '/' required: {argument!r}")
    try:
        network = ipaddress.ip_network(argument, strict=False)
    except ValueError:
        raise InvalidEventPattern(f"Nonstandard IP address: {argument}") from None

    def within(value) -> bool:
        try:
            return isinstance(value, str) and ipaddress.ip_address(value) in network
        except ValueError:  # not an IP address: outside every network
            return False
    return within


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _collect_paths(items: tuple, paths: set) -> None:
    for item in items:
        if isinstance(item, _Or):
            for alternative in item.alternatives:
                _collect_paths(alternative, paths)
        else:
            paths.add(item.path)


# -- matching ----------------------------------------------------------------------------


def _flatten(node, path: str, membership: tuple, leaves: dict, prefixes: frozenset, counter: list) -> None:
    """Leaf values by dotted path, each with the array elements it sits in: (array id, index)
    pairs, so that fields can be told apart when they come from different elements."""
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if path else key
            if child in prefixes:
                _flatten(value, child, membership, leaves, prefixes, counter)
    elif isinstance(node, list):
        counter[0] += 1
        array = counter[0]
        for index, element in enumerate(node):
            _flatten(element, path, membership + ((array, index),), leaves, prefixes, counter)
    else:
        leaves.setdefault(path, []).append((node, membership))


def _solve(items: tuple, leaves: dict, chosen: dict) -> bool:
    """Whether every item matches with one choice of values whose array elements agree."""
    if not items:
        return True
    item, rest = items[0], items[1:]
    if isinstance(item, _Or):
        return any(_solve(alternative + rest, leaves, chosen) for alternative in item.alternatives)
    values = leaves.get(item.path)
    if not values:
        return item.absent_ok and _solve(rest, leaves, chosen)
    for value, membership in values:
        if not any(test(value) for test in item.tests):
            continue
        if any(chosen.get(array, index) != index for array, index in membership):
            continue
        extended = {**chosen, **dict(membership)} if membership else chosen
        if _solve(rest, leaves, extended):
            return True
    return False
