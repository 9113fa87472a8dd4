"""Every operation of the API in one table: method, path, models and answers. /openapi.json
is generated from it, and a test checks it against the routes template.yaml declares."""

from dataclasses import dataclass, field

from pydantic import BaseModel

from .models import (Configuration, Health, ShareOut, UploadIn, UploadOut, ValetTokenIn, ValetTokenOut, ItemChange, Product, ProductIn, ProductPage, Recipe, RecipeIn, RecipePage)

PAGING = {"limit": ({"type": "integer", "minimum": 1, "maximum": 100}, "page size (default 20)"),
          "cursor": ({"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}, "the `next` of the previous page")}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    success: int
    response: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    query: dict[str, tuple[dict, str]] = field(default_factory=dict)  # name -> (JSON schema, description)
    errors: tuple[int, ...] = ()
    conditional: bool = False  # takes If-Match
    idempotent_post: bool = False  # takes Idempotency-Key
    scope: str | None = None  # the scope a principal needs; None: public

    @property
    def public(self) -> bool:
        return self.scope is None

    @property
    def is_write(self) -> bool:
        return self.method != "GET"


OPERATIONS = [
    Operation("GET", "/health", "health", "Liveness and version", 200, Health),
    Operation("GET", "/openapi.json", "openapi", "This document", 200),
    Operation("GET", "/config", "getConfig", "The configuration, secrets masked (scope admin)", 200, Configuration,
              scope="admin"),
    Operation("POST", "/valet/tokens", "createValetToken", "Issue a valet token with narrower rights", 201,
              ValetTokenOut, ValetTokenIn, errors=(400, 403), scope="valet:issue"),
    Operation("DELETE", "/valet/tokens/{token_id}", "revokeValetToken", "Revoke a valet token at once", 204,
              errors=(403, 404), scope="valet:issue"),
    Operation("POST", "/recipes/{id}/share", "shareRecipe", "A presigned URL that reads this one recipe", 201,
              ShareOut, errors=(400, 404), scope="valet:issue"),
    Operation("POST", "/recipes/{id}/image-upload", "recipeImageUpload", "A presigned S3 PUT for the recipe's image",
              201, UploadOut, UploadIn, errors=(400, 404), scope="recipes:write"),
    Operation("POST", "/products", "createProduct", "Create a product", 201, Product, ProductIn,
              errors=(400, 409, 422), idempotent_post=True, scope="products:write"),
    Operation("GET", "/products", "listProducts", "List products", 200, ProductPage,
              query={**PAGING, "name": ({"type": "string"}, "only products whose name contains this")}, errors=(400,), scope="products:read"),
    Operation("GET", "/products/{id}", "getProduct", "Get a product", 200, Product, errors=(400, 404), scope="products:read"),
    Operation("PUT", "/products/{id}", "replaceProduct", "Replace a product", 200, Product, ProductIn,
              errors=(400, 404, 409, 412), conditional=True, scope="products:write"),
    Operation("DELETE", "/products/{id}", "deleteProduct", "Delete a product no recipe uses", 204,
              errors=(400, 404, 409, 412), conditional=True, scope="products:write"),
    Operation("POST", "/recipes", "createRecipe", "Create a recipe with its items", 201, Recipe, RecipeIn,
              errors=(400, 422), idempotent_post=True, scope="recipes:write"),
    Operation("GET", "/recipes", "listRecipes", "List recipes", 200, RecipePage,
              query={**PAGING, "title": ({"type": "string"}, "only recipes whose title contains this"),
                     "product_id": ({"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                                    "only recipes that use this product")}, errors=(400,),
              scope="recipes:read"),
    Operation("GET", "/recipes/{id}", "getRecipe", "Get a recipe with its items", 200, Recipe, errors=(400, 404),
              scope="recipes:read"),
    Operation("PUT", "/recipes/{id}", "replaceRecipe", "Replace a recipe and its items", 200, Recipe, RecipeIn,
              errors=(400, 404, 412, 422), conditional=True, scope="recipes:write"),
    Operation("DELETE", "/recipes/{id}", "deleteRecipe", "Delete a recipe", 204, errors=(400, 404, 412),
              conditional=True, scope="recipes:write"),
    Operation("PUT", "/recipes/{id}/items/{product_id}", "putRecipeItem", "Add or change an item", 200, Recipe,
              ItemChange, errors=(400, 404, 412, 422), conditional=True, scope="recipes:write"),
    Operation("DELETE", "/recipes/{id}/items/{product_id}", "deleteRecipeItem", "Remove an item", 204,
              errors=(400, 404, 412), conditional=True, scope="recipes:write"),
]

BY_ID = {operation.operation_id: operation for operation in OPERATIONS}
SCOPES = ("recipes:read", "recipes:write", "products:read", "products:write", "valet:issue", "admin")
