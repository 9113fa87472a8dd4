"""DELETE /recipes/{id}/items/{product_id}: remove an item."""

from cloudpatterns.http import api_handler
from recipebook import recipes


@api_handler
def handler(request, context):
    return recipes.delete_item(request)
