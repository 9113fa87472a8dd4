"""GET /config: every parameter under the stage's prefix, secrets masked (scope admin)."""

from cloudpatterns.config import config
from cloudpatterns.http import Response
from recipebook.access import endpoint


@endpoint("getConfig")
def handler(request):
    return Response(200, {"parameters": config.describe()})
