"""``lms up``: the local stack (``lms_cli.stack``) with demo data, its addresses printed,
kept running (``lms_cli.supervision``) until Ctrl-C."""

from __future__ import annotations

import signal

from servicekit.auth import mint_token
from servicekit.registry import NAMES
from servicekit.settings import ServiceSettings

from .stack import (
    CLUSTER_NODES,
    CLUSTER_SERVICE_REPLICAS,
    LocalStack,
    console,
    stack_ports,
)
from .supervision import Supervisor


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def run_stack(*, host: str, demo: bool, base_port: int = 8001, cluster: bool = False) -> None:
    # Ctrl-C and SIGTERM stop everything at any moment, also where SIGINT was ignored
    # (a shell starts background jobs that way).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    replicas = CLUSTER_SERVICE_REPLICAS if cluster else 1
    try:
        with LocalStack(
            host=host, ports=stack_ports(base_port, replicas), cluster=cluster
        ) as stack:
            settings = ServiceSettings()
            admin = mint_token(settings, roles=["admin"], subject="dev-admin")
            if demo:
                from .demo import load_demo

                load_demo(stack.urls, settings)
            print_addresses(stack, admin)
            Supervisor(
                stack.processes,
                stack.start,
                lambda instance: stack.instance_urls[instance],
                console,
                lambda instance: str(stack.log_dir / f"{instance}.log"),
            ).run()
    except KeyboardInterrupt:
        console.print("stopped")


def print_addresses(stack: LocalStack, admin: str) -> None:
    """Every service's addresses (its replicas', side by side: a client may use any of them),
    the admin token, and the NATS users."""
    for name, urls in stack.replica_urls.items():
        docs = f"(docs: {urls[0]}/docs)"
        console.print(f"  [green]{name:<13}[/] {'  '.join(urls)}  {docs}")
    console.print(f"Events (AsyncAPI): {stack.urls[NAMES[0]]}/asyncapi")
    if stack.cluster:
        console.print(
            f"Cluster: {CLUSTER_NODES} NATS nodes, streams on {CLUSTER_NODES} replicas; "
            f"{stack.replicas} processes per service, each on its own port"
        )
    console.print("\n[bold]Admin token[/] (12 h):")
    print(admin, flush=True)  # one line, never wrapped, so it can be copied
    if stack.passwords:
        console.print(
            "[bold]NATS users[/] for operations and a regional system (the subscriber "
            "kit: add `status` for its checkpoint, `postgres --database-url ...` for "
            "the worked example):"
        )
        print(f"NATS_URL={stack.nats_url} NATS_USER=admin NATS_PASSWORD={stack.passwords['admin']}")
        print(
            # "--password=" keeps a generated password that starts with "-" a value
            f"python -m lms_contracts.subscriber --url {stack.nats_url} --user region-74 "
            f"--password={stack.passwords['region-74']} --region 74",
            flush=True,
        )
    console.print(
        f"Logs: {stack.log_dir}. A service that stops is restarted. "
        "Press Ctrl-C to stop everything."
    )
