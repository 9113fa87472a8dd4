"""GET /recipes/{id}: one recipe with its items and their product names."""

from cloudpatterns.http import api_handler
from recipebook import recipes


@api_handler
def handler(request, context):
    return recipes.get(request)
