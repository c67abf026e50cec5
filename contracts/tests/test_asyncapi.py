"""The AsyncAPI document and its page: every event with a valid example, readable offline."""

from __future__ import annotations

import re

from lms_contracts import EVENT_TYPES, parse_event
from lms_contracts.asyncapi import document
from lms_contracts.asyncapi_page import render_page


def test_every_message_has_an_example_that_parses_to_its_own_type_on_its_channel() -> None:
    doc = document()
    assert len(doc["components"]["messages"]) == len(EVENT_TYPES)
    for name, message in doc["components"]["messages"].items():
        (example,) = message["examples"]
        event = parse_event(example["payload"])
        assert type(event.data) is EVENT_TYPES[message["name"]]
        assert example["headers"]["Nats-Msg-Id"] == str(event.id)
        address = doc["channels"][name]["address"]
        pattern = re.escape(address).replace(r"\{province\}", r"\d{2}")
        pattern = pattern.replace(r"\{regency\}", r"\d{2}").replace(r"\{district\}", r"\d{2}")
        pattern = pattern.replace(r"\{village\}", r"\d{4}")
        assert re.fullmatch(pattern, example["summary"].removeprefix("on ")), name


def test_regional_examples_come_from_a_village_of_sulawesi_tenggara() -> None:
    for message in document()["components"]["messages"].values():
        data = message["examples"][0]["payload"]["data"]
        if "village_code" in data:
            assert data["village_code"].startswith("74.")


def test_the_page_shows_every_event_its_fields_and_example_with_nothing_from_elsewhere() -> None:
    page = render_page(document())
    for event_type in EVENT_TYPES:
        assert f"<h2>{event_type}</h2>" in page
    assert "<td><code>village_code</code></td>" in page
    assert "one of: kepala_desa, sekretaris_desa" in page
    assert "Wa Ode Sitti Rahma" in page
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
