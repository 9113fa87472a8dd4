"""Every operation of the API in one table: method, path, models and answers. /openapi.json
is generated from it, and a test checks it against the routes template.yaml declares."""

from dataclasses import dataclass, field

from pydantic import BaseModel

from .models import Configuration, Health, ItemChange, Product, ProductIn, ProductPage, Recipe, RecipeIn, RecipePage

PAGING = {"limit": ("integer", "page size, 1 to 100 (default 20)"), "cursor": ("string", "the `next` of the previous page")}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    success: int
    response: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    query: dict[str, tuple[str, str]] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    conditional: bool = False  # takes If-Match
    idempotent_post: bool = False  # takes Idempotency-Key
    public: bool = False


OPERATIONS = [
    Operation("GET", "/health", "health", "Liveness and version", 200, Health, public=True),
    Operation("GET", "/openapi.json", "openapi", "This document", 200, public=True),
    Operation("GET", "/config", "getConfig", "The configuration, secrets masked (scope admin)", 200, Configuration),
    Operation("POST", "/products", "createProduct", "Create a product", 201, Product, ProductIn,
              errors=(400, 409, 422), idempotent_post=True),
    Operation("GET", "/products", "listProducts", "List products", 200, ProductPage,
              query={**PAGING, "name": ("string", "only products whose name contains this")}, errors=(400,)),
    Operation("GET", "/products/{id}", "getProduct", "Get a product", 200, Product, errors=(400, 404)),
    Operation("PUT", "/products/{id}", "replaceProduct", "Replace a product", 200, Product, ProductIn,
              errors=(400, 404, 409, 412), conditional=True),
    Operation("DELETE", "/products/{id}", "deleteProduct", "Delete a product no recipe uses", 204,
              errors=(400, 404, 409, 412), conditional=True),
    Operation("POST", "/recipes", "createRecipe", "Create a recipe with its items", 201, Recipe, RecipeIn,
              errors=(400, 422), idempotent_post=True),
    Operation("GET", "/recipes", "listRecipes", "List recipes", 200, RecipePage,
              query={**PAGING, "title": ("string", "only recipes whose title contains this"),
                     "product_id": ("integer", "only recipes that use this product")}, errors=(400,)),
    Operation("GET", "/recipes/{id}", "getRecipe", "Get a recipe with its items", 200, Recipe, errors=(400, 404)),
    Operation("PUT", "/recipes/{id}", "replaceRecipe", "Replace a recipe and its items", 200, Recipe, RecipeIn,
              errors=(400, 404, 412, 422), conditional=True),
    Operation("DELETE", "/recipes/{id}", "deleteRecipe", "Delete a recipe", 204, errors=(400, 404, 412),
              conditional=True),
    Operation("PUT", "/recipes/{id}/items/{product_id}", "putRecipeItem", "Add or change an item", 200, Recipe,
              ItemChange, errors=(400, 404, 412, 422), conditional=True),
    Operation("DELETE", "/recipes/{id}/items/{product_id}", "deleteRecipeItem", "Remove an item", 204,
              errors=(400, 404, 412), conditional=True),
]
