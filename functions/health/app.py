"""GET /health: liveness of the API, with the deployed version and stage."""

import os

from cloudpatterns.http import api_handler, json_response


@api_handler
def handler(event, context):
    return json_response(
        200,
        {
            "status": "ok",
            "version": os.environ.get("APP_VERSION", "unknown"),
            "stage": os.environ.get("STAGE", "unknown"),
        },
    )
