"""PUT /products/{id}: replace a product (If-Match honoured)."""

from recipebook import products
from recipebook.access import endpoint

handler = endpoint("replaceProduct")(products.replace)
