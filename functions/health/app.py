"""GET /health: liveness of the API, with the deployed version and stage."""

import os

from cloudpatterns.http import Response
from recipebook.access import endpoint


@endpoint("health")
def handler(request):
    return Response(200, {
        "status": "ok",
        "version": os.environ.get("APP_VERSION", "unknown"),
        "stage": os.environ.get("STAGE", "unknown"),
    })
