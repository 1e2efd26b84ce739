// chestx annotate: draw, move, resize and delete finding boxes on a dataset's images.
// Every change is saved at once (one VOC XML per box on the server); plain JavaScript, no
// libraries, nothing loaded from outside this server. Boxes are kept in pixels of the stored
// image; the screen only scales them.
"use strict";

(function () {
  const { errorText, getJSON } = window.chestxHttp;
  const $ = (id) => document.getElementById(id);
  const SVG_NS = "http://www.w3.org/2000/svg";
  const HANDLE_PX = 9;        // side of a resize handle on screen
  const MIN_DRAG_PX = 4;      // shorter drags are clicks
  const LIST_WINDOW = 150;    // work-list rows rendered around the current image

  const els = {
    dataset: $("dataset"), annotator: $("annotator"), status: $("save-status"),
    filterFinding: $("filter-finding"), filterSplit: $("filter-split"),
    filterUnboxed: $("filter-unboxed"), listCount: $("list-count"), images: $("images"),
    prev: $("prev"), next: $("next"), position: $("position"),
    zoomIn: $("zoom-in"), zoomOut: $("zoom-out"), zoomFit: $("zoom-fit"),
    zoomValue: $("zoom-value"), window: $("window"), level: $("level"), wlReset: $("wl-reset"),
    viewport: $("viewport"), stage: $("stage"), canvas: $("xray"), overlay: $("overlay"),
    caption: $("caption"), message: $("message"), finding: $("finding"),
    boxCount: $("box-count"), boxList: $("box-list"), undo: $("undo"), remove: $("delete"),
    proposalPanel: $("proposal-panel"), proposalList: $("proposal-list"),
    proposalCount: $("proposal-count"),
  };

  const state = {
    config: null, list: [], index: -1, image: null, boxes: [], proposals: [],
    selected: null,          // {kind: "box", id} or {kind: "proposal", index}
    undo: [], chosenFinding: null, gray: null, scale: 1, panX: 0, panY: 0,
    drag: null, saving: 0, queue: Promise.resolve(), loadToken: 0,
  };

  // ------------------------------------------------------------------ small helpers
  function showMessage(text) {
    els.message.textContent = text || "";
    els.message.hidden = !text;
  }



  const round2 = (v) => Math.round(v * 100) / 100;
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

  function hue(finding) {
    const i = state.config ? state.config.findings.indexOf(finding) : 0;
    return `hsl(${(i * 137.5) % 360}, 85%, 60%)`;
  }

  function annotatorName() {
    return els.annotator.value.trim();
  }

  // ------------------------------------------------------------------ saving
  function setStatus() {
    if (state.saving > 0) {
      els.status.textContent = "saving…";
      els.status.className = "save-status small busy";
    }
  }

  function saved() {
    const row = state.list[state.index];
    if (row && state.image && row.image === state.image.image &&
        row.boxes !== state.boxes.length) {
      row.boxes = state.boxes.length;  // the work list's count follows the saves
      renderList();
    }
    const now = new Date();
    els.status.textContent = `all changes saved · ${now.toLocaleTimeString()}`;
    els.status.dataset.savedAt = now.toISOString();
    els.status.className = "save-status small ok";
  }

  // Saves run one after another, each reading the box's version when it starts, so that
  // quick successive edits of one box never conflict with each other.
  function enqueue(job) {
    state.saving += 1;
    setStatus();
    const run = state.queue.then(job).then(() => {
      state.saving -= 1;
      if (state.saving === 0) saved();
    }, async (err) => {
      state.saving -= 1;
      els.status.textContent = "not saved";
      els.status.className = "save-status small bad";
      showMessage(`Not saved: ${err.message}`);
      await reloadBoxes();
    });
    state.queue = run;
    return run;
  }

  async function send(method, url, body) {
    const response = await fetch(url, {
      method, headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(await errorText(response));
    return response.json();
  }

  function boxById(id) {
    return state.boxes.find((b) => b.id === id) || null;
  }

  function putBox(box) {
    const i = state.boxes.findIndex((b) => b.id === box.id);
    if (i >= 0) state.boxes[i] = box; else state.boxes.push(box);
  }

  function createBox(finding, geometry, undoable = true) {
    const image = state.image.image;
    return enqueue(async () => {
      const box = await send("POST", `api/images/${encodeURIComponent(image)}/boxes`,
                             { finding, ...geometry, annotator: annotatorName() });
      if (state.image && state.image.image === image) {
        putBox(box);
        state.selected = { kind: "box", id: box.id };
        if (undoable) state.undo.push({ type: "create", id: box.id });
        render();
      }
    });
  }

  function updateBox(id, geometry, undoable = true) {
    const before = boxById(id);
    if (!before) return Promise.resolve();
    const old = { x: before.x, y: before.y, w: before.w, h: before.h };
    putBox({ ...before, ...geometry });  // shown at once; the server's answer replaces it
    render();
    return enqueue(async () => {
      const current = boxById(id);
      if (!current) return;  // reloaded meanwhile: the box is gone
      const box = await send("PUT", `api/boxes/${encodeURIComponent(id)}`, {
        ...geometry, version: current.version, uid: current.uid, annotator: annotatorName(),
      });
      putBox(box);
      if (undoable) state.undo.push({ type: "edit", id, geometry: old });
      render();
    });
  }

  function deleteBox(id, undoable = true) {
    const box = boxById(id);
    if (!box) return Promise.resolve();
    return enqueue(async () => {
      const current = boxById(id);
      if (!current) return;
      const query = `version=${current.version}&uid=${encodeURIComponent(current.uid)}`;
      await send("DELETE", `api/boxes/${encodeURIComponent(id)}?${query}`);
      state.boxes = state.boxes.filter((b) => b.id !== id);
      if (state.selected && state.selected.id === id) state.selected = null;
      if (undoable) state.undo.push({ type: "delete", box: current });
      render();
    });
  }

  function undo() {
    const step = state.undo.pop();
    if (!step) return;
    if (step.type === "create") deleteBox(step.id, false);
    else if (step.type === "edit") updateBox(step.id, step.geometry, false);
    else if (step.type === "delete") {
      const { x, y, w, h } = step.box;
      createBox(step.box.finding, { x, y, w, h }, false);
    }
    render();
  }

  async function reloadBoxes() {
    if (!state.image) return;
    try {
      const detail = await getJSON(`api/images/${encodeURIComponent(state.image.image)}`);
      state.boxes = detail.boxes;
      if (state.selected && state.selected.kind === "box" && !boxById(state.selected.id)) {
        state.selected = null;
      }
      state.undo = [];
      render();
    } catch (err) {
      showMessage(`Could not reload the boxes: ${err.message}`);
    }
  }

  // ------------------------------------------------------------------ work list
  async function loadList(keepImage) {
    const params = new URLSearchParams();
    if (els.filterFinding.value) params.set("finding", els.filterFinding.value);
    if (els.filterSplit.value) params.set("split", els.filterSplit.value);
    if (els.filterUnboxed.checked) params.set("unboxed", "true");
    try {
      const body = await getJSON(`api/images?${params}`);
      state.list = body.images;
      els.listCount.textContent = `${body.images.length} of ${body.total} images`;
    } catch (err) {
      showMessage(`Could not load the work list: ${err.message}`);
      return;
    }
    const names = state.list.map((row) => row.image);
    const index = keepImage ? names.indexOf(keepImage) : -1;
    if (index >= 0) {
      state.index = index;
      renderList();
    } else if (state.list.length) {
      await openIndex(0);
    } else {
      state.index = -1;
      renderList();
    }
  }

  function renderList() {
    els.images.textContent = "";
    const start = Math.max(0, state.index - 30);
    const stop = Math.min(state.list.length, start + LIST_WINDOW);
    for (let i = start; i < stop; i += 1) {
      const row = state.list[i];
      const li = document.createElement("li");
      li.className = "image-row" + (i === state.index ? " current" : "");
      li.dataset.image = row.image;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = row.image;
      const labels = document.createElement("span");
      labels.className = "labels muted small";
      labels.textContent = row.labels.length ? row.labels.join(", ") : "No Finding";
      const count = document.createElement("span");
      count.className = "count small";
      count.textContent = row.boxes ? `${row.boxes} ▭` : "";
      li.append(name, count, labels);
      li.addEventListener("click", () => openIndex(i));
      els.images.append(li);
      if (i === state.index) requestAnimationFrame(() => li.scrollIntoView({ block: "nearest" }));
    }
    els.position.textContent = state.list.length
      ? `${state.index + 1} / ${state.list.length}` : "no image";
  }

  function step(delta) {
    if (!state.list.length) return;
    const target = clamp(state.index + delta, 0, state.list.length - 1);
    if (target !== state.index) openIndex(target);
  }

  async function openIndex(index) {
    state.index = index;
    renderList();
    await openImage(state.list[index].image);
  }

  async function openImage(name) {
    const token = ++state.loadToken;
    showMessage("");
    await state.queue;  // pending saves of the previous image land first
    let detail;
    try {
      detail = await getJSON(`api/images/${encodeURIComponent(name)}`);
    } catch (err) {
      showMessage(err.message);
      return;
    }
    const picture = new Image();
    picture.src = `api/images/${encodeURIComponent(name)}/pixels.png`;
    try {
      await picture.decode();
    } catch (_) {
      showMessage(`Could not display ${name}`);
      return;
    }
    if (token !== state.loadToken) return;  // another image was asked for meanwhile
    history.replaceState(null, "", `#image=${encodeURIComponent(name)}`);
    state.image = detail;
    state.boxes = detail.boxes;
    state.proposals = [];
    state.selected = null;
    state.undo = [];
    drawPixels(picture);
    fillFindings(detail.labels);
    els.overlay.setAttribute("viewBox", `0 0 ${detail.width} ${detail.height}`);
    els.caption.textContent = `${name} · ${detail.width}×${detail.height} px · labels: ` +
      (detail.labels.length ? detail.labels.join(", ") : "No Finding");
    fit();
    els.stage.hidden = false;
    render();
    if (state.config.proposals) loadProposals(name, token);
  }

  async function loadProposals(name, token) {
    try {
      const body = await getJSON(`api/images/${encodeURIComponent(name)}/proposals`);
      if (token !== state.loadToken) return;
      state.proposals = body.proposals.map((p) => ({ ...p, accepted: false }));
      render();
    } catch (err) {
      showMessage(`No proposals: ${err.message}`);
    }
  }

  function fillFindings(labels) {
    const select = els.finding;
    select.textContent = "";
    const own = state.config.findings.filter((f) => labels.includes(f));
    const other = state.config.findings.filter((f) => !labels.includes(f));
    for (const [title, names] of [["Labels of this image", own], ["Other findings", other]]) {
      if (!names.length) continue;
      const group = document.createElement("optgroup");
      group.label = title;
      for (const name of names) {
        const option = document.createElement("option");
        option.value = name;
        option.textContent = name;
        group.append(option);
      }
      select.append(group);
    }
    select.value = state.chosenFinding || own[0] || other[0];
  }

  // ------------------------------------------------------------------ pixels, window / level
  function drawPixels(picture) {
    const canvas = els.canvas;
    canvas.width = picture.naturalWidth;
    canvas.height = picture.naturalHeight;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(picture, 0, 0);
    const data = context.getImageData(0, 0, canvas.width, canvas.height);
    state.gray = new Uint8ClampedArray(canvas.width * canvas.height);
    for (let i = 0; i < state.gray.length; i += 1) state.gray[i] = data.data[4 * i];
    state.pixels = data;
    applyWindow();
  }

  function applyWindow() {
    if (!state.gray) return;
    // DICOM's linear VOI function (PS3.3 C.11.2.1.2): window 256 at level 128 is the identity
    const width = Number(els.window.value);
    const level = Number(els.level.value);
    const lut = new Uint8ClampedArray(256);
    for (let v = 0; v < 256; v += 1) {
      lut[v] = Math.round(((v - (level - 0.5)) / (width - 1) + 0.5) * 255);
    }
    const out = state.pixels.data;
    for (let i = 0; i < state.gray.length; i += 1) {
      const v = lut[state.gray[i]];
      out[4 * i] = v; out[4 * i + 1] = v; out[4 * i + 2] = v; out[4 * i + 3] = 255;
    }
    els.canvas.getContext("2d").putImageData(state.pixels, 0, 0);
  }

  function resetWindow() {
    els.window.value = 256;
    els.level.value = 128;
    applyWindow();
  }

  // ------------------------------------------------------------------ zoom and pan
  function fit() {
    if (!state.image) return;
    const view = els.viewport.getBoundingClientRect();
    const scale = Math.min(view.width / state.image.width, view.height / state.image.height);
    state.scale = scale;
    state.fitScale = scale;
    state.panX = (view.width - state.image.width * scale) / 2;
    state.panY = (view.height - state.image.height * scale) / 2;
    place();
  }

  function zoomAt(factor, clientX, clientY) {
    if (!state.image) return;
    const view = els.viewport.getBoundingClientRect();
    const cx = clientX === undefined ? view.width / 2 : clientX - view.left;
    const cy = clientY === undefined ? view.height / 2 : clientY - view.top;
    const scale = clamp(state.scale * factor, state.fitScale / 4, state.fitScale * 16);
    state.panX = cx - ((cx - state.panX) * scale) / state.scale;
    state.panY = cy - ((cy - state.panY) * scale) / state.scale;
    state.scale = scale;
    place();
  }

  function place() {
    const s = els.stage.style;
    s.left = `${state.panX}px`;
    s.top = `${state.panY}px`;
    s.width = `${state.image.width * state.scale}px`;
    s.height = `${state.image.height * state.scale}px`;
    els.zoomValue.textContent = `${Math.round((state.scale / state.fitScale) * 100)}%`;
    render();
  }

  // ------------------------------------------------------------------ drawing the overlay
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    return node;
  }

  function render() {
    const overlay = els.overlay;
    overlay.textContent = "";
    if (!state.image) return;
    const px = 1 / state.scale;  // one screen pixel in image pixels
    state.proposals.forEach((p, index) => {
      if (p.accepted) return;
      const selected = state.selected && state.selected.kind === "proposal" &&
        state.selected.index === index;
      const rect = svg("rect", {
        x: p.x, y: p.y, width: p.w, height: p.h, class: "proposal" + (selected ? " selected" : ""),
        "data-index": index, "data-finding": p.finding, stroke: hue(p.finding),
        "stroke-width": 2 * px, "stroke-dasharray": `${8 * px} ${5 * px}`,
      });
      overlay.append(rect);
    });
    for (const box of state.boxes) {
      const selected = state.selected && state.selected.kind === "box" &&
        state.selected.id === box.id;
      overlay.append(svg("rect", {
        x: box.x, y: box.y, width: box.w, height: box.h,
        class: "box" + (selected ? " selected" : ""), "data-id": box.id,
        "data-finding": box.finding, stroke: hue(box.finding),
        "stroke-width": (selected ? 3 : 2) * px,
      }));
      const label = svg("text", { x: box.x + 3 * px, y: box.y - 4 * px, class: "label",
                                  fill: hue(box.finding), "font-size": 13 * px });
      label.textContent = box.finding;
      overlay.append(label);
      if (selected) {
        for (const [code, hx, hy] of handles(box)) {
          overlay.append(svg("rect", {
            x: hx - (HANDLE_PX / 2) * px, y: hy - (HANDLE_PX / 2) * px,
            width: HANDLE_PX * px, height: HANDLE_PX * px, class: `handle handle-${code}`,
            "data-handle": code, "stroke-width": px,
          }));
        }
      }
    }
    if (state.drag && state.drag.mode === "draw" && state.drag.rect) {
      const r = state.drag.rect;
      overlay.append(svg("rect", { x: r.x, y: r.y, width: r.w, height: r.h, class: "drawing",
                                   stroke: hue(els.finding.value), "stroke-width": 2 * px }));
    }
    renderPanel();
  }

  function handles(b) {
    const mx = b.x + b.w / 2;
    const my = b.y + b.h / 2;
    return [["nw", b.x, b.y], ["n", mx, b.y], ["ne", b.x + b.w, b.y], ["e", b.x + b.w, my],
            ["se", b.x + b.w, b.y + b.h], ["s", mx, b.y + b.h], ["sw", b.x, b.y + b.h],
            ["w", b.x, my]];
  }

  function renderPanel() {
    els.boxList.textContent = "";
    for (const box of state.boxes) {
      const li = document.createElement("li");
      const selected = state.selected && state.selected.kind === "box" &&
        state.selected.id === box.id;
      li.className = "box-row" + (selected ? " selected" : "");
      li.dataset.id = box.id;
      li.textContent = `${box.finding} #${box.k} · ${Math.round(box.x)}, ${Math.round(box.y)}` +
        ` · ${Math.round(box.w)}×${Math.round(box.h)}` + (box.annotator ? ` · ${box.annotator}` : "");
      li.style.borderLeftColor = hue(box.finding);
      li.addEventListener("click", () => { state.selected = { kind: "box", id: box.id }; render(); });
      els.boxList.append(li);
    }
    els.boxCount.textContent = `(${state.boxes.length})`;
    const open = state.proposals.filter((p) => !p.accepted);
    els.proposalPanel.hidden = !state.config || !state.config.proposals;
    els.proposalCount.textContent = `(${open.length})`;
    els.proposalList.textContent = "";
    state.proposals.forEach((p, index) => {
      if (p.accepted) return;
      const li = document.createElement("li");
      li.className = "proposal-row";
      li.dataset.index = index;
      li.style.borderLeftColor = hue(p.finding);
      li.textContent = `${p.finding} · score ${p.score.toFixed(2)} `;
      const accept = document.createElement("button");
      accept.type = "button";
      accept.textContent = "Accept";
      accept.addEventListener("click", () => acceptProposal(index));
      li.append(accept);
      els.proposalList.append(li);
    });
    els.undo.disabled = state.undo.length === 0;
    els.remove.disabled = !(state.selected && state.selected.kind === "box");
  }

  function acceptProposal(index) {
    let i = index;
    if (i === undefined) {
      i = state.selected && state.selected.kind === "proposal" ? state.selected.index
        : state.proposals.findIndex((p) => !p.accepted);
    }
    const p = state.proposals[i];
    if (!p || p.accepted) return;
    p.accepted = true;
    const { width, height } = state.image;
    const x = clamp(round2(p.x), 0, width - 1);
    const y = clamp(round2(p.y), 0, height - 1);
    const geometry = { x, y, w: round2(clamp(p.w, 1, width - x)),
                       h: round2(clamp(p.h, 1, height - y)) };
    state.selected = null;
    createBox(p.finding, geometry);
  }

  // ------------------------------------------------------------------ the mouse
  function imagePoint(event) {
    const r = els.stage.getBoundingClientRect();
    return { x: ((event.clientX - r.left) / r.width) * state.image.width,
             y: ((event.clientY - r.top) / r.height) * state.image.height };
  }

  function clampedPoint(event) {
    const p = imagePoint(event);
    return { x: clamp(p.x, 0, state.image.width), y: clamp(p.y, 0, state.image.height) };
  }

  function isSelectedBox(target) {
    return Boolean(target.classList && target.classList.contains("box") && state.selected &&
                   state.selected.kind === "box" && state.selected.id === target.dataset.id);
  }

  function clickedItem(target) {
    if (!target.classList) return null;
    if (target.classList.contains("box")) return { kind: "box", id: target.dataset.id };
    if (target.classList.contains("proposal")) {
      return { kind: "proposal", index: Number(target.dataset.index) };
    }
    return null;
  }

  function onPointerDown(event) {
    if (!state.image) return;
    event.preventDefault();
    const target = event.target;
    const start = { clientX: event.clientX, clientY: event.clientY, point: clampedPoint(event) };
    if (event.button === 2 || event.button === 1 || event.shiftKey) {
      state.drag = { mode: "pan", ...start, panX: state.panX, panY: state.panY };
    } else if (event.ctrlKey || event.metaKey) {
      state.drag = { mode: "window", ...start, window: Number(els.window.value),
                     level: Number(els.level.value) };
    } else if (target.dataset && target.dataset.handle) {
      const box = boxById(state.selected.id);
      state.drag = { mode: "resize", ...start, handle: target.dataset.handle, id: box.id,
                     origin: { x: box.x, y: box.y, w: box.w, h: box.h } };
    } else if (isSelectedBox(target)) {
      const box = boxById(target.dataset.id);
      state.drag = { mode: "move", ...start, id: box.id,
                     origin: { x: box.x, y: box.y, w: box.w, h: box.h } };
    } else {
      // Dragging over another box or a proposal draws a new box (so that boxes may nest);
      // a click without a drag selects what is under the mouse.
      state.drag = { mode: "draw", ...start, rect: null, clicked: clickedItem(target) };
    }
    try { els.stage.setPointerCapture(event.pointerId); } catch (_) { /* synthetic events */ }
  }

  function onPointerMove(event) {
    const drag = state.drag;
    if (!drag) return;
    const dx = event.clientX - drag.clientX;
    const dy = event.clientY - drag.clientY;
    if (drag.mode === "pan") {
      state.panX = drag.panX + dx;
      state.panY = drag.panY + dy;
      place();
      return;
    }
    if (drag.mode === "window") {
      els.window.value = clamp(drag.window + dx, 2, 256);
      els.level.value = clamp(drag.level - dy, 0, 255);
      applyWindow();
      return;
    }
    const point = clampedPoint(event);
    const { width, height } = state.image;
    if (drag.mode === "draw") {
      const a = drag.point;
      drag.rect = { x: Math.min(a.x, point.x), y: Math.min(a.y, point.y),
                    w: Math.abs(point.x - a.x), h: Math.abs(point.y - a.y) };
    } else if (drag.mode === "move") {
      const o = drag.origin;
      const box = boxById(drag.id);
      if (!box) return;
      box.x = clamp(o.x + (point.x - drag.point.x), 0, width - o.w);
      box.y = clamp(o.y + (point.y - drag.point.y), 0, height - o.h);
    } else if (drag.mode === "resize") {
      const box = boxById(drag.id);
      if (!box) return;
      Object.assign(box, resized(drag.origin, drag.handle, point));
    }
    drag.moved = Math.abs(dx) >= MIN_DRAG_PX || Math.abs(dy) >= MIN_DRAG_PX || drag.moved;
    render();
  }

  function resized(o, handle, p) {
    let x0 = o.x, y0 = o.y, x1 = o.x + o.w, y1 = o.y + o.h;
    if (handle.includes("w")) x0 = p.x;
    if (handle.includes("e")) x1 = p.x;
    if (handle.includes("n")) y0 = p.y;
    if (handle.includes("s")) y1 = p.y;
    return { x: Math.min(x0, x1), y: Math.min(y0, y1), w: Math.abs(x1 - x0),
             h: Math.abs(y1 - y0) };
  }

  function geometryOf(r) {
    const { width, height } = state.image;
    const x = clamp(round2(r.x), 0, width);
    const y = clamp(round2(r.y), 0, height);
    return { x, y, w: round2(Math.min(r.w, width - x)), h: round2(Math.min(r.h, height - y)) };
  }

  function onPointerUp(event) {
    const drag = state.drag;
    if (!drag) return;
    onPointerMove(event);
    state.drag = null;
    try { els.stage.releasePointerCapture(event.pointerId); } catch (_) { /* not captured */ }
    if (drag.mode === "draw") {
      const r = drag.rect;
      const scale = state.scale;
      if (r && r.w * scale >= MIN_DRAG_PX && r.h * scale >= MIN_DRAG_PX) {
        createBox(els.finding.value, geometryOf(r));
      } else {
        state.selected = drag.clicked;
      }
      render();
    } else if (drag.mode === "move" || drag.mode === "resize") {
      const box = boxById(drag.id);
      if (!box) { render(); return; }
      const geometry = geometryOf(box);
      const o = drag.origin;
      Object.assign(box, o);  // updateBox shows the new place and remembers the old one
      if (drag.moved && geometry.w > 0 && geometry.h > 0) updateBox(drag.id, geometry);
      else render();
    }
  }

  // ------------------------------------------------------------------ keys
  function onKey(event) {
    const target = event.target;
    if (target && target.tagName === "INPUT" && target.type === "text") return;
    const key = event.key;
    if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === "z") {
      event.preventDefault();
      undo();
    } else if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    } else if (key === "n") step(1);
    else if (key === "p") step(-1);
    else if (key === "u") undo();
    else if (key === "a") acceptProposal();
    else if (key === "Delete" || key === "Backspace") {
      if (state.selected && state.selected.kind === "box") {
        event.preventDefault();
        deleteBox(state.selected.id);
      }
    } else if (key === "Escape") { state.selected = null; render(); }
    else if (key === "+" || key === "=") zoomAt(1.25);
    else if (key === "-") zoomAt(0.8);
    else if (key === "0") fit();
    else if (key === "r") resetWindow();
  }

  // ------------------------------------------------------------------ start
  async function start() {
    try {
      state.config = await getJSON("api/config");
    } catch (err) {
      showMessage(`Could not reach the server: ${err.message}`);
      return;
    }
    const config = state.config;
    els.dataset.textContent = `${config.dataset} · ${config.images} images`;
    els.annotator.value = localStorage.getItem("chestx-annotator") || config.annotator;
    for (const name of config.findings) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      els.filterFinding.append(option);
    }
    for (const name of config.splits) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      els.filterSplit.append(option);
    }
    // the address keeps the image across a reload
    const wanted = new URLSearchParams(location.hash.slice(1)).get("image");
    await loadList(wanted);
    if (!state.image && state.index >= 0) await openIndex(state.index);
  }

  els.stage.addEventListener("pointerdown", onPointerDown);
  els.stage.addEventListener("pointermove", onPointerMove);
  els.stage.addEventListener("pointerup", onPointerUp);
  els.stage.addEventListener("contextmenu", (event) => event.preventDefault());
  els.viewport.addEventListener("wheel", (event) => {
    event.preventDefault();
    zoomAt(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX, event.clientY);
  }, { passive: false });
  document.addEventListener("keydown", onKey);
  els.prev.addEventListener("click", () => step(-1));
  els.next.addEventListener("click", () => step(1));
  els.zoomIn.addEventListener("click", () => zoomAt(1.25));
  els.zoomOut.addEventListener("click", () => zoomAt(0.8));
  els.zoomFit.addEventListener("click", fit);
  els.window.addEventListener("input", applyWindow);
  els.level.addEventListener("input", applyWindow);
  els.wlReset.addEventListener("click", resetWindow);
  els.undo.addEventListener("click", undo);
  els.remove.addEventListener("click", () => {
    if (state.selected && state.selected.kind === "box") deleteBox(state.selected.id);
  });
  els.finding.addEventListener("change", () => {
    state.chosenFinding = els.finding.value;
    els.finding.blur();  // so that n / p and the other keys reach the page again
  });
  els.annotator.addEventListener("change", () => {
    localStorage.setItem("chestx-annotator", annotatorName());
  });
  for (const filter of [els.filterFinding, els.filterSplit, els.filterUnboxed]) {
    filter.addEventListener("change", () => loadList(state.image && state.image.image));
  }
  window.addEventListener("resize", fit);
  els.message.addEventListener("click", () => showMessage(""));
  start();
})();
