/* Custos lineage explorer: lays out the graph the server allows this user to see with elkjs
 * (layered, left to right, orthogonal edge routing: edges run in the gaps between layers and
 * around boxes, never through one) and draws it as SVG with pan, zoom, hop-by-hop expansion,
 * PII paths and the transformations on each edge.
 *
 * Data: #lineage-data (the first answer, json_script) and #lineage-config; more hops come from
 * config.graph_url (lineage:explorer_graph, scoped like the API). Every text from the server is
 * set with textContent, never parsed as HTML.
 *
 * DOM contract used by the browser tests: svg g.node[data-id] > rect.box; path.edge[data-source]
 * [data-target][data-id]; #lineage-explorer[data-state=ready] once a layout is drawn. A node whose
 * neighbours the server left out (hidden_upstream / hidden_downstream, a hub's fan-out) gets an
 * "N more" box of its own, g.node.more[data-more-for][data-direction], laid out like any node and
 * joined to it by path.edge.more-link; activating it loads the next page of those neighbours.
 */
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const NODE_W = 150, MAX_W = 320, NODE_H = 46, BTN = 15, PAD = 20, MORE_H = 30, PAGE = 30;
  const host = document.getElementById("lineage-explorer");
  const canvas = document.getElementById("lineage-canvas");
  if (!host || !canvas || typeof ELK === "undefined") return;
  const config = JSON.parse(document.getElementById("lineage-config").textContent);
  const first = JSON.parse(document.getElementById("lineage-data").textContent);
  const details = document.getElementById("lineage-details");
  const statusLine = document.getElementById("lineage-status");
  const edgeRows = document.getElementById("lineage-edges");
  const elk = new ELK();

  const state = {
    nodes: new Map(),
    edges: new Map(),
    roots: new Set(first.roots),
    level: first.level,
    at: config.at || "",
    view: { x: 0, y: 0, k: 1 },
    size: { w: 0, h: 0 },
    positions: new Map(),
    selected: null,
    pii: true,
  };

  // --- the model -------------------------------------------------------------------------------

  function merge(answer) {
    let added = 0;
    for (const node of answer.nodes) {
      const known = state.nodes.get(node.id);
      if (!known) {
        state.nodes.set(node.id, node);
        added += 1;
        continue;
      }
      // A flag this answer settles wins; one it does not know (null) keeps what we knew.
      for (const flag of ["more_upstream", "more_downstream", "hidden_upstream", "next_upstream", "hidden_downstream", "next_downstream"]) {
        if (node[flag] !== null && node[flag] !== undefined) known[flag] = node[flag];
      }
    }
    for (const edge of answer.edges) {
      if (!state.edges.has(edge.pk)) {
        state.edges.set(edge.pk, edge);
        added += 1;
      }
    }
    return added;
  }

  // [name, second line, what must stay at the end of the second line when it is cut]
  function nodeLines(node) {
    const pii = node.pii && node.pii.length ? " · PII" : "";
    if (node.type === "column") return [node.name, node.asset_name, (node.data_type ? " · " + node.data_type : "") + pii];
    if (node.type === "job") return [node.name, node.namespace, " · job"];
    if (node.type === "model_version") return [node.name, "model version · " + node.stage, ""];
    return [node.name, node.namespace.replace(/^[a-z0-9+.-]+:\/\//i, ""), " · " + node.kind + pii];
  }

  function edgeLabel(edge) {
    const parts = (edge.transformations || []).map(function (t) {
      return [t.type, t.subtype].filter(Boolean).join("/") + (t.masking ? " · masked" : "");
    });
    // an asset-level edge through a job: the transformations of the column lineage it carries
    if (!parts.length && edge.column_flows) return edge.column_flows.types.join("; ");
    if (!parts.length && edge.kind === "anonymized") parts.push("anonymized");
    return parts.join("; ");
  }

  function flowSummary(edge) {
    const f = edge.column_flows;
    if (!f) return "";
    return f.columns + " column derivation" + (f.columns === 1 ? "" : "s") + (f.masked ? ", " + f.masked + " masked" : "") +
      ": " + f.types.join("; ");
  }

  // "N more" boxes: one per node and direction with neighbours left out by the server
  function moreBoxes() {
    const out = [];
    for (const node of state.nodes.values()) {
      for (const direction of ["upstream", "downstream"]) {
        const hidden = node["hidden_" + direction];
        if (hidden) out.push({ id: "more:" + direction + ":" + node.id, node: node, direction: direction, hidden: hidden,
          text: hidden.toLocaleString("en") + " more " + direction });
      }
    }
    return out;
  }

  // --- drawing helpers -------------------------------------------------------------------------

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    if (parent) parent.appendChild(node);
    return node;
  }

  const svg = el("svg", { class: "graph", width: "100%", height: "100%", "aria-hidden": "false" });
  const defs = el("defs", {}, svg);
  for (const [id, colour] of [["arrow", "#6b7587"], ["arrow-pii", "#8e2c8e"], ["arrow-stop", "#c0392b"]]) {
    const marker = el("marker", { id: id, viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" }, defs);
    el("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }, marker);
  }
  const viewport = el("g", { class: "viewport" }, svg);
  canvas.appendChild(svg);

  const measurer = el("text", { class: "edge-label", x: "-9999", y: "-9999" }, svg);
  function textWidth(text, cls) {
    measurer.setAttribute("class", cls);
    measurer.textContent = text;
    return measurer.getComputedTextLength();
  }

  function fitText(textNode, text, width, suffix) {
    suffix = suffix || "";
    textNode.textContent = text + suffix;
    if (textNode.getComputedTextLength() <= width) return;
    let low = 0, high = text.length;
    while (low < high) {  // longest tail that fits after an ellipsis (names differ at the end)
      const mid = Math.ceil((low + high) / 2);
      textNode.textContent = "…" + text.slice(text.length - mid) + suffix;
      if (textNode.getComputedTextLength() <= width) low = mid; else high = mid - 1;
    }
    textNode.textContent = "…" + text.slice(text.length - low) + suffix;
  }

  function applyView() {
    const v = state.view;
    viewport.setAttribute("transform", "translate(" + v.x + "," + v.y + ") scale(" + v.k + ")");
  }

  // Wide enough for the whole name (up to MAX_W; longer ones are cut at the front, the tail kept).
  const widths = new Map();
  function nodeWidth(node) {
    if (!widths.has(node.id)) {
      const [line1, line2, tail] = nodeLines(node);
      const text = Math.max(textWidth(line1, "name"), textWidth(line2 + tail, "sub"));
      widths.set(node.id, Math.round(Math.min(MAX_W, Math.max(NODE_W, text + 2 * (BTN + 7) + 4))));
    }
    return widths.get(node.id);
  }

  // --- layout ------------------------------------------------------------------------------------

  async function layout() {
    const labelled = [];
    const graph = {
      id: "root",
      layoutOptions: {
        "elk.algorithm": "layered",
        "elk.direction": "RIGHT",
        "elk.edgeRouting": "ORTHOGONAL",
        "elk.layered.spacing.nodeNodeBetweenLayers": "56",
        "elk.layered.spacing.edgeNodeBetweenLayers": "20",
        "elk.layered.spacing.edgeEdgeBetweenLayers": "10",
        "elk.spacing.nodeNode": "26",
        "elk.spacing.edgeNode": "18",
        "elk.spacing.edgeEdge": "10",
        "elk.spacing.edgeLabel": "4",
        "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
        "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
        "elk.layered.mergeEdges": "false",
        "elk.edgeLabels.inline": "false",
        "elk.layered.edgeLabels.sideSelection": "SMART_UP",
        "elk.padding": "[top=10,left=10,bottom=10,right=10]",
      },
      children: [],
      edges: [],
    };
    const ids = Array.from(state.nodes.keys()).sort(function (a, b) {
      const da = state.nodes.get(a).depth || 0, db = state.nodes.get(b).depth || 0;
      return da - db || (a < b ? -1 : a > b ? 1 : 0);
    });
    for (const id of ids) graph.children.push({ id: id, width: nodeWidth(state.nodes.get(id)), height: NODE_H });
    state.more = new Map();
    for (const more of moreBoxes()) {
      state.more.set(more.id, more);
      graph.children.push({ id: more.id, width: Math.ceil(textWidth(more.text, "name")) + 28, height: MORE_H });
      graph.edges.push({ id: "m" + more.id, sources: [more.direction === "upstream" ? more.id : more.node.id],
        targets: [more.direction === "upstream" ? more.node.id : more.id] });
    }
    for (const edge of state.edges.values()) {
      if (!state.nodes.has(edge.source) || !state.nodes.has(edge.target) || edge.source === edge.target) continue;
      const item = { id: "e" + edge.pk, sources: [edge.source], targets: [edge.target] };
      const text = edgeLabel(edge);
      if (text) {
        item.labels = [{ id: "l" + edge.pk, text: text, width: Math.ceil(textWidth(text, "edge-label")) + 6, height: 14,
          layoutOptions: { "elk.edgeLabels.placement": "CENTER" } }];
        labelled.push(edge.pk);
      }
      graph.edges.push(item);
    }
    return elk.layout(graph);
  }

  // --- rendering ---------------------------------------------------------------------------------

  function isStop(edge) {
    return !!edge.stops_propagation || !!edge.masking;
  }

  function draw(result) {
    while (viewport.firstChild) viewport.removeChild(viewport.firstChild);
    state.positions.clear();
    state.size = { w: result.width || 0, h: result.height || 0 };
    const edgeLayer = el("g", { class: "edges" }, viewport);
    const labelLayer = el("g", { class: "labels" }, viewport);
    const nodeLayer = el("g", { class: "nodes" }, viewport);
    for (const item of result.edges || []) {
      if (item.id.charAt(0) === "m") { drawMoreLink(edgeLayer, item); continue; }
      const edge = state.edges.get(Number(item.id.slice(1)));
      for (const section of item.sections || []) {
        const points = [section.startPoint].concat(section.bendPoints || [], [section.endPoint]);
        const d = points.map(function (p, i) { return (i ? "L" : "M") + p.x.toFixed(1) + "," + p.y.toFixed(1); }).join(" ");
        const stop = isStop(edge);
        const cls = ["edge", "kind-" + edge.kind];
        if (stop) cls.push("stop");
        if (edge.pii) cls.push("carries-pii");
        const path = el("path", {
          class: cls.join(" "), d: d, "data-id": String(edge.pk), "data-source": edge.source, "data-target": edge.target,
          "marker-end": "url(#" + (stop ? "arrow-stop" : edge.pii && state.pii ? "arrow-pii" : "arrow") + ")",
        }, edgeLayer);
        const title = el("title", {}, path);
        title.textContent = edge.kind + (edgeLabel(edge) ? ": " + edgeLabel(edge) : "");
        // a wider invisible twin makes thin edges easy to click
        const hit = el("path", { class: "edge-hit", d: d, "data-edge": String(edge.pk) }, edgeLayer);
        hit.addEventListener("click", function (event) { event.stopPropagation(); select({ edge: edge.pk }); });
      }
      for (const label of item.labels || []) {
        const text = el("text", { class: "edge-label" + (edge.pii ? " carries-pii" : ""), x: (label.x + 3).toFixed(1), y: (label.y + 11).toFixed(1) }, labelLayer);
        text.textContent = label.text;
      }
    }
    for (const child of result.children || []) {
      if (state.more.has(child.id)) { drawMore(nodeLayer, child, state.more.get(child.id)); continue; }
      const node = state.nodes.get(child.id);
      state.positions.set(child.id, { x: child.x, y: child.y });
      const cls = ["node", node.type];
      if (state.roots.has(node.id) || config.root === node.id) cls.push("root");
      if (node.pii && node.pii.length) cls.push("has-pii");
      if (state.selected && state.selected.node === node.id) cls.push("selected");
      const g = el("g", { class: cls.join(" "), "data-id": node.id }, nodeLayer);
      el("rect", { class: "box", x: child.x, y: child.y, width: child.width, height: child.height, rx: 6 }, g);
      const [line1, line2, tail] = nodeLines(node);
      const left = child.x + BTN + 7, room = child.width - 2 * (BTN + 7);
      fitText(el("text", { class: "name", x: left, y: child.y + 19 }, g), line1, room);
      fitText(el("text", { class: "sub", x: left, y: child.y + 35 }, g), line2, room, tail);
      const title = el("title", {}, g);
      title.textContent = node.type + ": " + (node.type === "column" ? node.asset_name + "." : "") + node.name +
        (node.pii && node.pii.length ? " (PII: " + node.pii.join(", ") + ")" : "");
      // The focusable control is a transparent rect over the box (no text inside, so its name is
      // its label; the expand buttons are its siblings, not nested controls).
      const hit = el("rect", { class: "hit", x: child.x, y: child.y, width: child.width, height: child.height, rx: 6,
        tabindex: "0", role: "button",
        "aria-label": "Details of " + node.type.replace("_", " ") + " " + (node.type === "column" ? node.asset_name + "." : "") + node.name +
          (node.pii && node.pii.length ? ", holds " + node.pii.join(", ") : "") }, g);
      hit.addEventListener("click", function (event) { if (!state.dragged) select({ node: node.id }); event.stopPropagation(); });
      hit.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); select({ node: node.id }); }
      });
      if (node.more_upstream !== false) expandButton(g, node, "upstream", child.x + 4, child.y + (child.height - BTN) / 2);
      if (node.more_downstream !== false) expandButton(g, node, "downstream", child.x + child.width - BTN - 4, child.y + (child.height - BTN) / 2);
    }
    renderEdgeTable();
    applyView();
  }

  function drawMoreLink(layer, item) {
    const more = state.more.get(item.id.slice(1));
    for (const section of item.sections || []) {
      const points = [section.startPoint].concat(section.bendPoints || [], [section.endPoint]);
      const d = points.map(function (p, i) { return (i ? "L" : "M") + p.x.toFixed(1) + "," + p.y.toFixed(1); }).join(" ");
      el("path", { class: "edge more-link", d: d, "data-id": item.id, "data-source": item.sources[0], "data-target": item.targets[0],
        "marker-end": "url(#arrow)" }, layer);
    }
    return more;
  }

  function drawMore(layer, child, more) {
    const g = el("g", { class: "node more", "data-id": more.id, "data-more-for": more.node.id, "data-direction": more.direction }, layer);
    el("rect", { class: "box", x: child.x, y: child.y, width: child.width, height: child.height, rx: 14 }, g);
    const text = el("text", { class: "name", x: child.x + 14, y: child.y + 19 }, g);
    text.textContent = more.text;
    const title = el("title", {}, g);
    title.textContent = more.text + " of " + more.node.name + " (not drawn)";
    const count = Math.min(PAGE, more.hidden);
    const hit = el("rect", { class: "hit", x: child.x, y: child.y, width: child.width, height: child.height, rx: 14,
      tabindex: "0", role: "button", "aria-label": "Load " + count + " of " + more.hidden + " more " + more.direction + " of " + more.node.name }, g);
    function go(event) { event.stopPropagation(); if (!state.dragged) expand(more.node.id, more.direction, more.node["next_" + more.direction] || 0); }
    hit.addEventListener("click", go);
    hit.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); go(event); }
    });
  }

  function expandButton(parent, node, direction, x, y) {
    const known = node[direction === "upstream" ? "more_upstream" : "more_downstream"];
    const b = el("g", { class: "expand " + direction + (known === true ? " known" : ""), role: "button", tabindex: "0",
      "data-expand": direction, "aria-label": "Load one more hop " + direction + " of " + node.name }, parent);
    el("rect", { x: x, y: y, width: BTN, height: BTN, rx: 3 }, b);
    const t = el("text", { x: x + BTN / 2, y: y + BTN - 4, "text-anchor": "middle" }, b);
    t.textContent = "+";
    const title = el("title", {}, b);
    title.textContent = "Load one more hop " + direction;
    b.addEventListener("click", function (event) { event.stopPropagation(); if (!state.dragged) expand(node.id, direction); });
    b.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); event.stopPropagation(); expand(node.id, direction); }
    });
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
  }

  function nameOf(id) {
    const node = state.nodes.get(id);
    if (!node) return id;
    return node.type === "column" ? node.asset_name + "." + node.name : node.name;
  }

  function renderEdgeTable() {
    if (!edgeRows) return;
    while (edgeRows.firstChild) edgeRows.removeChild(edgeRows.firstChild);
    const edges = Array.from(state.edges.values()).sort(function (a, b) { return a.pk - b.pk; });
    for (const edge of edges) {
      const row = document.createElement("tr");
      row.dataset.edge = String(edge.pk);
      cell(row, nameOf(edge.source));
      cell(row, nameOf(edge.target));
      cell(row, edge.kind);
      cell(row, (edge.column_flows ? flowSummary(edge) : edgeLabel(edge)) || edge.transformation_type || "—");
      cell(row, edge.masking ? "yes" : "—");
      cell(row, edge.pii ? "yes" : "—");
      cell(row, edge.valid_from || "—");
      cell(row, edge.valid_to || "—");
      edgeRows.appendChild(row);
    }
    if (!edges.length) {
      const row = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 8;
      td.textContent = "No lineage recorded.";
      row.appendChild(td);
      edgeRows.appendChild(row);
    }
  }

  // --- details -----------------------------------------------------------------------------------

  function add(parent, tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    parent.appendChild(node);
    return node;
  }

  function select(what) {
    state.selected = what;
    for (const g of viewport.querySelectorAll("g.node.selected, path.edge.selected")) g.classList.remove("selected");
    while (details.firstChild) details.removeChild(details.firstChild);
    details.hidden = false;
    const close = add(details, "button", "×", "close");
    close.type = "button";
    close.setAttribute("aria-label", "Close details");
    close.addEventListener("click", function () {
      details.hidden = true;
      state.selected = null;
      for (const g of viewport.querySelectorAll(".selected")) g.classList.remove("selected");
      canvas.focus({ preventScroll: true });
    });
    if (what.node) {
      const node = state.nodes.get(what.node);
      const g = viewport.querySelector('g.node[data-id="' + CSS.escape(node.id) + '"]');
      if (g) g.classList.add("selected");
      add(details, "h2", node.type === "column" ? node.asset_name + "." + node.name : node.name);
      const dl = add(details, "dl");
      const pairs = [["type", node.type.replace("_", " ")]];
      if (node.namespace) pairs.push(["namespace", node.namespace]);
      if (node.kind) pairs.push(["kind", node.kind]);
      if (node.sensitivity) pairs.push(["sensitivity", node.sensitivity]);
      if (node.data_type) pairs.push(["data type", node.data_type]);
      if (node.stage) pairs.push(["stage", node.stage]);
      pairs.push(["PII", node.pii && node.pii.length ? node.pii.join(", ") : "none recorded"]);
      for (const [k, v] of pairs) { add(dl, "dt", k); add(dl, "dd", v); }
      const actions = add(details, "p", undefined, "actions");
      for (const direction of ["upstream", "downstream"]) {
        const flag = node[direction === "upstream" ? "more_upstream" : "more_downstream"];
        const button = add(actions, "button", flag === false ? "All " + direction + " loaded" : "One more hop " + direction);
        button.type = "button";
        button.disabled = flag === false;
        button.addEventListener("click", function () { expand(node.id, direction); });
      }
      const links = add(details, "p", undefined, "links");
      const explore = add(links, "a", "Explore from here");
      explore.href = node.links.explore + (state.at ? "&at=" + encodeURIComponent(state.at) : "");
      if (node.links.page) {
        links.appendChild(document.createTextNode(" · "));
        const page = add(links, "a", node.type === "model_version" ? "Model version page" : "Catalog page");
        page.href = node.links.page;
      }
    } else if (what.edge) {
      const edge = state.edges.get(what.edge);
      const path = viewport.querySelector('path.edge[data-id="' + edge.pk + '"]');
      if (path) path.classList.add("selected");
      add(details, "h2", edge.kind + " edge");
      add(details, "p", nameOf(edge.source) + " → " + nameOf(edge.target));
      const dl = add(details, "dl");
      const pairs = [["PII flows", edge.pii ? "yes" : "no"], ["masking", edge.masking ? "yes" : "no"],
        ["column lineage", flowSummary(edge) || "none recorded through this edge"],
        ["propagation", edge.propagation + (edge.stops_propagation ? " (stops PII propagation)" : "")],
        ["valid", (edge.valid_from || "?") + " → " + (edge.valid_to || "now")]];
      if (edge.run) pairs.push(["run", edge.run.run_id + " (" + edge.run.state + ")"]);
      if (edge.actor) pairs.push(["recorded by", edge.actor]);
      for (const [k, v] of pairs) { add(dl, "dt", k); add(dl, "dd", v); }
      if ((edge.transformations || []).length) {
        add(details, "h3", "Transformations");
        const ul = add(details, "ul");
        for (const t of edge.transformations) {
          add(ul, "li", [t.type, t.subtype].filter(Boolean).join(" / ") + (t.masking ? " — masking" : "") + (t.description ? ": " + t.description : ""));
        }
      }
    }
  }

  // --- expansion ---------------------------------------------------------------------------------

  function setStatus(text) { if (statusLine) statusLine.textContent = text; }

  async function expand(nodeId, direction, offset) {
    const node = state.nodes.get(nodeId);
    const params = new URLSearchParams({ node: nodeId, direction: direction, depth: "1", level: state.level });
    if (offset) { params.set("offset", String(offset)); params.set("limit", String(PAGE)); }
    if (state.at) params.set("at", state.at);
    host.dataset.state = "loading";
    setStatus("Loading one hop " + direction + " of " + node.name + "…");
    let answer;
    try {
      const response = await fetch(config.graph_url + "?" + params.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin" });
      answer = await response.json();
      if (!response.ok) throw new Error((answer.error && answer.error.message) || "request failed");
    } catch (error) {
      setStatus("Could not load more: " + error.message);
      host.dataset.state = "ready";
      return;
    }
    const before = state.positions.get(nodeId);
    const added = merge(answer);
    const anchor = answer.nodes.find(function (n) { return n.id === nodeId; });
    if (anchor) {  // this answer pages the node's own neighbours: its count and offset win
      node["hidden_" + direction] = anchor["hidden_" + direction];
      node["next_" + direction] = anchor["next_" + direction];
    }
    const flag = direction === "upstream" ? "more_upstream" : "more_downstream";
    node[flag] = false;  // this node's own hop is now loaded in full
    await render({ anchor: nodeId, before: before, show: answer.nodes.map(function (n) { return n.id; }) });
    const left = node["hidden_" + direction];
    setStatus((added ? "Loaded " + (answer.nodes.length - 1) + " nodes " + direction + " of " + node.name : "Nothing more " + direction + " of " + node.name) +
      (left ? "; " + left + " more not drawn yet." : "."));
    if (answer.truncated) setStatus("Showing the nearest " + answer.truncated.limit + " of " + answer.truncated.found + " nodes " + direction + " of " + node.name + "; expand from the edge of the drawing for more.");
    if (state.selected && state.selected.node === nodeId) select(state.selected);
    const again = viewport.querySelector('g.node[data-id="' + CSS.escape(nodeId) + '"] rect.hit');
    if (again) again.focus({ preventScroll: true });
  }

  // --- pan and zoom ------------------------------------------------------------------------------

  function fit() {
    // leave the details card (over the canvas's right side) out of the area to fill
    const covered = details.hidden ? 0 : details.offsetWidth + 16;
    const w = canvas.clientWidth - (canvas.clientWidth - covered > 320 ? covered : 0), h = canvas.clientHeight;
    const gw = Math.max(state.size.w, 1), gh = Math.max(state.size.h, 1);
    const k = Math.min((w - 2 * PAD) / gw, (h - 2 * PAD) / gh, 1);
    state.view = { k: k, x: (w - gw * k) / 2, y: (h - gh * k) / 2 };
    applyView();
  }

  function zoomAt(factor, cx, cy) {
    const v = state.view;
    const k = Math.min(4, Math.max(0.05, v.k * factor));
    v.x = cx - (cx - v.x) * (k / v.k);
    v.y = cy - (cy - v.y) * (k / v.k);
    v.k = k;
    applyView();
  }

  function centre() { return [canvas.clientWidth / 2, canvas.clientHeight / 2]; }

  canvas.addEventListener("wheel", function (event) {
    event.preventDefault();
    const box = canvas.getBoundingClientRect();
    zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });

  let drag = null;
  canvas.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, vx: state.view.x, vy: state.view.y, id: event.pointerId };
    state.dragged = false;
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!state.dragged && Math.abs(dx) + Math.abs(dy) < 4) return;
    if (!state.dragged) { state.dragged = true; canvas.setPointerCapture(drag.id); canvas.classList.add("dragging"); }
    state.view.x = drag.vx + dx;
    state.view.y = drag.vy + dy;
    applyView();
  });
  function endDrag() {
    drag = null;
    canvas.classList.remove("dragging");
    setTimeout(function () { state.dragged = false; }, 0);
  }
  canvas.addEventListener("pointerup", endDrag);
  canvas.addEventListener("pointercancel", endDrag);

  canvas.addEventListener("keydown", function (event) {
    const step = 48;
    const [cx, cy] = centre();
    const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[event.key]) {
      state.view.x += moves[event.key][0];
      state.view.y += moves[event.key][1];
      applyView();
    } else if (event.key === "+" || event.key === "=") zoomAt(1.25, cx, cy);
    else if (event.key === "-" || event.key === "_") zoomAt(0.8, cx, cy);
    else if (event.key === "0") fit();
    else return;
    event.preventDefault();
  });

  host.querySelector(".controls").addEventListener("click", function (event) {
    const action = event.target.dataset && event.target.dataset.action;
    const [cx, cy] = centre();
    if (action === "zoom-in") zoomAt(1.25, cx, cy);
    else if (action === "zoom-out") zoomAt(0.8, cx, cy);
    else if (action === "fit") fit();
    else if (action === "actual") zoomAt(1 / state.view.k, cx, cy);
  });
  const piiToggle = host.querySelector('[data-action="pii"]');
  piiToggle.addEventListener("change", function () {
    state.pii = piiToggle.checked;
    host.classList.toggle("pii-off", !state.pii);
    for (const path of viewport.querySelectorAll("path.edge.carries-pii:not(.stop)")) {
      path.setAttribute("marker-end", "url(#" + (state.pii ? "arrow-pii" : "arrow") + ")");
    }
  });

  // --- go ------------------------------------------------------------------------------------------

  async function render(options) {
    host.dataset.state = "loading";
    const result = await layout();
    draw(result);
    if (options && options.anchor && options.before) {
      // keep the expanded node where it was on screen
      const after = state.positions.get(options.anchor);
      if (after) {
        state.view.x -= (after.x - options.before.x) * state.view.k;
        state.view.y -= (after.y - options.before.y) * state.view.k;
        applyView();
      }
      // what was loaded must be seen: when a node of this answer lies outside the canvas, fit again
      const v = state.view, w = canvas.clientWidth, h = canvas.clientHeight;
      const outside = (options.show || []).some(function (id) {
        const p = state.positions.get(id);
        if (!p) return false;
        const x = v.x + p.x * v.k, y = v.y + p.y * v.k;
        return x < 0 || y < 0 || x + nodeWidth(state.nodes.get(id)) * v.k > w || y + NODE_H * v.k > h;
      });
      if (!after || outside) fit();
    } else {
      fit();
    }
    host.dataset.state = "ready";
  }

  merge(first);
  if (first.truncated) setStatus("Showing the nearest " + first.truncated.limit + " of " + first.truncated.found + " nodes; fewer hops, or expand from the edge of the drawing, for the rest.");
  render().catch(function (error) {
    setStatus("The graph could not be laid out: " + error.message);
    host.dataset.state = "error";
  });
  window.addEventListener("resize", function () { if (host.dataset.state === "ready") fit(); });
})();
