"""SNS subscription filter policies, matched by moto's matcher: the one the embedded AWS
endpoint itself applies when SNS delivers to SQS, so a topic's Redis fallback filters
exactly as its SNS path does. It covers AWS's grammar: exact values, prefix, suffix,
anything-but, numeric ranges, exists and `$or`, on message attributes or
on the body (FilterPolicyScope). moto is pinned (pyproject.toml).

The matcher is imported on the first match, not before: importing moto takes about a second,
which every start of the event runner (and so of `local up`) would otherwise wait for, and
most runs never use the fallback."""


class FilterPolicy:
    def __init__(self, policy: dict | None, scope: str | None = None):
        self.policy, self.scope = policy or {}, scope
        self._matcher = None

    def matches(self, attributes: dict[str, str], body: str = "") -> bool:
        """`attributes`: string message attributes, by name."""
        if not self.policy:
            return True
        if self._matcher is None:
            from moto.sns.utils import FilterPolicyMatcher

            self._matcher = FilterPolicyMatcher(self.policy, self.scope)
        typed = {name: {"Type": "String", "Value": value} for name, value in attributes.items()}
        return self._matcher.matches(typed, body)
