"""The shared layer's one place where errors become HTTP answers."""

import json
import logging

from cloudpatterns.errors import Conflict, NotFound
from cloudpatterns.http import api_handler, json_response


def test_project_errors_map_to_their_status_and_unknown_ones_to_a_bare_500(caplog):
    @api_handler
    def handler(event, context):
        raise event["error"]

    missing = handler({"error": NotFound("recipe 7 not found")}, None)
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"]) == {"error": "not_found", "message": "recipe 7 not found"}
    conflict = handler({"error": Conflict("taken", details={"name": "Flour"})}, None)
    assert (conflict["statusCode"], json.loads(conflict["body"])["details"]) == (409, {"name": "Flour"})

    with caplog.at_level(logging.ERROR):
        crashed = handler({"error": KeyError("db password is hunter2")}, None)
    assert crashed["statusCode"] == 500
    assert "hunter2" not in crashed["body"]
    assert "hunter2" in caplog.text  # the detail goes to the log only


def test_json_response_shape():
    response = json_response(201, {"id": 1}, headers={"ETag": '"1"'})
    assert response == {"statusCode": 201, "headers": {"Content-Type": "application/json", "ETag": '"1"'},
                        "body": '{"id":1}', "isBase64Encoded": False}
