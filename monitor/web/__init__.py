"""The web view and the operations endpoints. Server-rendered pages over the
``Monitor`` facade (each also as JSON), an operator's actions behind a token
with CSRF protection, and Atom feeds of each topic's new mentions
(``server.build_app`` makes the ASGI app; ``runner`` serves it with uvicorn,
alone or in a thread of the daemon); ``ops`` adds /healthz, /readyz and
/metrics. Nothing here is imported by a listing: Starlette, uvicorn and Jinja2
load only when a page is served.
"""
