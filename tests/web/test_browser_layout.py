"""The answer first, at desktop and phone widths, in headless Chromium (Debian's, as
test_browser.py): the payer table near the top, no page wider than its viewport, years
defaulting to the latest year with rates, errors a person reads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium); these run in CI",
                allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PAGES = ("/", "/codes/77407", "/codes/G6008", "/benchmark/77407", "/benchmark/77407?year=2025",
         "/sources", "/docs/api", "/codes/ZZZZZ", "/benchmark/77407?year=1999")


def open_page(browser: Any, live_server: Any, viewport: dict[str, int]) -> Page:
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    context.set_default_timeout(15_000)
    return context.new_page()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_page_is_wider_than_the_viewport(browser: Any, live_server: Any,
                                            viewport: dict[str, int]) -> None:
    page = open_page(browser, live_server, viewport)
    wide = {}
    for path in PAGES:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > viewport["width"]:
            wide[path] = width
    page.context.close()
    assert not wide, f"pages wider than {viewport['width']} px: {wide}"


def test_the_payer_table_is_on_the_first_screen_on_a_desktop(browser: Any,
                                                             live_server: Any) -> None:
    page = open_page(browser, live_server, DESKTOP)
    page.goto("/benchmark/77407")
    table = page.locator("#payers table").first
    expect(table).to_be_visible()
    top = page.evaluate(
        "document.querySelector('#payers table').getBoundingClientRect().top + scrollY")
    headline = page.locator(".headline")
    expect(headline).to_contain_text("rates")
    assert page.locator(".banner").count() <= 1 + page.locator(".banner-alert").count()
    page.context.close()
    assert top < 1400, f"the payer table starts {top:.0f} px down"


def test_the_payer_table_sorts_by_a_column(browser: Any, live_server: Any) -> None:
    page = open_page(browser, live_server, DESKTOP)
    page.goto("/benchmark/77407")
    table = page.locator("#payers table.sortable").first
    table.get_by_role("button", name="Median", exact=True).click()
    column = page.evaluate("""() => {
        const t = document.querySelector('#payers table.sortable');
        const i = [...t.tHead.rows[0].cells].findIndex(c => c.textContent.startsWith('Median'));
        return [...t.tBodies[0].rows].map(r => r.cells[i].textContent.trim());
    }""")
    numbers = [float(x.replace("$", "").replace(",", "")) for x in column if x.startswith("$")]
    page.context.close()
    assert numbers == sorted(numbers) and len(numbers) > 1


def test_a_code_page_without_a_year_opens_the_latest_year_with_data(browser: Any,
                                                                      live_server: Any) -> None:
    page = open_page(browser, live_server, DESKTOP)
    page.goto("/codes/G6008")  # deleted for 2026: its latest year is 2025
    expect(page.locator("h1")).to_contain_text("2025")
    page.context.close()


@pytest.mark.parametrize(("path", "status"), [
    ("/codes/ZZZZZ", 404), ("/benchmark/77407?year=1999", 404), ("/codes/%3Cscript%3E", 404),
    ("/benchmark/abc", 404), ("/benchmark/ZZ999", 404),
])
def test_errors_a_person_reads(browser: Any, live_server: Any, path: str, status: int) -> None:
    page = open_page(browser, live_server, DESKTOP)
    response = page.goto(path)
    text = page.locator("main").inner_text()
    page.context.close()
    assert response is not None and response.status == status
    for leak in ("Error", "pattern", "site-packages", "^", "$"):
        assert leak not in text.split("Search codes")[0].replace("error", ""), (leak, text)
