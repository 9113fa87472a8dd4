"""POST /recipes: create a recipe with its items, in one transaction."""

from recipebook import recipes
from recipebook.access import endpoint

handler = endpoint("createRecipe")(recipes.create)
