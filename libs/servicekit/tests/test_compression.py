"""JSON, problems, HTML and CSV travel compressed in whatever the client accepts; small
bodies, media that is compressed already and byte ranges travel as they are."""

import httpx
import pytest
from fastapi import FastAPI, Response
from fastapi.responses import HTMLResponse

from servicekit.compression import install_compression
from servicekit.problems import Problem, install_problem_handlers

ROWS = [{"village_code": f"74.01.01.{2000 + n}", "learners": n} for n in range(200)]


def probe_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/rows")
    async def rows() -> list[dict[str, object]]:
        return ROWS

    @app.get("/small")
    async def small() -> dict[str, str]:
        return {"ok": "ya"}

    @app.get("/page", response_class=HTMLResponse)
    async def page() -> str:
        return "<table>" + "<tr><td>Towua</td></tr>" * 100 + "</table>"

    @app.get("/export")
    async def export() -> Response:
        return Response("kode,jumlah\n" + "74.01,10\n" * 200, media_type="text/csv")

    @app.get("/package")
    async def package() -> Response:
        return Response(b"PK\x03\x04" + b"\x00" * 5000, media_type="application/zip")

    @app.get("/part")
    async def part() -> Response:
        headers = {"Content-Range": "bytes 0-4999/9999"}
        return Response(b"{" + b" " * 4999, 206, headers, media_type="application/json")

    @app.get("/refused")
    async def refused() -> None:
        errors = [{"field": f"answers.{n}.text", "message": "too long"} for n in range(40)]
        raise Problem(422, "invalid_field", "answers: too long", errors=errors)

    install_compression(app, minimum_size=500)
    return app


@pytest.fixture
async def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=probe_app())
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.mark.parametrize(
    ("accepted", "encoding"),
    [("gzip", "gzip"), ("gzip, br", "br"), ("gzip, br, zstd", "zstd"), ("br;q=0, gzip", "gzip")],
)
async def test_json_is_compressed_in_the_best_encoding_the_client_accepts(
    client: httpx.AsyncClient, accepted: str, encoding: str
) -> None:
    response = await client.get("/rows", headers={"Accept-Encoding": accepted})
    assert response.headers["content-encoding"] == encoding
    assert "accept-encoding" in response.headers["vary"].lower()
    assert response.json() == ROWS
    assert response.num_bytes_downloaded * 5 < len(response.content)


async def test_without_accept_encoding_nothing_is_compressed(client: httpx.AsyncClient) -> None:
    response = await client.get("/rows", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in response.headers and response.json() == ROWS


@pytest.mark.parametrize("path", ["/page", "/export", "/refused"])
async def test_html_csv_and_problems_are_compressed_too(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"


@pytest.mark.parametrize("path", ["/small", "/package", "/part"])
async def test_small_bodies_packages_and_ranges_travel_as_they_are(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, headers={"Accept-Encoding": "gzip, br, zstd"})
    assert "content-encoding" not in response.headers
    assert response.num_bytes_downloaded == len(response.content)
