"""GET /products: a page of products, filtered by name."""

from cloudpatterns.http import api_handler
from recipebook import products


@api_handler
def handler(request, context):
    return products.list_page(request)
