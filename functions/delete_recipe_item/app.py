"""DELETE /recipes/{id}/items/{product_id}: remove an item."""

from recipebook import recipes
from recipebook.access import endpoint

handler = endpoint("deleteRecipeItem")(recipes.delete_item)
