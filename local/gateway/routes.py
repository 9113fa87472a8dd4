"""The template's Api and HttpApi events as one route table: path parameters, greedy
{proxy+}, ANY; the most specific route wins, an exact method before ANY, and an HTTP API's
$default route only when nothing else matches."""

import re
from dataclasses import dataclass

from local.app.model import DEFAULT_ROUTE, ApiEvent, AppModel


@dataclass
class Route:
    event: ApiEvent
    function: str
    pattern: re.Pattern
    literal_chars: int  # more literal characters = more specific


def _compile(path: str) -> tuple[re.Pattern, int]:
    if path == DEFAULT_ROUTE:
        return re.compile(r"/.*"), -1
    regex, literal = "", 0
    for segment in path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            regex += f"/(?P<{segment[1:-2]}>.+)"
        elif segment.startswith("{") and segment.endswith("}"):
            regex += f"/(?P<{segment[1:-1]}>[^/]+)"
        elif segment:
            regex += "/" + re.escape(segment)
            literal += len(segment) + 1
    return re.compile((regex or "/") + "$"), literal


class RouteTable:
    def __init__(self, model: AppModel):
        self.routes: list[Route] = []
        for name, spec in model.functions.items():
            for event in spec.api_events:
                pattern, literal = _compile(event.path)
                self.routes.append(Route(event, name, pattern, literal))
        self.routes.sort(key=lambda r: (-r.literal_chars, r.event.method == "ANY"))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for candidate in self.routes:
            if candidate.event.method not in (method, "ANY"):
                continue
            found = candidate.pattern.match(path)
            if found:
                return candidate, found.groupdict()
        return None

    def methods_at(self, path: str) -> list[str]:
        """Every method some route serves at this path (for CORS preflight answers)."""
        return sorted({r.event.method for r in self.routes if r.pattern.match(path)})

    def apis_at(self, path: str) -> list[str]:
        """The APIs with a route at this path other than a $default one, most specific first."""
        return list(dict.fromkeys(r.event.api for r in self.routes if r.literal_chars >= 0 and r.pattern.match(path)))
