"""What a request asks for: a page, or its data as JSON (``?format=json`` or
``Accept: application/json``), the same for the pages, the operator's actions
and /readyz. Pure.
"""

from __future__ import annotations

from starlette.requests import Request


def wants_json(request: Request) -> bool:
    return request.query_params.get("format") == "json" or \
        "application/json" in request.headers.get("accept", "")
