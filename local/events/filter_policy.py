"""SNS subscription filter policies, matched by moto's matcher: the one the embedded AWS
endpoint itself applies when SNS delivers to SQS, so a topic's Redis fallback filters
exactly as its SNS path does. It covers AWS's grammar: exact values, prefix, suffix,
anything-but, numeric ranges, exists and `$or`, on message attributes or
on the body (FilterPolicyScope). moto is pinned (pyproject.toml)."""

from moto.sns.utils import FilterPolicyMatcher


class FilterPolicy:
    def __init__(self, policy: dict | None, scope: str | None = None):
        self._matcher = FilterPolicyMatcher(policy or {}, scope)

    def matches(self, attributes: dict[str, str], body: str = "") -> bool:
        """`attributes`: string message attributes, by name."""
        typed = {name: {"Type": "String", "Value": value} for name, value in attributes.items()}
        return self._matcher.matches(typed, body)
