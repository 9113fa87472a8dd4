"""EventBridge's event-pattern language (local/services/aws/event_pattern.py), case by case from
the EventBridge user guide's pages on event patterns, comparison operators, arrays and null
values, and event-ruler's README where the guide is silent; with the cases moto gets wrong
(arrays of objects, anything-but with a suffix)."""

import copy

import pytest

from local.services.aws.event_pattern import InvalidEventPattern, compile_pattern, compiled

EVENT = {
    "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": "111122223333",
    "time": "2017-10-02T18:43:48Z", "region": "eu-west-1",
    "resources": ["arn:aws:autoscaling:eu-west-1:111122223333:autoScalingGroup:x",
                  "arn:aws:ec2:eu-west-1:111122223333:instance/i-b188560f"],
    "detail": {"instance-id": "i-b188560f", "state": "running", "c-count": 5, "d-count": 3, "x-limit": 301.8,
               "source-ip": "10.0.0.33", "FileName": "photo.PNG", "FilePath": "/usr/lib/libc.so",
               "service": "EventBridge", "eventVersion": "", "responseElements": None, "enabled": True,
               "tags": ["blue", "green"]},
}


def event_with(**detail):
    changed = copy.deepcopy(EVENT)
    changed["detail"].update(detail)
    return changed


MATCHING = [
    # equals, and a list of values OR'ed; keys are AND'ed
    ({"source": ["aws.ec2"]}, EVENT, True),
    ({"source": ["aws.s3"]}, EVENT, False),
    ({"source": ["aws.ec2"], "detail": {"state": ["initializing", "running"]}}, EVENT, True),
    ({"source": ["aws.ec2"], "detail": {"state": ["stopped"]}}, EVENT, False),
    ({"detail": {"nothing-here": ["x"]}}, EVENT, False),
    # an event array matches when the intersection with the pattern's values is not empty
    ({"resources": ["arn:aws:ec2:eu-west-1:111122223333:instance/i-b188560f", "arn:other"]}, EVENT, True),
    ({"detail": {"tags": ["green"]}}, EVENT, True),
    ({"detail": {"tags": ["red"]}}, EVENT, False),
    # values keep their JSON type
    ({"detail": {"c-count": [5]}}, EVENT, True),
    ({"detail": {"c-count": ["5"]}}, EVENT, False),
    ({"detail": {"c-count": [5.0]}}, EVENT, False),  # Lambda's page: 300 and 300.0 differ
    ({"detail": {"enabled": [True]}}, EVENT, True),
    ({"detail": {"enabled": [1]}}, EVENT, False),
    ({"detail": {"c-count": [True]}}, event_with(**{"c-count": 1}), False),
    # null and the empty string are different values
    ({"detail": {"responseElements": [None]}}, EVENT, True),
    ({"detail": {"responseElements": [""]}}, EVENT, False),
    ({"detail": {"eventVersion": [""]}}, EVENT, True),
    ({"detail": {"eventVersion": [None]}}, EVENT, False),
    # prefix and suffix, on strings only, with or without case
    ({"time": [{"prefix": "2017-10-02"}]}, EVENT, True),
    ({"region": [{"prefix": "us-"}]}, EVENT, False),
    ({"detail": {"c-count": [{"prefix": "5"}]}}, EVENT, False),
    ({"detail": {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}}, EVENT, True),
    ({"detail": {"service": [{"prefix": "eventb"}]}}, EVENT, False),
    ({"detail": {"FileName": [{"suffix": ".png"}]}}, EVENT, False),
    ({"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}, EVENT, True),
    ({"detail": {"service": [{"suffix": {"equals-ignore-case": "TBRIDGE"}}]}}, EVENT, True),
    ({"detail": {"service": [{"equals-ignore-case": "eventbridge"}]}}, EVENT, True),
    ({"detail": {"service": [{"equals-ignore-case": "event"}]}}, EVENT, False),
    # anything-but: a value, a list of strings or numbers, prefix, suffix, ignore-case, wildcard
    ({"detail": {"state": [{"anything-but": "initializing"}]}}, EVENT, True),
    ({"detail": {"state": [{"anything-but": "running"}]}}, EVENT, False),
    ({"detail": {"x-limit": [{"anything-but": 123}]}}, EVENT, True),
    ({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, event_with(state="stopped"), False),
    ({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}, event_with(**{"x-limit": 200}), False),
    ({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}, EVENT, True),
    ({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, event_with(state="initializing"), False),
    ({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, EVENT, True),
    ({"detail": {"FileName": [{"anything-but": {"suffix": ".PNG"}}]}}, EVENT, False),
    ({"detail": {"FileName": [{"anything-but": {"suffix": "y"}}]}}, event_with(FileName="xz"), True),  # moto: no
    ({"detail": {"state": [{"anything-but": {"equals-ignore-case": "RUNNING"}}]}}, EVENT, False),
    ({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["stopped", "x"]}}]}}, EVENT, True),
    ({"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}}, EVENT, False),
    ({"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}}, event_with(FilePath="/usr/bin/x"), True),
    ({"detail": {"missing": [{"anything-but": "x"}]}}, EVENT, False),  # a value must be there
    # numeric: numbers only, and every comparison must hold
    ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}],
                 "x-limit": [{"numeric": ["=", 3.018e2]}]}}, EVENT, True),
    ({"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}}, EVENT, False),
    ({"detail": {"c-count": [{"numeric": [">=", 5]}]}}, event_with(**{"c-count": "5"}), False),
    ({"detail": {"c-count": [{"numeric": [">", 0]}]}}, event_with(**{"c-count": True}), False),
    ({"detail": {"c-count": [{"numeric": [">", 0]}]}}, event_with(**{"c-count": 10 ** 400}), False),
    # IP addresses, v4 and v6
    ({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, EVENT, True),
    ({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}, EVENT, False),
    ({"detail": {"source-ip": [{"cidr": "2001:db8::/32"}]}}, event_with(**{"source-ip": "2001:db8::7"}), True),
    ({"detail": {"source-ip": [{"cidr": "10.0.0.0/8"}]}}, event_with(**{"source-ip": "not an address"}), False),
    # exists works on leaves: an object is not a value
    ({"detail": {"state": [{"exists": True}]}}, EVENT, True),
    ({"detail": {"responseElements": [{"exists": True}]}}, EVENT, True),
    ({"detail": {"missing": [{"exists": True}]}}, EVENT, False),
    ({"detail": {"missing": [{"exists": False}]}}, EVENT, True),
    ({"detail": {"state": [{"exists": False}]}}, EVENT, False),
    ({"detail": {"c-count": [{"exists": False}]}}, event_with(**{"c-count": {"c1": 100}}), True),
    ({"detail": {"c-count": [{"exists": True}]}}, event_with(**{"c-count": {"c1": 100}}), False),
    ({"detail": {"state": ["stopped", {"exists": False}]}}, EVENT, False),
    # wildcard: * for any run of characters, \* for a star
    ({"source": [{"wildcard": "aws.*"}]}, EVENT, True),
    ({"detail": {"FileName": [{"wildcard": "dir/*.png"}]}}, event_with(FileName="dir/a/b.png"), True),
    ({"detail": {"FileName": [{"wildcard": "dir/*.png"}]}}, event_with(FileName="other/a.png"), False),
    ({"detail": {"FileName": [{"wildcard": "a\\*b"}]}}, event_with(FileName="a*b"), True),
    ({"detail": {"FileName": [{"wildcard": "a\\*b"}]}}, event_with(FileName="axb"), False),
    ({"detail": {"FileName": [{"wildcard": "*.png"}]}}, event_with(FileName=7), False),
    # $or, at the top and nested
    ({"source": ["aws.ec2"], "$or": [{"detail": {"c-count": [9]}}, {"detail": {"state": ["running"]}}]}, EVENT, True),
    ({"source": ["aws.ec2"], "$or": [{"detail": {"c-count": [9]}}, {"region": ["us-east-1"]}]}, EVENT, False),
    ({"detail": {"$or": [{"c-count": [{"numeric": [">", 4]}]}, {"d-count": [0]}],
                 "$or2": [{"exists": False}]}}, EVENT, True),
    # keys with dots match the same path spelled out, both ways
    ({"detail": {"state.status": ["running"]}}, event_with(state={"status": "running"}), True),
    ({"detail": {"state": {"status": ["running"]}}}, event_with(**{"state.status": "running"}), True),
    # arrays of objects: fields must match within one element
    ({"detail": {"items": {"k": ["v"]}}}, event_with(items=[{"k": "v"}]), True),  # moto: no
    ({"detail": {"items": {"k": ["v"], "n": [2]}}}, event_with(items=[{"k": "v", "n": 1}, {"k": "w", "n": 2}]), False),
    ({"detail": {"items": {"k": ["v"], "n": [2]}}}, event_with(items=[{"k": "w", "n": 1}, {"k": "v", "n": 2}]), True),
    ({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}},
     {"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"},
                    {"firstName": "Peter", "lastName": "Jones"}]}, True),
    ({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}},
     {"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"},
                    {"firstName": "Peter", "lastName": "Jones"}]}, False),
    ({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}},
     {"employees": [[{"firstName": "John"}, {"firstName": "Anna", "lastName": "Smith"}],
                    [{"lastName": "Jones"}]]}, True),
    ({"o": {"a": ["x"], "tags": ["t2"]}}, {"o": [{"a": "x", "tags": ["t1", "t2"]}, {"a": "y", "tags": ["t3"]}]}, True),
    ({"o": {"a": ["y"], "tags": ["t2"]}}, {"o": [{"a": "x", "tags": ["t1", "t2"]}, {"a": "y", "tags": ["t3"]}]}, False),
    ({"o": {"$or": [{"a": ["y"], "tags": ["t3"]}, {"a": ["z"]}]}},
     {"o": [{"a": "x"}, {"a": "y", "tags": ["t3"]}]}, True),
    # an empty pattern matches every event; only objects are events
    ({}, EVENT, True),
    ({"source": ["aws.ec2"]}, ["aws.ec2"], False),
]


@pytest.mark.parametrize("pattern, event, expected", MATCHING)
def test_a_pattern_matches_as_eventbridge_does(pattern, event, expected):
    assert compile_pattern(pattern).matches(event) is expected


def test_a_pattern_is_compiled_from_its_text_once():
    text = '{"source": ["aws.ec2"]}'
    assert compiled(text) is compiled(text)
    assert compiled(text).matches(EVENT)


INVALID = [
    ("{not json", "Invalid JSON"),
    ('["source"]', "Filter is not an object"),
    ({"source": "aws.ec2"}, "'source' must be an object or an array"),
    ({"source": []}, "Empty arrays are not allowed"),
    ({"source": [["aws.ec2"]]}, "Match value must be"),
    ({"source": [{"regex": "a.*"}]}, "Unrecognized match type regex"),
    ({"source": [{"prefix": "a", "suffix": "b"}]}, "Only one key"),
    ({"source": [{"prefix": 5}]}, "prefix match pattern must be"),
    ({"source": [{"suffix": {"ignore-case": "x"}}]}, "suffix match pattern must be"),
    ({"source": [{"equals-ignore-case": 1}]}, "equals-ignore-case match pattern must be a string"),
    ({"n": [{"numeric": [">", "5"]}]}, "Value of > must be numeric"),
    ({"n": [{"numeric": ["~", 5]}]}, "Unrecognized numeric range operator"),
    ({"n": [{"numeric": [">", 5, "<"]}]}, "numeric must be a list"),
    ({"n": [{"numeric": ["<", 5, ">", 1]}]}, "lower bound"),
    ({"n": [{"numeric": [">", 5, "<", 1]}]}, "Bottom must be less than top"),
    ({"n": [{"exists": "yes"}]}, "exists match pattern must be either true or false"),
    ({"ip": [{"cidr": "10.0.0.0"}]}, "Malformed CIDR"),
    ({"ip": [{"cidr": "10.0.0.300/24"}]}, "Nonstandard IP address"),
    ({"f": [{"wildcard": "a**b"}]}, "Consecutive wildcard characters"),
    ({"f": [{"wildcard": "a\\b"}]}, "Invalid escape character"),
    ({"s": [{"anything-but": ["a", 1]}]}, "only strings or only numbers"),
    ({"s": [{"anything-but": None}]}, "anything-but must be"),
    ({"s": [{"anything-but": {"numeric": [">", 1]}}]}, "anything-but takes"),
    ({"s": [{"anything-but": {"prefix": 1}}]}, "prefix match pattern must be a string"),
    ({"$or": [{"a": ["x"]}]}, "$or must be an array of at least 2"),
    ({"$or": [{"a": ["x"]}, "b"]}, "$or must be an array of at least 2"),
]


@pytest.mark.parametrize("pattern, reason", INVALID)
def test_a_pattern_putrule_refuses_is_refused_with_its_reason(pattern, reason):
    with pytest.raises(InvalidEventPattern, match=reason.replace("$", r"\$").replace("*", r"\*")):
        compile_pattern(pattern)
