"""The asset page's quality tab and the version page's resolve form in headless Chromium: a steward
acknowledges a quality-suite alert with a reason on the asset page, and resolves a monitor alert on the
version page. axe-core must report no serious or critical violation; screenshots under var/screenshots/."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring import services
from monitoring.choices import AlertState
from monitoring.models import Alert, QualityAlert
from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import page_as, screenshots  # noqa: F401 - fixtures
from tests.factories import AssetFactory
from tests.monitoring.test_pages import build_monitored_model

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _frame(seed, nulls=0.0):
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 5, 400)
    income[rng.random(400) < nulls] = np.nan
    return pd.DataFrame({"id": [f"r{seed}-{i}" for i in range(400)], "income": income, "city": rng.choice(["oslo", "rome"], 400)})


def test_a_steward_acknowledges_a_quality_alert_on_the_asset_page(page_as, users, tmp_path, settings, screenshots):  # noqa: F811
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    _frame(1).to_parquet(tmp_path / "ref.parquet")
    _frame(2, nulls=0.3).to_parquet(tmp_path / "cur.parquet")
    reference = AssetFactory(location=str(tmp_path / "ref.parquet"), qualified_name="files.last_week")
    asset = AssetFactory(location=str(tmp_path / "cur.parquet"), qualified_name="files.today", name="today")
    suite = services.quality_suite_create(actor=users["steward"], asset=asset, name="daily", reference_asset=reference)
    services.quality_suite_run(actor=users["service"], suite=suite)
    alert = QualityAlert.objects.get()

    page = page_as("steward")
    page.goto(f"{page.custos_url}/assets/{asset.pk}/#panel-quality")
    page.wait_for_load_state("networkidle")
    tab = page.locator("#tab-panel-quality")
    if tab.count():
        tab.click()
    panel = page.locator("#panel-quality")
    assert "null_share:income" in panel.inner_text()
    panel.screenshot(path=str(screenshots / "01-quality-tab.png"))
    assert_accessible(page)
    panel.locator(f"#qack-{alert.pk}").fill("supplier re-sends tonight")
    panel.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state("networkidle")
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED and alert.acknowledge_reason == "supplier re-sends tonight"
    page.screenshot(path=str(screenshots / "02-acknowledged.png"), full_page=True)


def test_a_steward_resolves_a_monitor_alert_on_the_version_page(page_as, users, tmp_path, settings, screenshots):  # noqa: F811
    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    monitored = build_monitored_model(users, tmp_path)
    alert = Alert.objects.filter(monitor__model_version=monitored.version).exclude(state=AlertState.RESOLVED).first()
    page = page_as("steward")
    page.goto(f"{page.custos_url}/models/versions/{monitored.version.pk}/")
    page.wait_for_load_state("networkidle")
    article = page.locator(f"article[aria-labelledby='alert-{alert.pk}']")
    article.screenshot(path=str(screenshots / "01-alert-with-resolve.png"))
    assert_accessible(page)
    article.locator(f"#resolve-{alert.pk}").fill("retrained, v2 deployed")
    article.get_by_role("button", name="Resolve").click()
    page.wait_for_load_state("networkidle")
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alert.resolve_reason == "retrained, v2 deployed"
    page.screenshot(path=str(screenshots / "02-after-resolve.png"))
