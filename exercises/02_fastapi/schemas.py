"""Product schemas: create, partial update (PATCH) and response models, and the routes that use them.

`ProductCreate` validates input (unknown fields rejected; `sku` 1-32 of A-Z, 0-9, `-`; `price_cents` >= 0;
at most 10 distinct `tags`), `ProductUpdate` has the same fields all optional, and PATCH changes exactly the
fields sent (`null` for a field that cannot be null is a 422). `ProductResponse` is built from the ORM
object and adds `price`, a decimal string ("12.34" for 1234 cents). `create_app(engine)` serves
`POST /products` (201, 409 for a taken sku), `GET /products/{id}` and `PATCH /products/{id}` (200, 404);
an id outside the integer range is a 404 or 422, never a 500.

Read: notebooks/02_fastapi/03_schemas_and_validation.ipynb, "PATCH: the fields that were sent".
Check: course check fastapi/schemas
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import Product


class ProductCreate(BaseModel):
    # TODO: your fields here
    pass


class ProductUpdate(BaseModel):
    # TODO: your fields here
    pass


class ProductResponse(BaseModel):
    # TODO: your fields here
    pass


def create_app(engine: AsyncEngine) -> FastAPI:
    # TODO: your code here
    raise NotImplementedError
