"""A readable page of the AsyncAPI document: every channel, its message, payload fields and an
example, rendered on the server into one self-contained HTML page (no script, no fonts or
styles from elsewhere: the page works where the machine has no internet)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:1rem 2rem;color:#1d2433}
h1{margin-bottom:.2rem}h2{margin-top:2.5rem;border-bottom:1px solid #d8dde6;padding-bottom:.3rem}
code,pre{font:13px/1.45 ui-monospace,monospace;background:#f3f5f8;border-radius:4px}
code{padding:.1rem .3rem}pre{padding:.8rem;overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border-bottom:1px solid #e4e8ee;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f8}.muted{color:#5b6475}nav li{margin:.1rem 0}
"""


def render_page(document: dict[str, Any]) -> str:
    info = document["info"]
    channels = document["channels"]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(info['title'])}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(info['title'])}</h1>",
        f'<p class="muted">AsyncAPI {escape(document["asyncapi"])}, version '
        f"{escape(info['version'])}. Machine-readable: "
        '<a href="asyncapi.json">asyncapi.json</a></p>',
        f"<p>{escape(info['description'])}</p>",
        "<nav><h3>Channels</h3><ul>",
        *(
            f'<li><a href="#{escape(name)}"><code>{escape(_event_type(document, name))}</code>'
            f"</a></li>"
            for name in channels
        ),
        "</ul></nav>",
        *(_channel(document, name, channel) for name, channel in channels.items()),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _event_type(document: dict[str, Any], name: str) -> str:
    return str(document["components"]["messages"][name]["name"])


def _channel(document: dict[str, Any], name: str, channel: dict[str, Any]) -> str:
    message = document["components"]["messages"][name]
    schema = document["components"]["schemas"][name]
    parts = [
        f'<section id="{escape(name)}"><h2>{escape(message["name"])}</h2>',
        f"<p>Subject: <code>{escape(channel['address'])}</code></p>",
        f"<p>{escape(channel.get('description', ''))}</p>",
    ]
    parameters = channel.get("parameters", {})
    if parameters:
        parts.append(
            "<p>"
            + "; ".join(
                f"<code>{{{escape(key)}}}</code>: {escape(value['description'])}"
                for key, value in parameters.items()
            )
            + "</p>"
        )
    parts += [
        f"<h3>Payload <code>data</code>: {escape(name)}</h3>",
        _fields(document, schema),
        '<p class="muted">In a CloudEvents 1.0 envelope (<code>id</code>, <code>source</code>, '
        "<code>type</code>, <code>time</code>, ...); the <code>id</code> is also the "
        "<code>Nats-Msg-Id</code> header.</p>",
    ]
    for example in message.get("examples", []):
        parts += [
            f'<h3>Example <span class="muted">{escape(example.get("summary", ""))}</span></h3>',
            f"<pre>{escape(json.dumps(example['payload'], indent=2))}</pre>",
        ]
    parts.append("</section>")
    return "\n".join(parts)


def _fields(document: dict[str, Any], schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = [
        "<tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>",
        *(
            f"<tr><td><code>{escape(field)}</code></td><td>{escape(_type(document, spec))}</td>"
            f"<td>{'yes' if field in required else 'no'}</td>"
            f"<td>{escape(spec.get('description', ''))}</td></tr>"
            for field, spec in schema.get("properties", {}).items()
        ),
    ]
    return "<table>" + "".join(rows) + "</table>"


def _type(document: dict[str, Any], spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        target = document["components"]["schemas"][spec["$ref"].rsplit("/", 1)[-1]]
        if "enum" in target:
            return "one of: " + ", ".join(map(str, target["enum"]))
        return str(target.get("title", "object"))
    if "anyOf" in spec:
        return " or ".join(_type(document, option) for option in spec["anyOf"])
    if spec.get("type") == "array":
        return f"list of {_type(document, spec.get('items', {}))}"
    kind = str(spec.get("type", "any"))
    details = [spec[key] for key in ("format", "pattern") if key in spec]
    if "minimum" in spec or "maximum" in spec:
        details.append(f"{spec.get('minimum', '')}..{spec.get('maximum', '')}")
    return kind + (f" ({', '.join(map(str, details))})" if details else "")
