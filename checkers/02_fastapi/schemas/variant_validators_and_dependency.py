# passes: Optional update fields with a model_validator that rejects explicit nulls, Decimal price, a session dependency, explicit model_validate
"""Products with a different style: a `model_validator` refuses nulls, the id range is checked in the handler."""

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from course.shop import Product

INT_MAX = 2**31 - 1


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags_distinct(cls, tags: list[str] | None) -> list[str] | None:
        if tags is not None and len(tags) != len(set(tags)):
            raise ValueError("duplicate tags")
        return tags


class ProductCreate(_Fields):
    sku: str = Field(min_length=1, max_length=32, pattern=r"^[A-Z0-9-]+$")
    name: str = Field(min_length=1, max_length=200)
    price_cents: int = Field(ge=0, le=INT_MAX)
    description: str = ""
    tags: list[str] = Field(default_factory=list, max_length=10)
    attributes: dict[str, Any] = Field(default_factory=dict)


class ProductUpdate(_Fields):
    sku: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[A-Z0-9-]+$")
    name: str | None = Field(None, min_length=1, max_length=200)
    price_cents: int | None = Field(None, ge=0, le=INT_MAX)
    description: str | None = None
    tags: list[str] | None = Field(None, max_length=10)
    attributes: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = [k for k, v in data.items() if v is None]
            if nulls:
                raise ValueError(f"fields cannot be null: {', '.join(nulls)}")
        return data


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
    price: str = ""

    @model_validator(mode="after")
    def _price(self) -> "ProductResponse":
        self.price = str((Decimal(self.price_cents) / 100).quantize(Decimal("0.01")))
        return self


def create_app(engine: AsyncEngine) -> FastAPI:
    factory = async_sessionmaker(engine, expire_on_commit=False)

    async def session() -> AsyncIterator[AsyncSession]:
        async with factory() as s:
            yield s

    Session = Annotated[AsyncSession, Depends(session)]
    app = FastAPI()

    async def load(s: AsyncSession, product_id: int) -> Product:
        product = await s.get(Product, product_id) if 0 < product_id <= INT_MAX else None
        if product is None:
            raise HTTPException(404, "no such product")
        return product

    async def save(s: AsyncSession, product: Product) -> dict:
        try:
            await s.commit()
        except IntegrityError:
            await s.rollback()
            raise HTTPException(409, "sku taken") from None
        await s.refresh(product)
        return ProductResponse.model_validate(product).model_dump(mode="json")

    @app.post("/products", status_code=201)
    async def create(body: ProductCreate, s: Session) -> dict:
        product = Product(**body.model_dump())
        s.add(product)
        return await save(s, product)

    @app.get("/products/{product_id}")
    async def read(product_id: int, s: Session) -> dict:
        return ProductResponse.model_validate(await load(s, product_id)).model_dump(mode="json")

    @app.patch("/products/{product_id}")
    async def update(product_id: int, body: ProductUpdate, s: Session) -> dict:
        product = await load(s, product_id)
        for name in body.model_fields_set:
            setattr(product, name, getattr(body, name))
        return await save(s, product)

    return app
