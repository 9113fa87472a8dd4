"""The shared layer's request parsing and its one place where errors become HTTP answers."""

import json
import logging

import pytest

from cloudpatterns.errors import BadRequest, Conflict, NotFound
from cloudpatterns.http import Request, Response, api_handler, parse_etag
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
    assert (request.path_int("id"), request.query_int("limit", 20, 100), request.if_match()) == (12, 5, 3)
    assert request.json() == {"a": 1} and request.header("if-match") == '"3"'
    assert request.principal == "anonymous"
    with pytest.raises(BadRequest):
        request.query_int("limit", 20, 4)
    with pytest.raises(BadRequest):
        Request({**EVENT, "body": "{nope"}).json()
    with pytest.raises(BadRequest):
        parse_etag('"abc"')
    assert parse_etag('W/"7"') == 7


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
