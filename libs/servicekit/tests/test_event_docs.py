"""Every service serves the event documentation, without a token: the AsyncAPI document the
contracts generate, and a page a regional integrator can read with no internet access."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from lms_contracts import EVENT_TYPES
from lms_contracts.asyncapi import render
from servicekit.registry import NAMES
from servicekit.registry import service as registered


@pytest.mark.parametrize("name", NAMES)
def test_every_service_serves_the_asyncapi_document_and_its_page(name: str) -> None:
    main = registered(name).main()
    app = main.app(main.Settings())
    client = TestClient(app)
    document = client.get("/asyncapi.json")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/json"
    assert document.json() == json.loads(render())
    page = client.get("/asyncapi")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert all(f"<h2>{event_type}</h2>" in page.text for event_type in EVENT_TYPES)
    assert 'href="asyncapi.json"' in page.text
