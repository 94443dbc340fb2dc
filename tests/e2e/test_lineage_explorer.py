"""The lineage explorer in a real browser, on the demo catalog (``manage.py demo_load``).

The central check reads the drawing back from the DOM: every edge path (sampled along its length
with ``getPointAtLength``) and every node box (``getBBox``), both in the graph's own coordinates,
and asserts that no edge segment enters a node box other than its own two endpoints, and that each
edge starts on its source box and ends on its target box (so a missing or detached edge fails).
"""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from catalog import services as catalog
from catalog.choices import Sensitivity
from catalog.models import DataAsset, ModelVersion
from tests.e2e.accessibility import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INSET = 0.5  # a segment must enter a box by more than this (graph units) to count as crossing it
TOUCH = 2.0  # an edge's ends lie within this of their boxes' borders

GEOMETRY_JS = """() => {
  const viewport = document.querySelector('#lineage-canvas svg g.viewport');
  const toGraph = (el) => viewport.getCTM().inverse().multiply(el.getCTM());
  const boxes = [...viewport.querySelectorAll('g.node')].map((g) => {
    const rect = g.querySelector('rect.box'), b = rect.getBBox(), m = toGraph(rect);
    const p = new DOMPoint(b.x, b.y).matrixTransform(m), q = new DOMPoint(b.x + b.width, b.y + b.height).matrixTransform(m);
    return {id: g.dataset.id, label: g.querySelector('title').textContent,
            x1: Math.min(p.x, q.x), y1: Math.min(p.y, q.y), x2: Math.max(p.x, q.x), y2: Math.max(p.y, q.y)};
  });
  const edges = [...viewport.querySelectorAll('path.edge')].map((path) => {
    const m = toGraph(path), length = path.getTotalLength(), n = Math.max(2, Math.ceil(length));
    const points = [];
    for (let i = 0; i <= n; i++) {
      const p = path.getPointAtLength(length * i / n).matrixTransform(m);
      points.push([p.x, p.y]);
    }
    return {id: path.dataset.id, source: path.dataset.source, target: path.dataset.target, points};
  });
  const labels = [...viewport.querySelectorAll('g.labels text')].map((t) => {
    const b = t.getBBox(), m = toGraph(t);
    const p = new DOMPoint(b.x, b.y).matrixTransform(m), q = new DOMPoint(b.x + b.width, b.y + b.height).matrixTransform(m);
    return {text: t.textContent, x1: p.x, y1: p.y, x2: q.x, y2: q.y};
  });
  return {boxes, edges, labels, state: document.getElementById('lineage-explorer').dataset.state};
}"""


@dataclass(frozen=True)
class Box:
    id: str
    label: str
    x1: float
    y1: float
    x2: float
    y2: float


def _segment_enters(box: Box, a, b, inset: float = INSET) -> bool:
    """Liang-Barsky: does segment a-b meet the box shrunk by ``inset`` on every side?"""
    x1, y1, x2, y2 = box.x1 + inset, box.y1 + inset, box.x2 - inset, box.y2 - inset
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, ax - x1), (dx, x2 - ax), (-dy, ay - y1), (dy, y2 - ay)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def _distance_to_border(box: Box, point) -> float:
    x, y = point
    dx = max(box.x1 - x, 0, x - box.x2)
    dy = max(box.y1 - y, 0, y - box.y2)
    outside = (dx * dx + dy * dy) ** 0.5
    if outside:
        return outside
    return min(x - box.x1, box.x2 - x, y - box.y1, box.y2 - y)


def drawing_problems(geometry: dict) -> list[str]:
    """Every edge that crosses a box not its own, or whose ends are not on its own boxes."""
    boxes = {b["id"]: Box(**b) for b in geometry["boxes"]}
    problems = []
    for edge in geometry["edges"]:
        source, target = boxes.get(edge["source"]), boxes.get(edge["target"])
        name = f"edge {edge['id']} {source.label if source else edge['source']} -> {target.label if target else edge['target']}"
        if source is None or target is None:
            problems.append(f"{name}: an end has no box")
            continue
        points = edge["points"]
        if _distance_to_border(source, points[0]) > TOUCH:
            problems.append(f"{name}: starts {points[0]} away from its source box")
        if _distance_to_border(target, points[-1]) > TOUCH:
            problems.append(f"{name}: ends {points[-1]} away from its target box")
        for box in boxes.values():
            if box.id in (edge["source"], edge["target"]):
                continue
            if any(_segment_enters(box, a, b) for a, b in zip(points, points[1:], strict=False)):
                problems.append(f"{name}: crosses {box.label}")
    for label in geometry.get("labels", []):  # transformation labels never sit on a box either
        for box in boxes.values():
            if (
                label["x1"] < box.x2 - INSET
                and box.x1 + INSET < label["x2"]
                and label["y1"] < box.y2 - INSET
                and box.y1 + INSET < label["y2"]
            ):
                problems.append(f"label {label['text']!r} overlaps {box.label}")
    return problems


def load_demo() -> None:
    call_command("demo_load", "--no-scan", "--no-logins", stdout=StringIO())


def open_ready(page, path: str) -> dict:
    page.goto(page.custos_url + path)
    page.wait_for_selector("#lineage-explorer[data-state=ready]", timeout=30_000)
    return page.evaluate(GEOMETRY_JS)


def node_titles(page) -> list[str]:
    return page.eval_on_selector_all("g.node > title", "els => els.map(e => e.textContent)")


def wait_ready(page) -> None:
    page.wait_for_selector("#lineage-explorer[data-state=ready]", timeout=30_000)


def test_the_checker_finds_a_crossing_and_a_detached_edge():
    boxes = [
        {"id": "a", "label": "a", "x1": 0, "y1": 0, "x2": 10, "y2": 10},
        {"id": "b", "label": "b", "x1": 100, "y1": 0, "x2": 110, "y2": 10},
        {"id": "c", "label": "c", "x1": 50, "y1": 0, "x2": 60, "y2": 10},
    ]
    straight = {"id": "1", "source": "a", "target": "b", "points": [[10, 5], [55, 5], [100, 5]]}
    around = {"id": "2", "source": "a", "target": "b", "points": [[10, 5], [30, 5], [30, 20], [80, 20], [80, 5], [100, 5]]}
    detached = {"id": "3", "source": "a", "target": "b", "points": [[10, 30], [100, 30]]}
    assert drawing_problems({"boxes": boxes, "edges": [around]}) == []
    assert drawing_problems({"boxes": boxes, "edges": [straight]}) == ["edge 1 a -> b: crosses c"]
    assert len(drawing_problems({"boxes": boxes, "edges": [detached]})) == 2
    on_c = {"text": "DIRECT/IDENTITY", "x1": 52, "y1": 2, "x2": 90, "y2": 8}
    assert drawing_problems({"boxes": boxes, "edges": [around], "labels": [on_c]}) == ["label 'DIRECT/IDENTITY' overlaps c"]


def test_no_edge_crosses_a_node_box_on_any_demo_graph(page_as, screenshots):
    load_demo()
    page = page_as("steward", width=1366, height=768)
    graphs = [(f"model {mv}", reverse("lineage:model_version", args=[mv.pk])) for mv in ModelVersion.objects.order_by("pk")]
    for asset in DataAsset.objects.order_by("qualified_name"):
        graphs.append((f"asset {asset.qualified_name}", reverse("lineage:asset", args=[asset.pk]) + "?depth=10"))
        graphs.append(
            (f"columns of {asset.qualified_name}", reverse("lineage:asset", args=[asset.pk]) + "?depth=10&level=column")
        )
    report, problems, edges_seen = [], [], 0
    for name, path in graphs:
        geometry = open_ready(page, path)
        found = drawing_problems(geometry)
        edges_seen += len(geometry["edges"])
        report.append(f"{name}: {len(geometry['boxes'])} boxes, {len(geometry['edges'])} edges, {len(found)} problems")
        problems += [f"{name}: {p}" for p in found]
        slug = "".join(ch if ch.isalnum() else "_" for ch in name)[:60]
        page.screenshot(path=str(screenshots / f"{slug}.png"))
    print("\n".join(report))
    (screenshots / "report.txt").write_text("\n".join(report + problems) + "\n")
    assert edges_seen > 50, report  # the demo graphs were drawn (a blank page would pass vacuously)
    assert not problems, "\n".join(problems)


def test_the_readmission_model_is_on_screen_at_1366_after_fit(page_as, screenshots):
    load_demo()
    mv = ModelVersion.objects.get(model__name="readmission-risk", version="1.0.0")
    page = page_as("steward", width=1366, height=768)
    geometry = open_ready(page, reverse("lineage:model_version", args=[mv.pk]))
    page.screenshot(path=str(screenshots / "readmission_1366x768.png"))
    assert any(b["id"] == f"model_version:{mv.pk}" for b in geometry["boxes"])
    box = page.locator(f'g.node[data-id="model_version:{mv.pk}"] rect.box').bounding_box()
    canvas = page.locator("#lineage-canvas").bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= 1366 and box["y"] + box["height"] <= 768, box
    for rect in page.locator("g.node rect.box").all():  # fit: the whole graph inside the canvas
        b = rect.bounding_box()
        assert canvas["x"] <= b["x"] and b["x"] + b["width"] <= canvas["x"] + canvas["width"] + 0.5
        assert canvas["y"] <= b["y"] and b["y"] + b["height"] <= canvas["y"] + canvas["height"] + 0.5
    names = node_titles(page)
    assert any("clinical.patients" in n for n in names) and any("ingest_lab_results" in n for n in names)
    assert not drawing_problems(geometry)
    assert_accessible(page)


def test_a_steward_expands_hop_by_hop_and_pans_and_zooms(page_as, screenshots):
    load_demo()
    patients = DataAsset.objects.get(qualified_name="clinical.patients")
    page = page_as("steward", width=1366, height=768)
    open_ready(page, reverse("lineage:asset", args=[patients.pk]) + "?depth=1")
    ids = lambda: set(page.eval_on_selector_all("g.node", "els => els.map(e => e.dataset.id)"))  # noqa: E731
    first = ids()
    assert len(first) == 2  # the table and the job that reads it
    (job,) = [i for i in first if i.startswith("job:")]
    assert page.locator(f'g.node[data-id="asset:{patients.pk}"] g.expand.upstream').count() == 0  # a source: nothing upstream
    with page.expect_response(lambda r: "graph.json" in r.url and "direction=downstream" in r.url):
        page.click(f'g.node[data-id="{job}"] g.expand.downstream')
    wait_ready(page)
    features = DataAsset.objects.get(qualified_name="clinical/readmission_features")
    assert f"asset:{features.pk}" in ids()
    page.screenshot(path=str(screenshots / "after_one_hop.png"))
    # by keyboard: the job's upstream button, Enter
    page.focus(f'g.node[data-id="{job}"] g.expand.upstream')
    with page.expect_response(lambda r: "graph.json" in r.url and "direction=upstream" in r.url):
        page.keyboard.press("Enter")
    wait_ready(page)
    lab = DataAsset.objects.get(qualified_name="clinical.lab_results")
    assert f"asset:{lab.pk}" in ids() and len(ids()) == 5  # + encounters, lab_results
    page.click(f'g.node[data-id="asset:{lab.pk}"] g.expand.upstream')
    wait_ready(page)
    page.wait_for_function("() => document.querySelectorAll('g.node').length > 5")
    names = " ".join(node_titles(page))
    assert "ingest_lab_results" in names
    geometry = page.evaluate(GEOMETRY_JS)
    assert not drawing_problems(geometry)
    page.screenshot(path=str(screenshots / "after_three_hops.png"))
    # details of a node, then its edge table row
    page.click(f'g.node[data-id="asset:{lab.pk}"] rect.hit')
    assert "clinical.lab_results" in page.locator("#lineage-details h2").inner_text()
    assert page.locator("#lineage-edges tr").count() == len(geometry["edges"])
    # pan and zoom: buttons, wheel, drag, keyboard
    transform = lambda: page.get_attribute("g.viewport", "transform")  # noqa: E731
    before = transform()
    page.click("button[data-action=zoom-in]")
    assert transform() != before
    canvas = page.locator("#lineage-canvas").bounding_box()
    cx, cy = canvas["x"] + 40, canvas["y"] + canvas["height"] - 30
    page.mouse.move(cx, cy)
    zoomed = transform()
    page.mouse.wheel(0, 300)
    page.wait_for_function(f"() => document.querySelector('g.viewport').getAttribute('transform') !== {zoomed!r}")
    dragged = transform()
    page.mouse.down()
    page.mouse.move(cx + 120, cy - 40, steps=5)
    page.mouse.up()
    assert transform() != dragged
    page.focus("#lineage-canvas")
    keyed = transform()
    page.keyboard.press("ArrowLeft")
    assert transform() != keyed
    page.keyboard.press("0")  # fit again
    page.screenshot(path=str(screenshots / "refit.png"))
    assert_accessible(page)


def test_column_level_shows_pii_paths_and_transformations(page_as, screenshots):
    load_demo()
    features = DataAsset.objects.get(qualified_name="clinical/readmission_features")
    page = page_as("steward", width=1366, height=768)
    geometry = open_ready(page, reverse("lineage:asset", args=[features.pk]) + "?level=column&depth=2")
    page.screenshot(path=str(screenshots / "features_columns.png"))
    assert geometry["edges"] and not drawing_problems(geometry)
    labels = page.eval_on_selector_all("g.labels text", "els => els.map(e => e.textContent)")
    assert any("masked" in label for label in labels), labels  # age_band derives from date_of_birth, masked
    assert page.locator("path.edge.stop").count() > 0
    age_band = features.columns.get(name="age_band")
    masked = page.locator("path.edge.stop").first.get_attribute("data-id")
    page.locator(f'path.edge-hit[data-edge="{masked}"]').dispatch_event("click")
    assert "Transformations" in page.locator("#lineage-details").inner_text()
    assert page.locator(f'g.node[data-id="column:{age_band.pk}"]').count() == 1
    assert_accessible(page)


def test_a_viewer_never_sees_a_restricted_node(page_as, make_user, screenshots):
    load_demo()
    steward = make_user("steward")
    lab = DataAsset.objects.get(qualified_name="clinical.lab_results")
    catalog.asset_update(asset=lab, actor=steward, sensitivity=Sensitivity.RESTRICTED)
    mv = ModelVersion.objects.get(model__name="readmission-risk", version="1.0.0")
    build_path = reverse("lineage:model_version", args=[mv.pk])

    admin = page_as("admin")
    open_ready(admin, build_path)
    assert "clinical.lab_results" in admin.content()  # the restricted table is in this graph

    viewer = page_as("viewer")
    open_ready(viewer, build_path)
    html = viewer.content()
    assert "clinical.lab_results" not in html and "ingest_lab_results" not in html
    viewer.screenshot(path=str(viewer_shot := screenshots / "viewer_readmission.png"))
    assert viewer_shot.exists()
    # expanding every node every way still never brings it in
    for _ in range(3):
        buttons = viewer.locator("g.expand")
        if not buttons.count():
            break
        buttons.first.click()
        wait_ready(viewer)
    assert "clinical.lab_results" not in viewer.content()
    answer = viewer.request.get(viewer.custos_url + reverse("lineage:explorer_graph") + f"?node=asset:{lab.pk}")
    assert answer.status == 404
    assert viewer.request.get(viewer.custos_url + reverse("lineage:asset", args=[lab.pk])).status == 404


def test_a_steward_finds_a_table_and_follows_a_pii_path_upstream(page_as, screenshots):
    load_demo()
    lab = DataAsset.objects.get(qualified_name="clinical.lab_results")
    value = lab.columns.get(name="value")
    page = page_as("steward", width=1366, height=768)
    page.goto(page.custos_url + reverse("lineage:explorer"))
    page.fill("input[name=q]", "lab_results")
    page.click("form.toolbar button[type=submit]")
    assert_accessible(page)
    page.click("ul.hits a:text-is('clinical.lab_results')")
    wait_ready(page)
    page.select_option("select[name=level]", "column")
    page.fill("input[name=depth]", "0")
    page.click("form.toolbar button[type=submit]")
    wait_ready(page)
    node = f'g.node[data-id="column:{value.pk}"]'
    assert "HEALTH_DATA" in page.eval_on_selector(f"{node} > title", "e => e.textContent")
    with page.expect_response(lambda r: "graph.json" in r.url and "direction=upstream" in r.url):
        page.click(f"{node} g.expand.upstream")
    wait_ready(page)
    geometry = page.evaluate(GEOMETRY_JS)
    (edge,) = [e for e in geometry["edges"] if e["target"] == f"column:{value.pk}"]
    source = next(b for b in geometry["boxes"] if b["id"] == edge["source"])
    assert "lis/lab_results_export.csv.value" in source["label"] and "HEALTH_DATA" in source["label"]
    assert "carries-pii" in page.get_attribute(f'path.edge[data-id="{edge["id"]}"]', "class")
    assert not drawing_problems(geometry)
    page.locator(f'path.edge-hit[data-edge="{edge["id"]}"]').dispatch_event("click")
    details = page.locator("#lineage-details").inner_text()
    assert "PII flows\nyes" in details and "DIRECT / IDENTITY" in details
    page.screenshot(path=str(screenshots / "pii_path_upstream.png"))
    # as of a day before the demo's lineage existed: the start alone, and said so
    page.goto(page.custos_url + reverse("lineage:asset", args=[lab.pk]) + "?at=2000-01-01")
    wait_ready(page)
    assert page.locator("g.node").count() == 1 and page.locator("path.edge").count() == 0
    assert "The graph as of 2000-01-01T23:59:59.999999Z" in page.locator("p.asof").inner_text()
    page.screenshot(path=str(screenshots / "as_of_2000.png"))


def test_no_edge_crosses_a_box_on_a_tangled_graph_with_long_edges_fan_out_and_a_cycle(page_as, make_user, screenshots):
    """Harder than the demo: inputs reused many layers later, a fan-out/fan-in, and a cycle (a
    job writing back into a source), which a layered layout must route backwards around boxes."""
    from lineage.openlineage import event_ingest
    from tests.lineage.helpers import dataset, run_event

    d = lambda name: dataset(name, columns=["id", "email"])  # noqa: E731
    wide = [f"wide.t{i}" for i in range(6)]
    events = [
        run_event("j1", [d("raw.a")], [d("s.one")]),
        run_event("j2", [d("s.one"), d("raw.b")], [d("s.two")]),
        run_event("j3", [d("s.two"), d("raw.a"), d("raw.c")], [d("s.three")]),
        run_event("j4", [d("s.three"), d("s.one")], [d("s.four")]),
        run_event("j5", [d("s.four")], [d("raw.b")]),  # the cycle
        run_event("j6", [d("s.two")], [d(name) for name in wide]),
        run_event("j7", [d(name) for name in wide] + [d("raw.a")], [d("agg.all")]),
        run_event("j8", [d("agg.all"), d("raw.c"), d("s.one")], [d("report.final")]),
    ]
    service = make_user("service")
    for event in events:
        event_ingest(payload=event, actor=service)
    page = page_as("steward", width=1366, height=768)
    start = DataAsset.objects.get(qualified_name="s.two")
    geometry = open_ready(page, reverse("lineage:asset", args=[start.pk]) + "?depth=10")
    page.screenshot(path=str(screenshots / "tangled.png"))
    assert len(geometry["boxes"]) >= 20 and len(geometry["edges"]) >= 25, (len(geometry["boxes"]), len(geometry["edges"]))
    problems = drawing_problems(geometry)
    assert not problems, "\n".join(problems)


def test_the_asset_page_lineage_tab_leads_into_the_explorer(page_as, screenshots):
    load_demo()
    lab = DataAsset.objects.get(qualified_name="clinical.lab_results")
    page = page_as("steward", width=1366, height=768)
    page.goto(page.custos_url + reverse("catalog:asset", args=[lab.pk]) + "#panel-lineage")
    panel = page.locator("#panel-lineage")
    page.locator("a[href='#panel-lineage']").first.click()
    assert panel.is_visible()
    text = panel.inner_text()
    assert "lis/lab_results_export.csv" in text and "clinical/readmission_features" in text and "readmission-risk@1.0.0" in text
    page.screenshot(path=str(screenshots / "asset_lineage_tab.png"))
    assert_accessible(page)
    panel.locator("a", has_text="Open in the lineage explorer").click()
    wait_ready(page)
    assert page.locator(f'g.node.root[data-id="asset:{lab.pk}"]').count() == 1
