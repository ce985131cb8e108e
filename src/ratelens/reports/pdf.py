"""Documents as PDF: the self-contained HTML laid out by WeasyPrint, fetching nothing."""

from __future__ import annotations

from typing import Any


def render_pdf(html: str) -> bytes:
    """A PDF of ``html`` (from :mod:`ratelens.reports.html`); print CSS applies."""
    import weasyprint  # slow to import: only when a PDF is asked for

    return weasyprint.HTML(string=html, url_fetcher=_offline_fetcher()).write_pdf()


def _offline_fetcher() -> Any:
    """A URL fetcher that allows only ``data:`` URLs: a report never reaches the network."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # WeasyPrint before URLFetcher took a plain function

        def refuse(url: str) -> dict[str, Any]:
            raise ValueError(f"ratelens documents load no external resource: {url}")

        return refuse
    return URLFetcher(allowed_protocols=("data",))
