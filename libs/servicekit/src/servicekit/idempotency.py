"""``Idempotency-Key`` for creating POSTs: the same key and body give the same answer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from .database import Database, Transaction
from .problems import Problem


def fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    async def replay(
        self, conn: AsyncConnection, scope: str, key: str, request_fingerprint: str
    ) -> tuple[int, Any] | None:
        """The stored answer for this key, if any. Serialises requests sharing a key."""
        if len(key) > 200:
            raise Problem(
                422,
                "invalid_idempotency_key",
                "Idempotency-Key: at most 200 characters",
                errors=[{"field": "Idempotency-Key", "message": "too long"}],
            )
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"{scope}:{key}"}
        )
        row = (
            await conn.execute(
                select(self.table.c.fingerprint, self.table.c.status_code, self.table.c.body).where(
                    self.table.c.scope == scope, self.table.c.key == key
                )
            )
        ).first()
        if row is None:
            return None
        if row.fingerprint != request_fingerprint:
            raise Problem(
                422,
                "idempotency_key_reused",
                "Idempotency-Key was already used with a different request body",
                errors=[{"field": "Idempotency-Key", "message": "reused with another body"}],
            )
        return row.status_code, row.body

    async def remember(
        self,
        conn: AsyncConnection,
        scope: str,
        key: str,
        request_fingerprint: str,
        status_code: int,
        body: Any,
    ) -> None:
        await conn.execute(
            self.table.insert().values(
                scope=scope,
                key=key,
                fingerprint=request_fingerprint,
                status_code=status_code,
                body=body,
                created_at=func.now(),
            )
        )


async def idempotent_transaction(
    database: Database,
    store: IdempotencyStore,
    work: Callable[[Transaction], Awaitable[tuple[int, Any]]],
    *,
    key: str | None,
    scope: str,
    body: Any,
) -> JSONResponse:
    """Run ``work`` (which answers a status and a JSON body) in one transaction; under an
    ``Idempotency-Key``, a repeat of the same request gets the first answer, and requests
    sharing a key wait for each other."""
    request_fingerprint = fingerprint(body)
    async with database.transaction() as tx:
        if key is not None:
            stored = await store.replay(tx.conn, scope, key, request_fingerprint)
            if stored is not None:
                return JSONResponse(stored[1], status_code=stored[0])
        status, result = await work(tx)
        if key is not None:
            await store.remember(tx.conn, scope, key, request_fingerprint, status, result)
    return JSONResponse(result, status_code=status)
