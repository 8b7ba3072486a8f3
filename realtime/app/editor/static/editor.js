// repose pose editor: the page. Vanilla JS, no build step. Talks to the JSON API under /api/.
// Poses are in the `repose pose` format ({layout, width, height, names, keypoints: [[x, y, score]], z})
// in pixels of the reference image; the SVG overlays use the image's pixel grid as their viewBox.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const SVG_NS = "http://www.w3.org/2000/svg";

  const state = {
    info: null,        // GET /api/info
    ref: null,         // {reference, width, height}
    rest: null,        // the photo's own pose
    pose: null,        // the pose being edited
    undo: [],          // earlier poses
    output: null,      // {image, pose} of the last render
    features: null,    // POST /api/features: the face and hands the face and hand stages see
    renders: 0,
    renderSeq: 0,      // only the newest render request may update the output
    selected: null,    // the joint arrow keys move (the last one clicked)
    nudging: null,     // joint of the current run of arrow-key moves (one undo step per run)
    busy: 0,
  };

  // Points that move with a joint when it is dragged (hands with wrists, feet with ankles, face with nose).
  const FOLLOW = {
    left_wrist: ["left_pinky", "left_index", "left_thumb"],
    right_wrist: ["right_pinky", "right_index", "right_thumb"],
    left_ankle: ["left_heel", "left_foot_index"],
    right_ankle: ["right_heel", "right_foot_index"],
    nose: ["left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
           "left_ear", "right_ear", "mouth_left", "mouth_right"],
  };
  // Shift+drag also moves the limb below a joint.
  const CHILD = {
    left_shoulder: "left_elbow", left_elbow: "left_wrist", right_shoulder: "right_elbow", right_elbow: "right_wrist",
    left_hip: "left_knee", left_knee: "left_ankle", right_hip: "right_knee", right_knee: "right_ankle",
  };
  const MAIN = new Set(["nose", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]);

  // ---------------------------------------------------------------- messages and busy state
  function showMessage(text, kind = "error") {
    const m = $("message");
    m.textContent = text;
    m.className = kind;
    m.hidden = false;
  }
  function clearMessage() { $("message").hidden = true; $("message").textContent = ""; }

  async function withBusy(label, fn) {
    state.busy += 1;
    document.body.dataset.busy = "1";
    updateButtons();
    if (label) showMessage(label, "info");
    try {
      const r = await fn();
      // clear the progress line unless the action left a message of its own
      if (label && $("message").textContent === label) clearMessage();
      return r;
    } catch (err) {
      showMessage(err.message || String(err), "error");
      return undefined;
    } finally {
      state.busy -= 1;
      document.body.dataset.busy = state.busy ? "1" : "0";
      updateButtons();
    }
  }

  // Every API answer is JSON; errors carry {"error": message}.
  async function api(path, options = {}) {
    let resp;
    try {
      resp = await fetch(path, options);
    } catch (err) {
      throw new Error("cannot reach the editor server (is `repose editor` still running?)");
    }
    let body = null;
    try { body = await resp.json(); } catch (err) { body = null; }
    if (!resp.ok) {
      throw new Error((body && body.error) || `the server answered ${resp.status} ${resp.statusText}`);
    }
    if (body === null) throw new Error(`the server answered ${path} with something that is not JSON`);
    return body;
  }
  const postJSON = (path, obj) => api(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(obj),
  });

  // ---------------------------------------------------------------- pose helpers
  const clone = (p) => JSON.parse(JSON.stringify(p));
  const idx = (pose, name) => pose.names.indexOf(name);
  const minScore = () => (state.info ? state.info.min_score : 0.5);

  function descendants(name, withLimb) {
    const out = [];
    let cur = name;
    while (cur) {
      if (cur !== name) out.push(cur);
      (FOLLOW[cur] || []).forEach((n) => out.push(n));
      cur = withLimb ? CHILD[cur] : null;
    }
    return out;
  }

  function updateButtons() {
    const busy = state.busy > 0;
    const hasRef = !!state.ref;
    $("btn-undo").disabled = busy || state.undo.length === 0;
    $("btn-reset").disabled = busy || !hasRef;
    $("btn-render").disabled = busy || !hasRef;
    $("btn-evaluate").disabled = busy || !hasRef;
    $("btn-openpose").disabled = busy || !hasRef;
    for (const [input, label] of [["file-other", "lbl-other"], ["file-pose", "lbl-pose"]]) {
      $(input).disabled = busy || !hasRef;
      $(label).classList.toggle("disabled", busy || !hasRef);
    }
    $("btn-png").disabled = busy || !state.output;
  }

  // ---------------------------------------------------------------- drawing
  function el(tag, attrs, parent) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  function sideColor(a, b) {
    const side = (n) => (n.startsWith("left_") ? "l" : n.startsWith("right_") ? "r" : "c");
    const s = side(a) === side(b) ? side(a) : "c";
    return { l: "#ff9f1c", r: "#2ec4f1", c: "#e9f542" }[s];
  }
  function sizes(pose) {
    const d = Math.max(pose.width, pose.height);
    return { big: Math.max(3, d / 130), small: Math.max(2, d / 260), stroke: Math.max(1.5, d / 300) };
  }

  // The editable skeleton on the reference.
  function drawEditable() {
    const svg = $("svg-ref");
    svg.replaceChildren();
    const pose = state.pose;
    if (!pose) return;
    svg.setAttribute("viewBox", `0 0 ${pose.width} ${pose.height}`);
    const sz = sizes(pose);
    const bones = el("g", { class: "bones" }, svg);
    for (const [a, b] of state.info.bones) {
      const ia = idx(pose, a), ib = idx(pose, b);
      if (ia < 0 || ib < 0) continue;
      const pa = pose.keypoints[ia], pb = pose.keypoints[ib];
      const unsure = pa[2] < minScore() || pb[2] < minScore();
      el("line", { x1: pa[0], y1: pa[1], x2: pb[0], y2: pb[1], stroke: sideColor(a, b),
        "stroke-width": sz.stroke, class: unsure ? "unsure" : "", "data-bone": `${a}-${b}` }, bones);
    }
    drawFeatures(svg, sz);
    const joints = el("g", { class: "joints" }, svg);
    // small points first so the main joints are on top and win the pointer
    const order = pose.names.map((n, i) => i).sort((i, j) => MAIN.has(pose.names[i]) - MAIN.has(pose.names[j]));
    for (const i of order) {
      const name = pose.names[i];
      const [x, y, s] = pose.keypoints[i];
      const c = el("circle", { cx: x, cy: y, r: MAIN.has(name) ? sz.big : sz.small,
        fill: sideColor(name, name), "stroke-width": sz.stroke / 2,
        class: [s < minScore() ? "unsure" : "", name === state.selected ? "selected" : ""].join(" ").trim(),
        "data-name": name }, joints);
      el("title", {}, c).textContent = name.replace(/_/g, " ");
    }
  }

  // The face and hand landmarks of the photo (preview of the face and hand stages), drawn under the
  // joints; each moves by the edit of its anchor (face: nose, hand: wrist), not interactive.
  function shift(name) {
    const i = idx(state.pose, name), j = idx(state.rest, name);
    if (i < 0 || j < 0) return [0, 0];
    return [state.pose.keypoints[i][0] - state.rest.keypoints[j][0], state.pose.keypoints[i][1] - state.rest.keypoints[j][1]];
  }
  function drawFeatures(svg, sz) {
    const f = state.features;
    if (!f || !$("chk-features").checked) return;
    const g = el("g", { class: "features" }, svg);
    svg.insertBefore(g, svg.firstChild);
    if (f.face) {
      const [dx, dy] = shift("nose");
      for (const [x, y] of f.face) el("circle", { cx: x + dx, cy: y + dy, r: sz.small / 3 }, g);
    }
    for (const [side, pts] of Object.entries(f.hands)) {
      const [dx, dy] = shift(`${side}_wrist`);
      const h = el("g", { class: f.hand_stage.includes(side) ? "moving" : "rigid" }, g);
      for (const [a, b] of f.hand_bones) {
        el("line", { x1: pts[a][0] + dx, y1: pts[a][1] + dy, x2: pts[b][0] + dx, y2: pts[b][1] + dy,
          "stroke-width": sz.stroke / 2 }, h);
      }
    }
  }
  function describeFeatures(f) {
    const parts = [f.face ? (f.face_stage ? "face: follows the driver's expression" : "face: found, kept as photographed")
      : "face: not found"];
    for (const side of ["left", "right"]) {
      if (!(side in f.hands)) { parts.push(`${side} hand: not found`); continue; }
      const bend = `bend ${f.finger_bend[side].toFixed(0)}°`;
      parts.push(`${side} hand: ${f.hand_stage.includes(side) ? "fingers follow" : "rigid"} (${bend})`);
    }
    $("features").textContent = parts.join(" · ");
    $("features").title = f.notes.join("\n");
  }
  async function loadFeatures() {
    state.features = null;
    $("features").textContent = "";
    const id = state.ref.reference;
    try {
      const f = await api("/api/features", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ reference: id }) });
      if (!state.ref || state.ref.reference !== id) return;   // another photo was chosen meanwhile
      state.features = f;
      describeFeatures(f);
      drawEditable();
    } catch (err) {
      $("features").textContent = `face and hands: ${err.message}`;
    }
  }

  function drawPoseInto(group, pose, cls) {
    const g = el("g", { class: cls }, group);
    const sz = sizes(pose);
    const present = (k) => k[2] >= minScore();
    for (const [a, b] of state.info.bones) {
      const ia = idx(pose, a), ib = idx(pose, b);
      if (ia < 0 || ib < 0) continue;
      const pa = pose.keypoints[ia], pb = pose.keypoints[ib];
      if (!present(pa) || !present(pb)) continue;
      el("line", { x1: pa[0], y1: pa[1], x2: pb[0], y2: pb[1], "stroke-width": sz.stroke }, g);
    }
    pose.names.forEach((n, i) => {
      const k = pose.keypoints[i];
      if (MAIN.has(n) && present(k)) el("circle", { cx: k[0], cy: k[1], r: sz.small, "stroke-width": sz.stroke / 2 }, g);
    });
  }

  // The output overlay after Evaluate: the target pose (magenta) and the pose found on the output (green).
  function drawEvaluation(target, found) {
    const svg = $("svg-out");
    svg.replaceChildren();
    svg.setAttribute("viewBox", `0 0 ${target.width} ${target.height}`);
    drawPoseInto(svg, target, "target");
    if (found) drawPoseInto(svg, found, "found");
  }

  function markStale() {
    const stale = state.output && JSON.stringify(state.output.pose) !== JSON.stringify(state.pose);
    $("stage-out").classList.toggle("stale", !!stale);
    if (stale) { $("metrics").replaceChildren(); $("svg-out").replaceChildren(); }
  }

  // ---------------------------------------------------------------- editing
  function setPose(pose, recordUndo = true) {
    if (recordUndo && state.pose) state.undo.push(clone(state.pose));
    state.nudging = null;
    state.pose = pose;
    drawEditable();
    markStale();
    updateButtons();
    if ($("chk-auto").checked && state.ref) render();
  }

  function svgPoint(svg, evt) {
    const pt = svg.createSVGPoint();
    pt.x = evt.clientX; pt.y = evt.clientY;
    return pt.matrixTransform(svg.getScreenCTM().inverse());
  }

  function showJointLabel(name, evt) {
    const label = $("joint-label");
    const box = $("drop").getBoundingClientRect();
    label.textContent = name.replace(/_/g, " ");
    label.style.left = `${evt.clientX - box.left}px`;
    label.style.top = `${evt.clientY - box.top}px`;
    label.hidden = false;
  }

  function installDragging() {
    const svg = $("svg-ref");
    let drag = null;   // {name, before, last, moved, followers, circle}

    svg.addEventListener("pointerdown", (evt) => {
      const target = evt.target.closest("circle[data-name]");
      if (!target || !state.pose || state.busy) return;
      evt.preventDefault();
      const name = target.dataset.name;
      state.selected = name;
      drag = { name, before: clone(state.pose), last: svgPoint(svg, evt), moved: false,
        followers: descendants(name, evt.shiftKey), circle: target };
      target.classList.add("active");
      svg.setPointerCapture(evt.pointerId);
    });
    svg.addEventListener("pointermove", (evt) => {
      const hover = evt.target.closest && evt.target.closest("circle[data-name]");
      if (drag) showJointLabel(drag.name, evt);
      else if (hover) showJointLabel(hover.dataset.name, evt);
      else $("joint-label").hidden = true;
      if (!drag) return;
      const p = svgPoint(svg, evt);
      const dx = p.x - drag.last.x, dy = p.y - drag.last.y;
      if (dx === 0 && dy === 0) return;
      drag.last = p;
      drag.moved = true;
      const pose = state.pose;
      const clampX = (v) => Math.min(pose.width, Math.max(0, v));
      const clampY = (v) => Math.min(pose.height, Math.max(0, v));
      for (const n of [drag.name, ...drag.followers]) {
        if (idx(pose, n) < 0) continue;
        const k = pose.keypoints[idx(pose, n)];
        k[0] = clampX(k[0] + dx); k[1] = clampY(k[1] + dy);
      }
      // a joint the user placed is certain
      pose.keypoints[idx(pose, drag.name)][2] = 1.0;
      drawEditable();
      const again = $("svg-ref").querySelector(`circle[data-name="${drag.name}"]`);
      if (again) again.classList.add("active");
    });
    const end = (evt) => {
      if (!drag) return;
      const d = drag;
      drag = null;
      if (svg.hasPointerCapture(evt.pointerId)) svg.releasePointerCapture(evt.pointerId);
      $("joint-label").hidden = true;
      if (d.moved) {
        const after = state.pose;
        state.pose = d.before;   // setPose records `before` on the undo stack
        setPose(after);
      } else {
        drawEditable();
      }
    };
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
    svg.addEventListener("pointerleave", () => { if (!drag) $("joint-label").hidden = true; });
  }

  // Arrow keys move the selected joint (and what follows it) by 1 image pixel, 10 with Shift.
  // A run of moves of one joint is one undo step.
  function nudge(dx, dy) {
    const pose = state.pose;
    const i = pose ? idx(pose, state.selected) : -1;
    if (i < 0) return;
    const run = state.nudging === state.selected;
    const before = clone(pose);
    for (const n of [state.selected, ...descendants(state.selected, false)]) {
      const j = idx(pose, n);
      if (j < 0) continue;
      pose.keypoints[j][0] = Math.min(pose.width, Math.max(0, pose.keypoints[j][0] + dx));
      pose.keypoints[j][1] = Math.min(pose.height, Math.max(0, pose.keypoints[j][1] + dy));
    }
    pose.keypoints[i][2] = 1.0;
    const after = state.pose;
    state.pose = before;
    setPose(after, !run);
    state.nudging = state.selected;
  }

  function undo() {
    if (!state.undo.length) return;
    state.nudging = null;
    state.pose = state.undo.pop();
    drawEditable();
    markStale();
    updateButtons();
  }

  function reset() {
    if (!state.rest) return;
    setPose(clone(state.rest));
  }

  // ---------------------------------------------------------------- actions
  function checkFile(file) {
    if (!file) return false;
    const limit = state.info ? state.info.max_upload_bytes : Infinity;
    if (file.size > limit) {
      showMessage(`"${file.name}" is ${(file.size / 2 ** 20).toFixed(1)} MB: at most ${(limit / 2 ** 20).toFixed(0)} MB; choose a smaller photo`);
      return false;
    }
    return true;
  }

  async function loadReference(file) {
    if (!checkFile(file)) return;
    await withBusy(`Finding the person in "${file.name}"…`, async () => {
      const form = new FormData();
      form.append("image", file);
      const r = await api("/api/estimate", { method: "POST", body: form });
      await new Promise((resolve, reject) => {
        const img = $("img-ref");
        img.onload = resolve;
        img.onerror = () => reject(new Error("the browser cannot show the stored photo"));
        img.src = r.image;
      });
      state.ref = { reference: r.reference, width: r.width, height: r.height, name: file.name };
      state.rest = clone(r.pose);
      state.pose = clone(r.pose);
      state.undo = [];
      state.output = null;
      state.selected = null;
      state.nudging = null;
      $("stage-ref").hidden = false;
      $("drop").classList.remove("empty");
      $("img-out").removeAttribute("src");
      $("stage-out").hidden = true;
      $("out-box").classList.add("empty");
      $("metrics").replaceChildren();
      state.features = null;
      drawEditable();
      loadFeatures();
      const n = r.pose.keypoints.filter((k) => k[2] >= minScore()).length;
      showMessage(`Found ${n} of ${r.pose.keypoints.length} keypoints${r.scale < 1 ? ` (photo scaled to ${r.width}×${r.height})` : ""}. Drag the joints, then Render.`, "info");
    });
  }

  // POST /api/render and show the result; throws on failure (callers wrap it in withBusy).
  async function renderPose(pose) {
    const seq = ++state.renderSeq;
    const r = await postJSON("/api/render", { reference: state.ref.reference, pose });
    if (seq !== state.renderSeq) return;   // a newer render was asked for meanwhile
    await new Promise((resolve, reject) => {
      const img = $("img-out");
      img.onload = resolve;
      img.onerror = () => reject(new Error("the browser cannot show the rendered image"));
      img.src = r.image;
    });
    state.output = { image: r.image, pose };
    state.renders += 1;
    document.body.dataset.renders = String(state.renders);
    $("stage-out").hidden = false;
    $("out-box").classList.remove("empty");
    $("svg-out").replaceChildren();
    $("metrics").textContent = `rendered in ${r.render_ms.toFixed(1)} ms${r.cached ? " (cached)" : ""}`;
    markStale();
  }

  async function render() {
    if (!state.ref) return;
    const pose = clone(state.pose);
    await withBusy("Rendering…", () => renderPose(pose));
  }

  function fmt(v, digits) { return v === null || v === undefined ? "n/a" : v.toFixed(digits); }

  async function evaluate() {
    if (!state.ref) return;
    const pose = clone(state.pose);
    await withBusy("Evaluating: rendering and re-estimating the pose on the output…", async () => {
      if (!state.output || JSON.stringify(state.output.pose) !== JSON.stringify(pose)) await renderPose(pose);
      const r = await postJSON("/api/evaluate", { reference: state.ref.reference, pose });
      drawEvaluation(pose, r.found_pose);
      const m = $("metrics");
      m.replaceChildren();
      const line = document.createElement("div");
      line.innerHTML = "AKD <b></b> px (<b></b> at 256 px) · MKR <b></b> (<b></b> of <b></b> keypoints missing)";
      const b = line.querySelectorAll("b");
      b[0].textContent = fmt(r.akd_px, 2); b[1].textContent = fmt(r.akd_256, 2);
      b[2].textContent = fmt(r.mkr, 3); b[3].textContent = String(r.keypoints_missing);
      b[4].textContent = String(r.keypoints_expected);
      const legend = document.createElement("div");
      legend.innerHTML = '<span class="legend-target">■ target pose</span> · <span class="legend-found">■ pose found on the output</span>';
      m.append(line, legend);
      m.dataset.akd = r.akd_px === null ? "" : String(r.akd_px);
      m.dataset.mkr = r.mkr === null ? "" : String(r.mkr);
      if (!r.found_pose) showMessage("The estimator finds nobody on the output: every target keypoint counts as missing.", "info");
    });
  }

  async function poseFromPhoto(file) {
    if (!state.ref || !checkFile(file)) return;
    await withBusy(`Taking the pose of "${file.name}"…`, async () => {
      const form = new FormData();
      form.append("image", file);
      form.append("reference", state.ref.reference);
      form.append("mirror", $("chk-mirror").checked ? "1" : "0");
      const r = await api("/api/pose-from-photo", { method: "POST", body: form });
      setPose(r.pose);
      showMessage(`Pose of "${file.name}" fitted to this person's proportions${r.mirror ? " (mirrored)" : ""}. Render to see it.`, "info");
    });
  }

  // A pose saved earlier (OpenPose JSON from "Download pose", or `repose pose` JSON).
  async function loadPoseFile(file) {
    if (!state.ref || !checkFile(file)) return;
    await withBusy(`Loading the pose in "${file.name}"…`, async () => {
      let data;
      try {
        data = JSON.parse(await file.text());
      } catch (err) {
        throw new Error(`"${file.name}" is not JSON: expected an OpenPose or repose pose file`);
      }
      const r = await postJSON("/api/pose-from-json", {
        reference: state.ref.reference, pose: data, mirror: $("chk-mirror").checked,
      });
      setPose(r.pose);
      showMessage(`Pose loaded from "${file.name}"${r.retargeted ? ", fitted to this person's proportions" : ""}${r.mirror ? " (mirrored)" : ""}. Render to see it.`, "info");
    });
  }

  function saveBlob(blob, fileName) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = fileName;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
  const baseName = () => ((state.ref && state.ref.name) || "pose").replace(/\.[^.]*$/, "");

  async function downloadOpenPose() {
    if (!state.pose) return;
    await withBusy(null, async () => {
      const r = await postJSON("/api/export/openpose", { pose: state.pose });
      saveBlob(new Blob([JSON.stringify(r, null, 1)], { type: "application/json" }), `${baseName()}_keypoints.json`);
    });
  }

  // The lossless PNG of the output on screen (the server keeps the last renders).
  async function downloadPNG() {
    if (!state.output) return;
    await withBusy(null, async () => {
      let resp;
      try {
        resp = await fetch("/api/render?format=png", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ reference: state.ref.reference, pose: state.output.pose }),
        });
      } catch (err) {
        throw new Error("cannot reach the editor server (is `repose editor` still running?)");
      }
      if (!resp.ok) {
        let msg = `the server answered ${resp.status}`;
        try { msg = (await resp.json()).error || msg; } catch (err) { /* not JSON */ }
        throw new Error(msg);
      }
      saveBlob(await resp.blob(), `${baseName()}_reposed.png`);
    });
  }

  // ---------------------------------------------------------------- wiring
  function installDrop() {
    const zone = $("drop");
    const over = (on) => (evt) => { evt.preventDefault(); zone.classList.toggle("over", on); };
    zone.addEventListener("dragenter", over(true));
    zone.addEventListener("dragover", over(true));
    zone.addEventListener("dragleave", over(false));
    zone.addEventListener("drop", (evt) => {
      evt.preventDefault();
      zone.classList.remove("over");
      const file = evt.dataTransfer && evt.dataTransfer.files[0];
      if (file) loadReference(file);
      else showMessage("Drop an image file (JPEG, PNG, WebP or BMP).");
    });
    // a photo dropped elsewhere must not navigate away from the editor
    window.addEventListener("dragover", (evt) => evt.preventDefault());
    window.addEventListener("drop", (evt) => evt.preventDefault());
  }

  async function init() {
    $("file-reference").addEventListener("change", (evt) => {
      const f = evt.target.files[0];
      evt.target.value = "";
      if (f) loadReference(f);
    });
    $("file-other").addEventListener("change", (evt) => {
      const f = evt.target.files[0];
      evt.target.value = "";
      if (f) poseFromPhoto(f);
    });
    $("file-pose").addEventListener("change", (evt) => {
      const f = evt.target.files[0];
      evt.target.value = "";
      if (f) loadPoseFile(f);
    });
    $("chk-features").addEventListener("change", drawEditable);
    $("btn-undo").addEventListener("click", undo);
    $("btn-reset").addEventListener("click", reset);
    $("btn-render").addEventListener("click", render);
    $("btn-evaluate").addEventListener("click", evaluate);
    $("btn-openpose").addEventListener("click", downloadOpenPose);
    $("btn-png").addEventListener("click", downloadPNG);
    const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    document.addEventListener("keydown", (evt) => {
      if ((evt.ctrlKey || evt.metaKey) && evt.key.toLowerCase() === "z" && !state.busy) { evt.preventDefault(); undo(); return; }
      if (evt.key === "Escape" && state.selected) { state.selected = null; drawEditable(); return; }
      const step = ARROWS[evt.key];
      if (step && state.selected && !state.busy && !evt.ctrlKey && !evt.metaKey && !evt.altKey) {
        evt.preventDefault();
        const k = evt.shiftKey ? 10 : 1;
        nudge(step[0] * k, step[1] * k);
      }
    });
    installDragging();
    installDrop();
    updateButtons();
    try {
      state.info = await api("/api/info");
      $("renderer-name").textContent = `renderer: ${state.info.renderer}`;
      document.body.dataset.ready = "1";
    } catch (err) {
      showMessage(err.message);
    }
  }

  init();
})();
