"""Background tasks: cancel an order now, write its audit event after the response.

`create_app(engine)` serves `POST /orders/{order_id}/cancel`: 202 `{"id", "status": "cancelled"}` for a
`pending` order, 404 for an unknown one, 409 for any other status. The status change is committed
before the response is sent. Then a background task writes `AuditEvent(entity="order",
entity_id=<order id>, action="cancelled")` in a session and transaction of its own: a slow audit write
must not delay the response; a failing one is logged at ERROR (by your code) and changes nothing for the
client or the order; no connection stays checked out afterwards.

Read: notebooks/02_fastapi/02_dependencies_and_transactions.ipynb, "Work after the response".
Check: course check fastapi/background_tasks
"""

from __future__ import annotations

import logging
import uuid

from fastapi import BackgroundTasks, FastAPI, HTTPException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from course.shop import AuditEvent, Order

logger = logging.getLogger("app.audit")


def create_app(engine: AsyncEngine) -> FastAPI:
    """The app: cancel an order, audit it in the background."""
    # TODO: your code here
    raise NotImplementedError
