"""GET /products/{id}: one product, with its ETag."""

from cloudpatterns.http import api_handler
from recipebook import products


@api_handler
def handler(request, context):
    return products.get(request)
