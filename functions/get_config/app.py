"""GET /config: every parameter under the stage's prefix, secrets masked (scope admin)."""

from cloudpatterns.config import config
from cloudpatterns.http import Response, api_handler


@api_handler
def handler(request, context):
    request.require_scope("admin")
    return Response(200, {"parameters": config.describe()})
