# must fail: test_patch_to_a_taken_sku_is_a_4xx_and_changes_nothing
"""PATCH commits without handling the unique sku: renaming to a taken sku is an IntegrityError, a 500."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Product

Sku = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Z0-9-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
PriceCents = Annotated[int, Field(ge=0, le=2**31 - 1)]  # the column is a 32-bit integer
Tags = Annotated[list[str], Field(max_length=10)]
ProductId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _distinct(tags: list[str]) -> list[str]:
    if len(set(tags)) != len(tags):
        raise ValueError("tags must not contain duplicates")
    return tags


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    name: Name
    price_cents: PriceCents
    description: str = ""
    tags: Tags = []
    attributes: dict[str, Any] = {}

    _tags = field_validator("tags")(_distinct)


class ProductUpdate(BaseModel):
    """Every field optional; the defaults are not validated, so an explicit `null` still fails the type."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku = None  # type: ignore[assignment]
    name: Name = None  # type: ignore[assignment]
    price_cents: PriceCents = None  # type: ignore[assignment]
    description: str = None  # type: ignore[assignment]
    tags: Tags = None  # type: ignore[assignment]
    attributes: dict[str, Any] = None  # type: ignore[assignment]

    _tags = field_validator("tags")(_distinct)


class ProductResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    name: str
    description: str
    price_cents: int
    tags: list[str]
    attributes: dict[str, Any]
    updated_at: datetime | None = None

    @computed_field
    @property
    def price(self) -> str:
        return f"{self.price_cents // 100}.{self.price_cents % 100:02d}"


def create_app(engine: AsyncEngine) -> FastAPI:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    app = FastAPI()

    @app.post("/products", status_code=201, response_model=ProductResponse)
    async def create_product(body: ProductCreate) -> Product:
        async with sessions() as session:
            product = Product(**body.model_dump())
            session.add(product)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                raise HTTPException(409, f"sku {body.sku} is taken") from None
            await session.refresh(product)
            return product

    @app.get("/products/{product_id}", response_model=ProductResponse)
    async def get_product(product_id: ProductId) -> Product:
        async with sessions() as session:
            product = await session.get(Product, product_id)
            if product is None:
                raise HTTPException(404, "product not found")
            return product

    @app.patch("/products/{product_id}", response_model=ProductResponse)
    async def update_product(product_id: ProductId, body: ProductUpdate) -> Product:
        async with sessions() as session:
            product = await session.get(Product, product_id)
            if product is None:
                raise HTTPException(404, "product not found")
            for field, value in body.model_dump(exclude_unset=True).items():
                setattr(product, field, value)
            await session.commit()
            await session.refresh(product)
            return product

    return app
