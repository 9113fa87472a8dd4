"""GET /products/{id}: one product, with its ETag."""

from recipebook import products
from recipebook.access import endpoint

handler = endpoint("getProduct")(products.get)
