// chestx viewer: upload an X-ray, list the findings by probability, overlay a heatmap and boxes.
// Plain browser JavaScript, no libraries and no network access beyond this server.
"use strict";

(function () {
  const { errorText } = window.chestxHttp;
  const $ = (id) => document.getElementById(id);
  const SVG_NS = "http://www.w3.org/2000/svg";

  const els = {
    modelInfo: $("model-info"), modelSummary: $("model-summary"),
    viewer: document.querySelector(".viewer"),
    dropzone: $("dropzone"), fileInput: $("file-input"), limits: $("limits"),
    stage: $("stage"), frame: $("frame"), xray: $("xray"), heatmap: $("heatmap"), boxes: $("boxes"),
    caption: $("caption"), busy: $("busy"), message: $("message"), hint: $("hint"),
    findings: $("findings"), elapsed: $("elapsed"), opacity: $("opacity"),
    oodBanner: $("ood-banner"), cardLink: $("card-link"),
    opacityValue: $("opacity-value"), showBoxes: $("show-boxes"), another: $("another"),
  };

  const state = { model: null, result: null, selected: null, maxBytes: null };

  function showMessage(text) {
    els.message.textContent = text;
    els.message.hidden = !text;
  }

  function formatBytes(n) {
    return n >= 1048576 ? `${Math.round(n / 1048576)} MB` : `${Math.round(n / 1024)} KB`;
  }

  function percent(p) {
    return p >= 0.995 ? ">99%" : p < 0.005 ? "<1%" : `${Math.round(p * 100)}%`;
  }


  async function loadModel() {
    try {
      const response = await fetch("api/model");
      if (!response.ok) throw new Error(await errorText(response));
      const model = await response.json();
      state.model = model;
      state.maxBytes = model.max_upload_bytes;
      els.modelInfo.textContent =
        `${model.backbone} · ${model.image_size} px · ${model.classes.length} findings`;
      els.modelInfo.title = model.training_summary || "";
      els.modelSummary.textContent =
        model.training_summary ? `Model: ${model.training_summary}.` : "";
      els.limits.textContent = `PNG, JPEG or DICOM · up to ${formatBytes(model.max_upload_bytes)}`;
      els.cardLink.hidden = !model.card_url;
      if (model.trust) els.modelSummary.title = model.trust;
    } catch (err) {
      els.modelInfo.textContent = "model unavailable";
      showMessage(`Could not reach the model: ${err.message}`);
    }
  }

  async function upload(file) {
    if (!file) return;
    showMessage("");
    if (state.maxBytes && file.size > state.maxBytes) {
      showMessage(`${file.name} is ${formatBytes(file.size)}; the limit is ` +
                  `${formatBytes(state.maxBytes)}.`);
      return;
    }
    const form = new FormData();
    form.append("file", file, file.name);
    els.busy.hidden = false;
    try {
      const response = await fetch("api/predict", { method: "POST", body: form });
      if (!response.ok) throw new Error(await errorText(response));
      const result = await response.json();
      await showResult(result);
    } catch (err) {  // server messages name the file already; others get its name here
      showMessage(err.message.startsWith(file.name) ? err.message : `${file.name}: ${err.message}`);
    } finally {
      els.busy.hidden = true;
      els.fileInput.value = "";
    }
  }

  function showResult(result) {
    state.result = result;
    state.selected = null;
    clearOverlay();
    return new Promise((resolve) => {
      els.xray.onload = () => {
        els.dropzone.hidden = true;
        els.stage.hidden = false;
        els.another.hidden = false;
        els.frame.style.setProperty("--ar", String(result.width / result.height));
        els.boxes.setAttribute("viewBox", `0 0 ${result.width} ${result.height}`);
        els.caption.textContent =
          `${result.filename} · ${result.width}×${result.height} px`;
        els.elapsed.textContent = `${Math.round(result.elapsed_ms)} ms`;
        renderFindings(result);
        resolve();
      };
      els.xray.onerror = () => { showMessage("The server could not render the image."); resolve(); };
      els.xray.src = result.image_url;
    });
  }

  function renderFindings(result) {
    const sorted = [...result.findings].sort((a, b) => b.probability - a.probability);
    els.findings.replaceChildren();
    for (const finding of sorted) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "finding" + (finding.positive ? " positive" : "");
      button.dataset.finding = finding.name;
      button.setAttribute("aria-pressed", "false");

      const name = document.createElement("span");
      name.className = "name";
      name.textContent = finding.name;
      const prob = document.createElement("span");
      prob.className = "prob";
      prob.textContent = percent(finding.probability);
      const bar = document.createElement("span");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.style.width = `${(finding.probability * 100).toFixed(1)}%`;
      bar.append(fill);

      button.append(name, prob, bar);
      button.addEventListener("click", () => select(finding, button));
      item.append(button);
      els.findings.append(item);
    }
    // out of distribution: the findings are still listed, under a banner saying why
    els.oodBanner.hidden = !result.out_of_distribution;
    els.oodBanner.textContent = result.out_of_distribution
      ? "Out of distribution: this image is unlike the training images " +
        `(${(result.ood_reasons || []).join("; ")}). The findings below mean little.`
      : "";
    const limit = result.threshold === null || result.threshold === undefined
      ? `its own threshold (${result.threshold_source || "per finding"})`
      : `the ${percent(result.threshold)} threshold`;
    els.hint.textContent = `Sorted by probability${result.calibrated ? " (calibrated)" : ""}; ` +
      `orange = at or above ${limit}. Click a finding to overlay its heatmap and boxes.`;
  }

  function clearOverlay() {
    els.heatmap.hidden = true;
    els.heatmap.removeAttribute("src");
    els.boxes.replaceChildren();
    els.boxes.dataset.finding = "";
  }

  function select(finding, button) {
    for (const other of els.findings.querySelectorAll(".finding")) {
      other.classList.remove("selected");
      other.setAttribute("aria-pressed", "false");
    }
    if (state.selected === finding.name) {  // a second click hides the overlay
      state.selected = null;
      clearOverlay();
      return;
    }
    state.selected = finding.name;
    button.classList.add("selected");
    button.setAttribute("aria-pressed", "true");
    els.heatmap.onload = () => { els.heatmap.hidden = false; };
    els.heatmap.onerror = () => showMessage("This result has expired; upload the image again.");
    els.heatmap.src = finding.heatmap_url;
    els.heatmap.dataset.finding = finding.name;
    drawBoxes(finding);
  }

  function drawBoxes(finding) {
    els.boxes.replaceChildren();
    els.boxes.dataset.finding = finding.name;
    for (const box of finding.boxes) {
      const rect = document.createElementNS(SVG_NS, "rect");
      rect.setAttribute("x", box.x);
      rect.setAttribute("y", box.y);
      rect.setAttribute("width", box.w);
      rect.setAttribute("height", box.h);
      const label = document.createElementNS(SVG_NS, "text");
      label.setAttribute("x", box.x + 4);
      const size = Math.max(state.result.width, state.result.height) / 36;
      label.setAttribute("y", box.y - size * 0.4 > size ? box.y - size * 0.4 : box.y + size * 1.1);
      label.setAttribute("font-size", Math.round(size));
      label.textContent = `${finding.name} ${percent(finding.probability)}`;
      els.boxes.append(rect, label);
    }
    els.boxes.style.display = els.showBoxes.checked ? "" : "none";
  }

  function setOpacity() {
    els.heatmap.style.opacity = String(els.opacity.value / 100);
    els.opacityValue.textContent = `${els.opacity.value}%`;
  }

  function reset() {
    state.result = null;
    state.selected = null;
    clearOverlay();
    els.findings.replaceChildren();
    els.stage.hidden = true;
    els.dropzone.hidden = false;
    els.another.hidden = true;
    els.elapsed.textContent = "";
    showMessage("");
  }

  // --- wiring
  els.fileInput.addEventListener("change", () => upload(els.fileInput.files[0]));
  els.dropzone.addEventListener("click", (event) => {
    if (event.target.tagName !== "INPUT" && event.target.tagName !== "LABEL") els.fileInput.click();
  });
  els.dropzone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); els.fileInput.click(); }
  });
  // A file dropped anywhere on the page is taken (instead of the browser navigating to it).
  for (const type of ["dragenter", "dragover"]) {
    document.addEventListener(type, (event) => {
      event.preventDefault();
      els.viewer.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    document.addEventListener(type, (event) => {
      event.preventDefault();
      els.viewer.classList.remove("dragging");
    });
  }
  document.addEventListener("drop", (event) => {
    if (event.dataTransfer && event.dataTransfer.files.length) upload(event.dataTransfer.files[0]);
  });
  els.message.addEventListener("click", () => showMessage(""));
  els.opacity.addEventListener("input", setOpacity);
  els.showBoxes.addEventListener("change", () => {
    els.boxes.style.display = els.showBoxes.checked ? "" : "none";
  });
  els.another.addEventListener("click", () => { reset(); els.fileInput.click(); });

  setOpacity();
  loadModel();
})();
