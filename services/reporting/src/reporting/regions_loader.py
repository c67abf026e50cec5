"""Load the real region tree (38 provinces ... 83,762 villages) into ``regions``, idempotently."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from servicekit import regions as region_list
from servicekit.database import driver_connection

from .store.tables import regions


def region_rows() -> list[tuple[str, str, int, str | None]]:
    rows: list[tuple[str, str, int, str | None]] = [("", "Indonesia", 0, None)]
    rows += [(r.code, r.name, 1, "") for r in region_list.provinces().values()]
    for level, table in ((2, region_list.regencies), (3, region_list.districts)):
        rows += [(r.code, r.name, level, r.parent_code) for r in table().values()]
    rows += [(r.code, r.name, 4, r.parent_code) for r in region_list.all_villages().values()]
    return rows


async def load_regions(conn: AsyncConnection) -> int:
    """Replace the region tree with the packaged list (COPY; about a second)."""
    rows = region_rows()
    driver = await driver_connection(conn)
    await conn.execute(text("CREATE TEMP TABLE regions_load (LIKE regions) ON COMMIT DROP"))
    await driver.copy_records_to_table(
        "regions_load",
        records=rows,
        columns=["code", "name", "level", "parent_code"],
    )
    await conn.execute(
        text(
            "INSERT INTO regions SELECT * FROM regions_load ON CONFLICT (code) DO UPDATE "
            "SET name = excluded.name, level = excluded.level, parent_code = excluded.parent_code"
        )
    )
    return int((await conn.execute(select(func.count()).select_from(regions))).scalar_one())


async def load_regions_into(database_url: str) -> int:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            return await load_regions(conn)
    finally:
        await engine.dispose()


def load_regions_sync(database_url: str) -> int:
    return asyncio.run(load_regions_into(database_url))
