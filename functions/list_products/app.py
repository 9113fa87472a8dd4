"""GET /products: a page of products, filtered by name."""

from recipebook import products
from recipebook.access import endpoint

handler = endpoint("listProducts")(products.list_page)
