"""GET /recipes: a page of recipes, filtered by title or product."""

from recipebook import recipes
from recipebook.access import endpoint

handler = endpoint("listRecipes")(recipes.list_page)
