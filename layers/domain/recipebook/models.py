"""Request and response shapes. The same models validate requests and generate
/openapi.json, so the document cannot drift from what the API accepts."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Quantity = Annotated[Decimal, Field(gt=0, le=1_000_000, max_digits=12, decimal_places=3)]
ProductId = Annotated[int, Field(gt=0, lt=2**63)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductIn(Strict):
    name: Name
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    unit: Unit


class ItemIn(Strict):
    product_id: ProductId
    quantity: Quantity
    unit: Unit


class ItemChange(Strict):
    quantity: Quantity
    unit: Unit


class RecipeIn(Strict):
    title: Title
    instructions: Annotated[str, StringConstraints(max_length=10_000)] = ""
    servings: Annotated[int, Field(gt=0, le=1000)] | None = None
    items: Annotated[list[ItemIn], Field(max_length=100)] = []

    @field_validator("items")
    @classmethod
    def each_product_once(cls, items: list[ItemIn]) -> list[ItemIn]:
        seen = set()
        for item in items:
            if item.product_id in seen:
                raise ValueError(f"product {item.product_id} is listed more than once")
            seen.add(item.product_id)
        return items


class Product(BaseModel):
    id: int
    name: str
    description: str
    unit: str
    version: int
    created_at: datetime
    updated_at: datetime


class Item(BaseModel):
    product_id: int
    name: str
    quantity: float
    unit: str


class Recipe(BaseModel):
    id: int
    title: str
    instructions: str
    servings: int | None
    items: list[Item]
    image_url: str | None = None
    version: int
    created_at: datetime
    updated_at: datetime


class ProductPage(BaseModel):
    items: list[Product]
    next: str | None


class RecipePage(BaseModel):
    items: list[Recipe]
    next: str | None


class ErrorBody(BaseModel):
    code: str
    message: str
    details: object | None = None


class Error(BaseModel):
    error: ErrorBody
    requestId: str | None


class Health(BaseModel):
    status: str
    version: str
    stage: str


class ConfigEntry(BaseModel):
    value: str
    version: int
    secret: bool


class Configuration(BaseModel):
    parameters: dict[str, ConfigEntry]


Scope = Literal["recipes:read", "recipes:write", "products:read", "products:write", "valet:issue", "admin"]


class ValetTokenIn(Strict):
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=6)]
    resource: Annotated[str, StringConstraints(pattern=r"^(recipes|products)/[1-9][0-9]{0,18}$")] | None = None
    ttl_seconds: Annotated[int, Field(gt=0, le=86_400)] | None = None
    max_uses: Annotated[int, Field(gt=0, le=1_000_000)] | None = None


class ValetTokenOut(BaseModel):
    token: str
    id: str
    expires_at: datetime


class ShareOut(BaseModel):
    url: str
    expires_at: datetime


MAX_IMAGE_BYTES = 5 * 1024 * 1024


class UploadIn(Strict):
    content_type: Literal["image/jpeg", "image/png", "image/webp"]
    size: Annotated[int, Field(gt=0, le=MAX_IMAGE_BYTES)]


class UploadOut(BaseModel):
    url: str
    headers: dict[str, str]
    expires_at: datetime
