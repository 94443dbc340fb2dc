"""The shared page frame: header links from the page registry, a skip link, htmx served locally,
and axe-core able to judge a page (so every page test can call ``assert_accessible``)."""

import pytest

from core import pages
from tests.e2e.accessibility import assert_accessible, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_header_lists_installed_pages_and_skips_unresolvable_ones(page_as, screenshots):
    pages.nav_item("no-such-page:index", "Ghost", order=1)
    try:
        page = page_as("viewer")
        labels = page.locator("header nav a").all_inner_texts()
        assert "Catalog" in labels and "Ghost" not in labels
        assert page.locator("a.skip").get_attribute("href") == "#main"
        assert page.evaluate("typeof htmx") == "object"  # vendored, served from static/
        page.goto(f"{page.custos_url}/search/?q=x")
        assert page.locator("header nav a[aria-current=page]").all_inner_texts() == ["Catalog"]
        page.screenshot(path=str(screenshots / "home.png"), full_page=True)
        assert_accessible(page)
    finally:
        pages._nav.pop("no-such-page:index", None)


def test_axe_reports_a_serious_violation_when_there_is_one(page_as):
    page = page_as("viewer")
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=x.png>')")
    assert any(v["id"] == "image-alt" for v in axe_violations(page))
