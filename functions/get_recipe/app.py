"""GET /recipes/{id}: one recipe with its items and their product names."""

from recipebook import recipes
from recipebook.access import endpoint

handler = endpoint("getRecipe")(recipes.get)
