"""Browser fixtures shared by every page test: a signed-in page per role and kept screenshots.

Screenshots are test artifacts, never tracked files: they go to ``var/screenshots/<test name>/``
(``var/`` is git-ignored), or under ``CUSTOS_SCREENSHOT_DIR`` when set (CI may collect it).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

PASSWORD = "a long e2e password"  # noqa: S105 - a test user's password, not a secret


@pytest.fixture
def screenshots(request) -> Path:
    """A folder for this test's screenshots (created, kept after the run)."""
    root = Path(os.environ.get("CUSTOS_SCREENSHOT_DIR") or Path(settings.BASE_DIR) / "var" / "screenshots")
    folder = root / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:120]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page_as(chromium, live_server, make_user):
    """``page_as(role, username=None, width=1366)`` -> a Playwright page signed in through the real
    login form as a new user of ``role`` (the user is ``page.custos_user``). Pages are closed after
    the test; the browser belongs to the ``chromium`` fixture."""
    opened = []

    def open_page(role: str, *, username: str | None = None, width: int = 1366, height: int = 900):
        user = make_user(role, **({"username": username} if username else {}))
        user.set_password(PASSWORD)
        user.save()
        page = chromium.new_page(viewport={"width": width, "height": height})
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "/accounts/login/" not in page.url, f"login as {role} failed"
        page.custos_user = user
        page.custos_url = live_server.url
        opened.append(page)
        return page

    yield open_page
    for page in opened:
        page.close()
