"""GET /recipes: a page of recipes, filtered by title or product."""

from cloudpatterns.http import api_handler
from recipebook import recipes


@api_handler
def handler(request, context):
    return recipes.list_page(request)
