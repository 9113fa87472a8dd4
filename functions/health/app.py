"""GET /health: liveness of the API, with the deployed version and stage."""

import os

from cloudpatterns.http import Response, api_handler


@api_handler
def handler(request, context):
    return Response(200, {
        "status": "ok",
        "version": os.environ.get("APP_VERSION", "unknown"),
        "stage": os.environ.get("STAGE", "unknown"),
    })
