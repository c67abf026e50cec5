"""Alembic plumbing: each service keeps its own ``migrations/`` and calls these."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(migrations_dir: Path, database_url: str, revision: str = "head") -> None:
    """Run a service's migrations; a step of its own, never inside the app."""
    command.upgrade(alembic_config(migrations_dir, database_url), revision)


def run_env(target_metadata: MetaData | None = None) -> None:
    """Body of every service's ``migrations/env.py`` (metadata enables --autogenerate)."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"

    def migrate(connection: Any) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run())


def make_revision(migrations_dir: Path, database_url: str, message: str) -> None:
    """Autogenerate the next revision by diffing the metadata against a migrated database."""
    config = alembic_config(migrations_dir, database_url)
    command.upgrade(config, "head")
    command.revision(config, message=message, autogenerate=True)
