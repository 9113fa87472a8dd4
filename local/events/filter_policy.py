"""SNS subscription filter policies, matched by moto's matcher with the endpoint's fixes to it
(local/services/aws/sns_lambda.py: cidr, equals-ignore-case, String.Array, exists): the one
the embedded AWS endpoint itself applies when SNS delivers, so a topic's Redis fallback
filters exactly as its SNS path does. It covers AWS's grammar: exact values, prefix, suffix,
anything-but, numeric ranges, exists, cidr and `$or`, on message attributes or on the body
(FilterPolicyScope). moto is pinned (pyproject.toml).

The matcher is imported on the first match, not before: importing moto takes about a second,
which every start of the event runner (and so of `local up`) would otherwise wait for, and
most runs never use the fallback."""

import threading

_fixed = threading.Lock()
_fixes_applied = False


def _matcher_class():
    global _fixes_applied
    from moto.sns.utils import FilterPolicyMatcher

    with _fixed:
        if not _fixes_applied:
            from local.services.aws.sns_lambda import apply_filter_fixes
            from local.services.aws.targets import patch

            apply_filter_fixes(patch)
            _fixes_applied = True
    return FilterPolicyMatcher


class FilterPolicy:
    def __init__(self, policy: dict | None, scope: str | None = None):
        self.policy, self.scope = policy or {}, scope
        self._matcher = None

    def matches(self, attributes: dict[str, str], body: str = "") -> bool:
        """`attributes`: string message attributes, by name."""
        if not self.policy:
            return True
        if self._matcher is None:
            self._matcher = _matcher_class()(self.policy, self.scope)
        typed = {name: {"Type": "String", "Value": value} for name, value in attributes.items()}
        return self._matcher.matches(typed, body)
