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


async def test_a_three_node_cluster_keeps_an_r3_stream_through_a_killed_node(
    run_dir: Path,
) -> None:
    """Routes between the nodes, ports chosen by the kernel, a node killed outright keeps
    nothing from the other two, and comes back on its own ports into the stream's replicas."""
    import nats
    from nats.js.api import StreamConfig

    from servicekit.servers import NatsCluster
    from servicekit.settings import ServiceSettings
    from servicekit.testing.waiting import eventually

    cluster = NatsCluster(run_dir / "cluster", sync_interval="always")
    url = cluster.start()
    try:
        assert ServiceSettings(nats_url=url).nats_servers == cluster.urls
        assert len(set(cluster.urls)) == 3
        nc = await nats.connect(cluster.urls)
        js = nc.jetstream()

        async def placed() -> object:
            try:
                return await js.add_stream(
                    StreamConfig(name="VILLAGES", subjects=["villages.>"], num_replicas=3)
                )
            except Exception as exc:  # the new cluster is still electing its meta leader
                return exc

        await eventually(placed, lambda r: not isinstance(r, Exception), timeout=60)
        leader = (await js.stream_info("VILLAGES")).cluster.leader  # type: ignore[union-attr]
        killed = int(str(leader).rsplit("-", 1)[1]) - 1
        ports = cluster.nodes[killed].port

        cluster.kill(killed)

        async def publish() -> object:
            try:
                return await js.publish("villages.74.01.01.2006", b"Towua", timeout=2)
            except Exception as exc:
                return exc

        ack = await eventually(publish, lambda r: not isinstance(r, Exception), timeout=60)
        cluster.start_node(killed)
        assert cluster.nodes[killed].port == ports

        async def replicas() -> object:
            return (await js.stream_info("VILLAGES")).cluster

        back = await eventually(
            replicas,
            lambda c: all(r.current for r in c.replicas or []) and len(c.replicas or []) == 2,  # type: ignore[attr-defined]
            timeout=60,
        )
        assert back is not None and getattr(ack, "seq", 0) >= 1
        await nc.close()
    finally:
        cluster.stop()
