"""The shared layer's request parsing and its one place where errors become HTTP answers."""

import json
import logging

import pytest
from cloudpatterns.errors import BadRequest, Conflict, NotFound
from cloudpatterns.http import Request, Response, api_handler, parse_if_match
from cloudpatterns.pagination import decode_cursor, encode_cursor, page

EVENT = {"httpMethod": "POST", "path": "/x", "requestContext": {"requestId": "req-1"},
         "headers": {"If-Match": '"3"', "Content-Type": "application/json"}, "pathParameters": {"id": "12"}, "queryStringParameters": {"limit": "5"},
         "body": '{"a": 1}', "isBase64Encoded": False}


def test_project_errors_map_to_their_status_and_unknown_ones_to_a_bare_500(caplog):
    @api_handler
    def handler(request, context):
        raise request.event["error"]

    missing = handler({**EVENT, "error": NotFound("recipe 7 not found")}, None)
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"]) == {"error": {"code": "not_found", "message": "recipe 7 not found",
                                                     "details": None}, "requestId": "req-1"}
    conflict = handler({**EVENT, "error": Conflict("taken", details={"name": "Flour"})}, None)
    assert (conflict["statusCode"], json.loads(conflict["body"])["error"]["details"]) == (409, {"name": "Flour"})

    with caplog.at_level(logging.ERROR):
        crashed = handler({**EVENT, "error": KeyError("db password is hunter2")}, None)
    assert crashed["statusCode"] == 500
    assert "hunter2" not in crashed["body"]
    assert "hunter2" in caplog.text  # the detail goes to the log only


def test_request_accessors():
    request = Request(EVENT)
    assert (request.path_int("id"), request.query_int("limit", 20, 100), request.if_match()) == (12, 5, [3])
    assert request.json() == {"a": 1} and request.header("if-match") == '"3"'
    assert request.principal == "anonymous"
    with pytest.raises(BadRequest):
        request.query_int("limit", 20, 4)
    with pytest.raises(BadRequest):
        Request({**EVENT, "body": "{nope"}).json()


@pytest.mark.parametrize("header, versions", [
    ('"7"', [7]),
    ("*", None),  # any current version
    ('"1", "2"', [1, 2]),
    (' "1" ,, "a,b" ', [1]),  # empty list elements are ignored; a comma may sit inside a tag
    ('"stale-version"', []),  # well-formed, never issued here: matches nothing, so 412
    ('W/"7"', []),  # If-Match compares strongly: a weak tag never matches
    ('"99999999999"', []),  # beyond any version this API can reach
    ('""', []),
])
def test_if_match_is_a_list_of_entity_tags_compared_strongly(header, versions):
    assert parse_if_match(header) == versions


@pytest.mark.parametrize("header", ["7", '"7', '"7" "8"', "", ",", '"7"x', "W/7", '"a"b"'])
def test_if_match_that_is_not_entity_tag_syntax_is_a_400(header):
    with pytest.raises(BadRequest):
        parse_if_match(header)


def test_a_nul_character_anywhere_in_the_input_is_a_400_before_the_handler_runs():
    @api_handler
    def handler(request, context):
        return Response(200, {"ran": True})

    for event in ({**EVENT, "queryStringParameters": {"name": "a\x00b"}},
                  {**EVENT, "pathParameters": {"id": "1\x00"}},
                  {**EVENT, "body": '{"a": [{"b": "x\\u0000"}]}'},
                  {**EVENT, "body": '{"a\\u0000": 1}'}):
        answer = handler(event, None)
        assert answer["statusCode"] == 400 and "NUL" in json.loads(answer["body"])["error"]["message"], event
    assert handler({**EVENT, "body": '{"a": "\\\\u0000 is only text"}'}, None)["statusCode"] == 200


def test_responses():
    response = Response(201, {"id": 1}, {"ETag": '"1"'}).to_proxy()
    assert response == {"statusCode": 201, "headers": {"Content-Type": "application/json", "ETag": '"1"'},
                        "body": '{"id":1}', "isBase64Encoded": False}
    assert Response(204).to_proxy()["body"] == ""


def test_cursors_round_trip_and_reject_tampering():
    assert decode_cursor(encode_cursor({"after": 41}), {"after"}) == {"after": 41}
    for bad in ("%%%", encode_cursor({"before": 1}), encode_cursor([1])):
        with pytest.raises(BadRequest):
            decode_cursor(bad, {"after"})
    rows = [{"id": i} for i in range(1, 5)]
    assert page(rows, 3, lambda r: {"after": r["id"]}) == (rows[:3], encode_cursor({"after": 3}))
    assert page(rows[:2], 3, lambda r: {"after": r["id"]}) == (rows[:2], None)


def test_an_unexpected_exception_is_logged_with_its_traceback_and_request_id_in_the_functions_log(
        make_function, runtime_of):
    """Through the real runtime: the function's log (what `local up` prints and Lambda sends
    to CloudWatch) has the error line with the request id, then the whole traceback."""
    runtime = runtime_of(make_function("Crashing", """
        from cloudpatterns.http import api_handler

        @api_handler
        def handler(request, context):
            return {"no": "such key"}["surprise"]
    """))
    outcome = runtime.invoke("Crashing", {"httpMethod": "PUT", "path": "/recipes/1",
                                          "requestContext": {"requestId": "api-request-1"}})
    assert outcome.payload["statusCode"] == 500
    assert json.loads(outcome.payload["body"])["error"]["code"] == "internal_error"
    log = "\n".join(outcome.log)
    error_line = next(line for line in outcome.log if line.startswith("[ERROR]"))
    assert outcome.request_id in error_line and "unhandled error answering PUT /recipes/1 (request api-request-1)" \
        in error_line
    assert "Traceback (most recent call last):" in log and "KeyError: 'surprise'" in log
