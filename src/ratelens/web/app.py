"""The web app: HTML pages and /api/v1 over the same library calls as the CLI.

``create_app(home)`` builds the app over the user's warehouse (or the bundled sample when
nothing is ingested); ``serve(host, port)`` runs it with uvicorn. The app only reads.

- Errors: every /api error is ``RatelensError.to_dict()`` JSON ({"error", "message", ...});
  pages show the same message in HTML. Bad parameters are 422, not-a-code 404, a missing
  or wrong API key 401, a warehouse locked by an ingest 503; never a bare 500.
- ``RATELENS_API_KEY`` set: every /api request needs the header ``X-API-Key``.
- No CORS headers: browsers of other origins cannot read the API.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ratelens import __version__, config
from ratelens.errors import DataNotAvailable, RatelensError, UsageError
from ratelens.sample import open_warehouse
from ratelens.web import api, pages
from ratelens.web.warehouse_cache import CachedWarehouse

log = logging.getLogger("ratelens.web")

API_DESCRIPTION = """\
What a US billing code is and what it is paid, from public data, every figure traceable
to the file and row it came from. Read-only. Errors are JSON objects
`{"error": <class>, "message": <what, where, what to do>, ...}`.
If the server has `RATELENS_API_KEY` set, send it in the `X-API-Key` header.
"""

STATUS: dict[type[RatelensError], int] = {DataNotAvailable: 404, UsageError: 422}


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
    )
    app.state.warehouse = CachedWarehouse(open_warehouse(home), n_reports=n_reports)
    app.state.api_key = config.setting("api_key") if api_key is None else api_key
    app.include_router(api.router)
    app.include_router(pages.router)
    static = Path(str(resources.files("ratelens.web") / "static"))
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.middleware("http")(_require_api_key)
    _add_error_handlers(app)
    return app


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


async def _require_api_key(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    key = request.app.state.api_key
    if key and request.url.path.startswith("/api/"):
        given = request.headers.get("x-api-key", "")
        if not hmac.compare_digest(given.encode(), key.encode()):
            body = {
                "error": "Unauthorized",
                "message": "this server requires an API key: send it in the X-API-Key header",
            }
            return error_response(401, body, {"WWW-Authenticate": "X-API-Key"})
    return await call_next(request)


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
        return _error(request, exc.status_code, {"error": name, "message": str(message)})

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
        if is_api(request):
            return error_response(500, body)
        return Response(
            f"<!DOCTYPE html><title>Error</title><p>{body['message']}</p>",
            500,
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
