"""The web app: HTML pages and /api/v1 over the same library calls as the CLI.

``create_app(home)`` builds the app over the user's warehouse (or the bundled sample when
nothing is ingested); ``serve(host, port)`` runs it with uvicorn. The app only reads.

- Errors: every /api error is ``RatelensError.to_dict()`` JSON ({"error", "message", ...});
  pages show the same message in HTML. Bad parameters are 422, not-a-code 404, a missing
  or wrong API key 401, a warehouse locked by an ingest 503; never a bare 500.
- ``RATELENS_API_KEY`` set: every route but /static needs the key (pages and downloads show
  the same data as /api): the header ``X-API-Key``, or, for a browser, ``?key=KEY`` once on
  any page, which answers with a cookie holding a token derived from the key (HttpOnly,
  SameSite=Lax, the browser session) and sends the browser to the same address without it.
- Every GET route answers HEAD (headers only); a 405 says ``Allow``; every response carries
  a Content-Security-Policy (nothing from other origins, no inline script; inline styles for
  the pages' stylesheet and SVG charts), ``X-Frame-Options: DENY`` and ``nosniff``.
- No CORS headers: browsers of other origins cannot read the API.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import duckdb
import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ratelens import __version__, config
from ratelens.errors import DataNotAvailable, EnvironmentFailure, RatelensError, UsageError
from ratelens.sample import open_warehouse
from ratelens.sources import registry
from ratelens.web import api, pages
from ratelens.web.warehouse_cache import CachedWarehouse

log = logging.getLogger("ratelens.web")

API_DESCRIPTION = """\
What a US billing code is and what it is paid, from public data, every figure traceable
to the file and row it came from. Read-only. Errors are JSON objects
`{"error": <class>, "message": <what, where, what to do>, ...}`.
If the server has `RATELENS_API_KEY` set, send it in the `X-API-Key` header.
"""

STATUS: dict[type[RatelensError], int] = {
    DataNotAvailable: 404, UsageError: 422, EnvironmentFailure: 503,  # a catalog locked too long
}
SECURITY_HEADERS = {
    "content-security-policy": "; ".join([
        "default-src 'none'", "script-src 'self'", "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:", "connect-src 'self'", "form-action 'self'", "base-uri 'none'",
        "frame-ancestors 'none'",
    ]),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
}  # fmt: skip
KEY_COOKIE = "ratelens_key"
OPEN_PATHS = ("/static/",)  # the pages' CSS and scripts: no warehouse data


def create_app(
    home: Path | None = None, *, api_key: str | None = None, n_reports: int = 64
) -> FastAPI:
    """The app over the warehouse in ``home`` (default RATELENS_HOME); builds the sample
    warehouse first when nothing is ingested. ``api_key`` default: RATELENS_API_KEY;
    ``n_reports``: benchmark reports kept in memory (0: compute every request)."""
    app = FastAPI(
        title="ratelens",
        version=__version__,
        description=API_DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load from a CDN: /docs/api draws the spec
        redoc_url=None,
        lifespan=_warm_up,
    )
    app.state.warehouse = CachedWarehouse(open_warehouse(home), n_reports=n_reports)
    app.state.api_key = config.setting("api_key") if api_key is None else api_key
    app.include_router(api.router)
    app.include_router(pages.router)
    static = Path(str(resources.files("ratelens.web") / "static"))
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.add_middleware(Guard)
    _add_error_handlers(app)
    return app


@asynccontextmanager
async def _warm_up(app: FastAPI) -> AsyncIterator[None]:
    """Start-up: the warehouse views, Parquet footers and packs, before the first request
    (issue 18: the first request under a second); a failure only leaves them cold."""
    try:
        app.state.warehouse.warm_up(registry.TABLES)
    except (RatelensError, duckdb.Error, OSError) as exc:
        log.warning("warm-up skipped: %s", exc)
    yield


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the app with uvicorn until interrupted (``ratelens serve``)."""
    import uvicorn

    uvicorn.run(create_app(), host=host, port=port, log_level="info")


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


class Guard:
    """The app's outer layer (plain ASGI): the API key, HEAD as a GET without its body, and
    the security headers on every response that passes (``internal`` adds them to a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_head = scope["method"] == "HEAD"
        if is_head:
            scope = {**scope, "method": "GET"}
        send = _secured(send, is_head)
        key = scope["app"].state.api_key
        refusal = _key_check(Request(scope), key) if key else None
        await (refusal or self.app)(scope, receive, send)


def _secured(send: Send, is_head: bool) -> Send:
    """``send`` adding the security headers (and HEAD to a 405's Allow); a HEAD's body
    dropped, its Content-Length kept."""

    async def secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                headers.setdefault(name, value)
            allow = [m.strip() for m in headers.get("allow", "").split(",") if m.strip()]
            if "GET" in allow and "HEAD" not in allow:
                headers["allow"] = ", ".join([*allow, "HEAD"])
        elif message["type"] == "http.response.body" and is_head:
            message = {**message, "body": b""}
        await send(message)

    return secured


def key_token(key: str) -> str:
    """What a browser's cookie holds: derived from the key, so the key is never stored."""
    return hmac.new(key.encode(), b"ratelens browser session", hashlib.sha256).hexdigest()


def _is_same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _key_check(request: Request, key: str) -> Response | None:
    """None when the request may pass; else the answer: a 401, or for a page opened with
    the right ``?key=``, a cookie and the same address without the key."""
    headers, cookies = request.headers, request.cookies
    if request.url.path.startswith(OPEN_PATHS) or _is_same(headers.get("x-api-key"), key):
        return None
    if _is_same(cookies.get(KEY_COOKIE), key_token(key)):
        return None
    if _is_same(request.query_params.get("key"), key) and not is_api(request):
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "key"]
        to = request.url.path + (f"?{urlencode(rest)}" if rest else "")
        resp = RedirectResponse(to, 303)
        resp.set_cookie(KEY_COOKIE, key_token(key), httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")  # fmt: skip
        return resp
    if is_api(request):
        body = {
            "error": "Unauthorized",
            "message": "this server requires an API key: send it in the X-API-Key header",
        }
        return error_response(401, body, {"WWW-Authenticate": "X-API-Key"})
    message = ("This server needs its key. Open this address once with ?key= and the key "
               "added (a cookie then keeps it until the browser closes).")  # fmt: skip
    return pages.error_page(request, 401, {"error": "Unauthorized", "message": message})


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RatelensError)
    async def ratelens_error(request: Request, exc: RatelensError) -> Response:
        return _error(request, STATUS.get(type(exc), 400), exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [_problem(e) for e in exc.errors()]
        body = {
            "error": "UsageError",
            "message": "; ".join(p["message"] for p in problems),
            "detail": problems,
        }
        return _error(request, 422, body)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        name = "DataNotAvailable" if exc.status_code == 404 else "HTTPError"
        message = "no such page: data not available" if exc.status_code == 404 else exc.detail
        resp = _error(request, exc.status_code, {"error": name, "message": str(message)})
        resp.headers.update(exc.headers or {})  # a 405's Allow
        return resp

    @app.exception_handler(duckdb.IOException)
    async def busy(request: Request, exc: duckdb.IOException) -> Response:
        log.warning("warehouse unavailable: %s", exc)
        body = {
            "error": "WarehouseBusy",
            "message": "the warehouse catalog is locked (an ingest is running?): retry later",
        }
        return _error(request, 503, body)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s", request.url.path)
        body = {"error": "InternalError", "message": "internal error: see the server log"}
        if is_api(request):  # sent outside Guard: its headers are added here
            return error_response(500, body, SECURITY_HEADERS)
        return Response(
            f"<!DOCTYPE html><title>Error</title><p>{body['message']}</p>",
            500,
            SECURITY_HEADERS,
            media_type="text/html",
        )


def _problem(err: dict[str, Any]) -> dict[str, Any]:
    """One validation error in words: which parameter, what was wrong, what was sent."""
    where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "header"))
    found = err.get("input")
    text = f"{where}: {err.get('msg', 'invalid')}"
    if found is not None and not isinstance(found, dict):
        text += f" (got {str(found)[:40]!r})"
    return {"parameter": where, "message": text, "type": err.get("type")}


def _error(request: Request, status: int, body: dict[str, Any]) -> Response:
    if is_api(request):
        return error_response(status, body)
    return pages.error_page(request, status, body)
