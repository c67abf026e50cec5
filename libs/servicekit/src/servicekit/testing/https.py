"""A real HTTPS receiver for tests and the benchmark.

``make_certificates`` makes a certificate authority and a server certificate for 127.0.0.1
and localhost with ``cryptography``; a client trusts the authority's PEM (the webhook
bridge's ``CA_BUNDLE``). :class:`Receiver` is a small ASGI app, served by uvicorn over TLS,
that records every request and answers with the status it is told (500s, a redirect), and
:class:`RunningReceiver` starts it, stops it (the endpoint goes down) and starts it again on
the same port (it comes back). ``python -m servicekit.testing.https`` runs one as a process
that only counts (``GET /count``), for the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Certificates:
    ca: Path  # what clients trust
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(folder: Path) -> Certificates:
    """A fresh authority and a server certificate it signed, valid for a day, for
    127.0.0.1 and localhost."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("LMS test authority"))
        .issuer_name(_name("LMS test authority"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    found = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")
    found.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    found.cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    found.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return found


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body)


# request -> the status to answer (and, for a redirect, the Location)
Answer = Callable[[Received], int]


@dataclass
class Receiver:
    """Records every request; answers ``status`` (or what ``answer`` says for the request)."""

    status: int = 204
    answer: Answer | None = None
    location: str = "https://127.0.0.1:1/elsewhere"
    keep: bool = True  # False: count only (the benchmark)
    received: list[Received] = field(default_factory=list)
    count: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["method"] == "GET" and scope["path"] == "/count":
            await self._respond(send, 200, json.dumps({"count": self.count}).encode())
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request = Received(scope["path"], headers, body, self.status)
        status = self.answer(request) if self.answer else self.status
        self.count += 1
        if self.keep:
            self.received.append(Received(request.path, headers, body, status))
        self.arrived.set()
        await self._respond(send, status, b"", redirect=300 <= status < 400)

    async def _respond(self, send: Any, status: int, body: bytes, redirect: bool = False) -> None:
        headers = [(b"content-type", b"application/json")]
        if redirect:
            headers.append((b"location", self.location.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.accepted]


class RunningReceiver:
    """A :class:`Receiver` served over HTTPS on 127.0.0.1, in this event loop."""

    def __init__(self, receiver: Receiver, certificates: Certificates, port: int = 0) -> None:
        self.receiver = receiver
        self.certificates = certificates
        self.port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def start(self) -> None:
        config = uvicorn.Config(
            self.receiver,
            host="127.0.0.1",
            port=self.port,
            ssl_certfile=str(self.certificates.cert),
            ssl_keyfile=str(self.certificates.key),
            lifespan="off",
            log_level="warning",
            access_log=False,
        )
        server = self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(server.serve())
        while not server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
            await asyncio.sleep(0.01)
        self.port = server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """The endpoint goes down: open connections are dropped (without waiting for the
        clients' TLS goodbye), new ones refused."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = self._server.force_exit = True
            with suppress(asyncio.CancelledError):
                await self._task
        self._server = self._task = None


@asynccontextmanager
async def https_receiver(
    certificates: Certificates, receiver: Receiver | None = None
) -> AsyncIterator[RunningReceiver]:
    running = RunningReceiver(receiver or Receiver(), certificates)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="an HTTPS receiver that counts requests")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    uvicorn.run(
        Receiver(keep=False),
        host="127.0.0.1",
        port=args.port,
        ssl_certfile=args.cert,
        ssl_keyfile=args.key,
        lifespan="off",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
