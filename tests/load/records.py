"""The answers the load's users wrote down (tests/load/locustfile.py), read back: what the API
acknowledged for each product and recipe, and the counts the figures table shows."""

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# The event each acknowledged write must have left in the outbox, by (method, route).
EVENT_TYPES = {
    ("POST", "/products"): "product.created",
    ("PUT", "/products/{id}"): "product.updated",
    ("POST", "/recipes"): "recipe.created",
    ("PUT", "/recipes/{id}"): "recipe.updated",
    ("PUT", "/recipes/{id}/items/{product_id}"): "recipe.item_changed",
    ("DELETE", "/recipes/{id}"): "recipe.deleted",
}


@dataclass
class Resource:
    """One product or recipe as the API's acknowledgements describe it."""

    kind: str
    id: int
    version: int = 0  # the highest version a 2xx write answered
    deleted: bool = False  # a DELETE was answered 2xx
    # A write whose outcome nobody knows (a 5xx, a connection dropped): it may or may not
    # have been applied, so a row that is missing (after a DELETE) or ahead is no proof of loss.
    uncertain_delete: bool = False
    events: list[tuple[str, int | None]] = field(default_factory=list)  # (type, version) acknowledged


@dataclass
class Ledger:
    entries: list[dict]
    resources: dict[tuple[str, int], Resource]

    @property
    def writes_acknowledged(self) -> int:
        return sum(1 for e in self.entries if e["method"] != "GET" and e["outcome"] == "ok")

    def by_class(self) -> Counter:
        return Counter(_status_class(e["status"]) for e in self.entries)

    def by_outcome(self) -> Counter:
        return Counter(e["outcome"] for e in self.entries)

    def unexpected(self) -> Counter:
        """Unexpected answers by kind: status and error code."""
        return Counter(f"{e['status']} {e.get('code')}" for e in self.entries if e["outcome"] == "unexpected")

    def expected(self) -> Counter:
        return Counter(f"{e['status']} {e.get('code')}" for e in self.entries
                       if e["outcome"] in ("expected", "throttled"))

    def latency_ms(self, quantile: float) -> float:
        values = sorted(e["ms"] for e in self.entries if e["status"])
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(quantile * len(values)))]


def _status_class(status: int) -> str:
    return "connection error" if not status else f"{status // 100}xx"


def read(paths: list[Path]) -> Ledger:
    entries = []
    for path in paths:
        with open(path) as handle:
            entries += [json.loads(line) for line in handle if line.strip()]
    entries.sort(key=lambda e: e["t"])
    resources: dict[tuple[str, int], Resource] = {}
    for entry in entries:
        if entry["method"] == "GET" or entry.get("id") is None:
            continue
        key = (entry["kind"], entry["id"])
        resource = resources.setdefault(key, Resource(entry["kind"], entry["id"]))
        if entry["outcome"] == "ok":
            version = entry.get("version")
            if version == "deleted":
                resource.deleted = True
            elif isinstance(version, int):
                resource.version = max(resource.version, version)
            # A deleted row's event carries the version it had: the one If-Match named.
            resource.events.append((EVENT_TYPES[(entry["method"], entry["name"])],
                                    entry.get("if_match") if version == "deleted" else version))
        elif entry["method"] == "DELETE" and entry["outcome"] == "unexpected":
            resource.uncertain_delete = True
    return Ledger(entries, resources)
