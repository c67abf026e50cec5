"""The local servers the tests, the benchmark and `lms up` start from the wheels."""

from pathlib import Path

from servicekit.servers import LocalPostgres, connect_asyncpg


async def test_postgres_settings_read_only_at_start_take_effect(run_dir: Path) -> None:
    server = LocalPostgres(run_dir / "postgres-settings")
    url = server.start({"shared_buffers": "192MB", "checkpoint_timeout": "15min"})
    try:
        conn = await connect_asyncpg(url)
        try:
            assert await conn.fetchval("SHOW shared_buffers") == "192MB"
            assert await conn.fetchval("SHOW checkpoint_timeout") == "15min"
        finally:
            await conn.close()
    finally:
        server.stop()
    assert not (run_dir / "postgres-settings").exists()
