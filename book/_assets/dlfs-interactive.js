/* Interactive figures of "Deep Learning from First Principles".
 *
 * Plain JavaScript and SVG, no library, nothing fetched.  Each figure is a
 * <div class="dlfs-interactive" data-figure="NAME"> written by
 * book/_ext/dlfs_interactive.py, holding its data as JSON (computed at build
 * time by dlfs), a static image (shown without JavaScript) and an empty
 * <div class="dlfs-live">, which this script fills.
 *
 * Whatever is recomputed here (optimiser trajectories, the neuron's loss and
 * gradient, a convolution's output and col2im) follows dlfs's code operation by
 * operation, in float64; tests/book/test_book_interactive.py compares the
 * numbers with dlfs's.  Every figure exposes root.dlfsFigure.state() for it.
 */
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var uid = 0;

  // ---------------------------------------------------------------- helpers
  function el(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function svg(tag, attrs, parent, text) {
    var e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function setAttrs(e, attrs) {
    for (var k in attrs || {}) {
      if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) continue;
      if (k === "class") e.setAttribute("class", attrs[k]);
      else e.setAttribute(k, attrs[k]);
    }
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function fmt(x, d) {
    if (!isFinite(x)) return x > 0 ? "∞" : (x < 0 ? "−∞" : "NaN");
    var s = x.toFixed(d);
    if (/^-0\.?0*$/.test(s)) s = s.slice(1);            // no "-0.0000"
    return s.replace("-", "−");
  }
  function sci(x) {
    if (!isFinite(x)) return "diverged";
    return x.toExponential(2).replace("-", "−").replace("e", "e");
  }
  function newId(prefix) { uid += 1; return "dlfs-" + prefix + "-" + uid; }

  /* A labelled range input with its value shown in an <output>.
   * opts: label, values (a list: the slider moves through their indices) or
   * min/max/step; value; format(value) -> text. */
  function slider(parent, opts) {
    var id = newId("in");
    var wrap = el("div", {"class": "dlfs-control"}, parent);
    var label = el("label", {"for": id}, wrap, opts.label);
    var input = el("input", {type: "range", id: id}, wrap);
    var out = el("output", {"for": id}, wrap);
    var values = opts.values;
    if (values) {
      input.min = 0; input.max = values.length - 1; input.step = 1;
      var best = 0;
      values.forEach(function (v, i) {
        if (Math.abs(v - opts.value) < Math.abs(values[best] - opts.value)) best = i;
      });
      input.value = best;
    } else {
      input.min = opts.min; input.max = opts.max; input.step = opts.step;
      input.value = opts.value;
    }
    var format = opts.format || function (v) { return String(v); };
    var ctl = {
      input: input, label: label,
      get: function () { return values ? values[Number(input.value)] : Number(input.value); },
      set: function (v) {
        if (values) {
          var b = 0;
          values.forEach(function (w, i) { if (Math.abs(w - v) < Math.abs(values[b] - v)) b = i; });
          input.value = b;
        } else input.value = v;
        ctl.show();
      },
      show: function (v) {
        var text = format(v === undefined ? ctl.get() : v);
        out.textContent = text;
        input.setAttribute("aria-valuetext", text);
      }
    };
    ctl.show();
    input.addEventListener("input", function () { ctl.show(); if (opts.onchange) opts.onchange(); });
    return ctl;
  }

  function button(parent, text, onclick, cls) {
    var b = el("button", {type: "button", "class": "dlfs-button" + (cls ? " " + cls : "")}, parent, text);
    b.addEventListener("click", onclick);
    return b;
  }

  function checkbox(parent, text, checked, onchange, swatch) {
    var id = newId("cb");
    var wrap = el("div", {"class": "dlfs-check"}, parent);
    var input = el("input", {type: "checkbox", id: id}, wrap);
    input.checked = checked;
    var label = el("label", {"for": id}, wrap);
    if (swatch) el("span", {"class": "dlfs-swatch dlfs-c-" + swatch, "aria-hidden": "true"}, label);
    label.appendChild(document.createTextNode(text));
    input.addEventListener("change", onchange);
    return input;
  }

  function radios(parent, legend, options, value, onchange) {
    var fs = el("fieldset", {"class": "dlfs-radios"}, parent);
    el("legend", {}, fs, legend);
    var name = newId("radio");
    var inputs = options.map(function (o) {
      var id = newId("rb");
      var w = el("span", {"class": "dlfs-radio"}, fs);
      var input = el("input", {type: "radio", name: name, id: id, value: o[0]}, w);
      input.checked = o[0] === value;
      el("label", {"for": id}, w, o[1]);
      input.addEventListener("change", function () { if (input.checked) onchange(o[0]); });
      return input;
    });
    return {get: function () {
      for (var i = 0; i < inputs.length; i++) if (inputs[i].checked) return inputs[i].value;
      return value;
    }};
  }

  /* Scales of a plot area: data (x0..x1, y0..y1) -> SVG (left..right, bottom..top). */
  function scales(x0, x1, y0, y1, box) {
    return {
      x: function (v) { return box[0] + (v - x0) / (x1 - x0) * (box[2] - box[0]); },
      y: function (v) { return box[3] - (v - y0) / (y1 - y0) * (box[3] - box[1]); }
    };
  }

  function sigmoid(z) {                  // dlfs.activations.sigmoid, one number
    return Math.exp(Math.min(z, 0)) / (1.0 + Math.exp(-Math.abs(z)));
  }

  // ------------------------------------------------- 1. backprop step-through
  function backprop(root, d, live) {
    var controls = el("div", {"class": "dlfs-controls"}, live);
    var drawing = el("div", {"class": "dlfs-drawing"}, live);
    var scroller = el("div", {"class": "dlfs-scroll", tabindex: "0", role: "region",   // scrolls on phones
                              "aria-label": "network graph"}, drawing);
    var pic = svg("svg", {viewBox: "0 0 640 290", "class": "dlfs-svg dlfs-wide", role: "img",
                          "aria-label": "Graph of the 2-2-1 network with the values and adjoints known so far"}, scroller);
    var defs = svg("defs", {}, pic);
    var marker = svg("marker", {id: newId("arrow"), viewBox: "0 0 10 10", refX: 9, refY: 5,
                                markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse"}, defs);
    svg("path", {d: "M0,0 L10,5 L0,10 z", "class": "dlfs-arrowhead"}, marker);
    var P = {x1: [40, 70], x2: [40, 220], z11: [190, 70], z12: [190, 220], a11: [330, 70],
             a12: [330, 220], z2: [470, 145], L: [600, 145]};
    var LABEL = {x1: ["x", "1"], x2: ["x", "2"], z11: ["z", "1,1"], z12: ["z", "1,2"],
                 a11: ["a", "1,1"], a12: ["a", "1,2"], z2: ["z", "2"], L: ["L", ""]};
    var EDGES = [["x1", "z11", "w=" + d.W1[0][0]], ["x1", "z12", "w=" + d.W1[0][1]],
                 ["x2", "z11", "w=" + d.W1[1][0]], ["x2", "z12", "w=" + d.W1[1][1]],
                 ["z11", "a11", "σ"], ["z12", "a12", "σ"],
                 ["a11", "z2", "w=" + d.W2[0]], ["a12", "z2", "w=" + d.W2[1]], ["z2", "L", "BCE"]];
    var VAL = {x1: d.x[0], x2: d.x[1], z11: d.z1[0], z12: d.z1[1], a11: d.a1[0], a12: d.a1[1],
               z2: d.z2, L: d.L};
    var ADJ = {x1: d.dx[0], x2: d.dx[1], z11: d.dz1[0], z12: d.dz1[1], a11: d.da1[0],
               a12: d.da1[1], z2: d.dz2, L: 1.0};
    var edgeEls = {}, nodeEls = {}, valEls = {}, adjEls = {};
    EDGES.forEach(function (e) {
      var a = P[e[0]], b = P[e[1]];
      var dx = b[0] - a[0], dy = b[1] - a[1], n = Math.sqrt(dx * dx + dy * dy);
      var g = svg("g", {"class": "dlfs-edge"}, pic);
      svg("line", {x1: a[0] + dx / n * 34, y1: a[1] + dy / n * 22, x2: b[0] - dx / n * 37,
                   y2: b[1] - dy / n * 25, "marker-end": "url(#" + marker.id + ")"}, g);
      var t = svg("text", {x: (a[0] + b[0]) / 2, y: (a[1] + b[1]) / 2 - 4, "class": "dlfs-edge-label",
                           "text-anchor": "middle"}, g, e[2]);
      if (e[0][0] === "x") t.setAttribute("y", a[1] + dy * 0.28 - 4), t.setAttribute("x", a[0] + dx * 0.28);
      edgeEls[e[0] + ">" + e[1]] = g;
    });
    Object.keys(P).forEach(function (k) {
      var g = svg("g", {"class": "dlfs-node"}, pic);
      svg("rect", {x: P[k][0] - 32, y: P[k][1] - 19, width: 64, height: 38, rx: 10}, g);
      var t = svg("text", {x: P[k][0], y: P[k][1] + 6, "text-anchor": "middle", "class": "dlfs-node-name"}, g,
                  LABEL[k][0]);
      if (LABEL[k][1]) svg("tspan", {"baseline-shift": "sub", "font-size": "70%"}, t, LABEL[k][1]);
      valEls[k] = svg("text", {x: P[k][0], y: P[k][1] - 26, "text-anchor": "middle", "class": "dlfs-value"}, pic, "");
      adjEls[k] = svg("text", {x: P[k][0], y: P[k][1] + 40, "text-anchor": "middle", "class": "dlfs-adjoint"}, pic, "");
      nodeEls[k] = g;
    });
    svg("text", {x: 8, y: 284, "class": "dlfs-small"}, pic, "above a node: its value v;  below, in red: its adjoint ∂L/∂v");
    var f4 = function (v) { return fmt(v, 4); };
    var STEPS = [
      {node: ["x1", "x2"], kind: "value", text: "Input x = (" + d.x.join(", ") + "), label y = " + d.y +
        ". Press Next to run the forward pass node by node."},
      {node: ["z11"], kind: "value", from: ["x1", "x2"], text: "z₁,₁ = x₁·" + d.W1[0][0] + " + x₂·" + d.W1[1][0] +
        " + " + d.b1[0] + " = " + f4(d.z1[0])},
      {node: ["z12"], kind: "value", from: ["x1", "x2"], text: "z₁,₂ = x₁·(" + d.W1[0][1] + ") + x₂·" + d.W1[1][1] +
        " + (" + d.b1[1] + ") = " + f4(d.z1[1])},
      {node: ["a11"], kind: "value", from: ["z11"], text: "a₁,₁ = σ(z₁,₁) = σ(" + f4(d.z1[0]) + ") = " + f4(d.a1[0])},
      {node: ["a12"], kind: "value", from: ["z12"], text: "a₁,₂ = σ(z₁,₂) = σ(" + f4(d.z1[1]) + ") = " + f4(d.a1[1])},
      {node: ["z2"], kind: "value", from: ["a11", "a12"], text: "z₂ = " + d.W2[0] + "·a₁,₁ + (" + d.W2[1] +
        ")·a₁,₂ + " + d.b2 + " = " + f4(d.z2) + ", so p = σ(z₂) = " + f4(d.p)},
      {node: ["L"], kind: "value", from: ["z2"], text: "L = BCE(z₂, y) = −log p = " + f4(d.L) +
        " (y = 1). Forward pass done; next, the adjoints ∂L/∂v, from the top."},
      {node: ["L"], kind: "adjoint", text: "Start the backward pass: ∂L/∂L = 1."},
      {node: ["z2"], kind: "adjoint", to: ["L"], text: "∂L/∂z₂ = p − y = " + f4(d.dz2) +
        ". Output layer: ∂L/∂W₂ = a₁ᵀ(p − y) = (" + f4(d.dW2[0]) + ", " + f4(d.dW2[1]) + "), ∂L/∂b₂ = " + f4(d.db2)},
      {node: ["a11"], kind: "adjoint", to: ["z2"], text: "∂L/∂a₁,₁ = " + d.W2[0] + " · ∂L/∂z₂ = " + f4(d.da1[0])},
      {node: ["a12"], kind: "adjoint", to: ["z2"], text: "∂L/∂a₁,₂ = (" + d.W2[1] + ") · ∂L/∂z₂ = " + f4(d.da1[1])},
      {node: ["z11", "z12"], kind: "adjoint", to: ["a11", "a12"], text: "∂L/∂z₁ = ∂L/∂a₁ ⊙ σ′(z₁) = (" +
        f4(d.da1[0]) + "·" + f4(d.sigma_prime[0]) + ", " + f4(d.da1[1]) + "·" + f4(d.sigma_prime[1]) + ") = (" +
        f4(d.dz1[0]) + ", " + f4(d.dz1[1]) + "). Hidden layer: ∂L/∂W₁ = xᵀ ∂L/∂z₁, ∂L/∂b₁ = ∂L/∂z₁."},
      {node: ["x1", "x2"], kind: "adjoint", to: ["z11", "z12"], text: "∂L/∂x = ∂L/∂z₁ W₁ᵀ = (" + f4(d.dx[0]) +
        ", " + f4(d.dx[1]) + "): each input sums over both hidden units it feeds. Backward pass done."}
    ];
    var gradList = el("dl", {"class": "dlfs-grads"}, drawing);
    var GRADS = [[8, "∂L/∂W₂", "(" + f4(d.dW2[0]) + ", " + f4(d.dW2[1]) + ")ᵀ"], [8, "∂L/∂b₂", f4(d.db2)],
                 [11, "∂L/∂W₁", "[[" + f4(d.dW1[0][0]) + ", " + f4(d.dW1[0][1]) + "], [" + f4(d.dW1[1][0]) + ", " +
                  f4(d.dW1[1][1]) + "]]"], [11, "∂L/∂b₁", "(" + f4(d.db1[0]) + ", " + f4(d.db1[1]) + ")"]];
    var gradEls = GRADS.map(function (g) {
      var dt = el("dt", {}, gradList, g[1]);
      var dd = el("dd", {}, gradList, g[2]);
      return [g[0], dt, dd];
    });
    var status = el("p", {"class": "dlfs-status", "aria-live": "polite"}, drawing);
    var step = 0;
    var stepCtl = slider(controls, {label: "Step", min: 0, max: STEPS.length - 1, step: 1, value: 0,
      format: function (v) { return v + " of " + (STEPS.length - 1); },
      onchange: function () { step = stepCtl.get(); render(); }});
    var prev = button(controls, "Previous step", function () { go(step - 1); });
    var next = button(controls, "Next step", function () { go(step + 1); });
    button(controls, "Reset", function () { go(0); });
    function go(s) { step = Math.max(0, Math.min(STEPS.length - 1, s)); stepCtl.set(step); render(); }
    function render() {
      var shownVal = {}, shownAdj = {};
      for (var i = 0; i <= step; i++) {
        STEPS[i].node.forEach(function (k) { (STEPS[i].kind === "value" ? shownVal : shownAdj)[k] = true; });
      }
      Object.keys(P).forEach(function (k) {
        valEls[k].textContent = shownVal[k] ? f4(VAL[k]) : "";
        adjEls[k].textContent = shownAdj[k] ? f4(ADJ[k]) : "";
        nodeEls[k].setAttribute("class", "dlfs-node" + (STEPS[step].node.indexOf(k) >= 0 ? " dlfs-current" : ""));
      });
      var cur = STEPS[step];
      Object.keys(edgeEls).forEach(function (key) {
        var ab = key.split(">"), on = false;
        if (cur.from && cur.node.indexOf(ab[1]) >= 0 && cur.from.indexOf(ab[0]) >= 0) on = "fwd";
        if (cur.to && cur.node.indexOf(ab[0]) >= 0 && cur.to.indexOf(ab[1]) >= 0) on = "bwd";
        edgeEls[key].setAttribute("class", "dlfs-edge" + (on ? " dlfs-active-" + on : ""));
      });
      gradEls.forEach(function (g) {
        g[1].hidden = step < g[0];
        g[2].hidden = step < g[0];
      });
      if (scroller.scrollWidth > scroller.clientWidth + 1) {      // keep the current node in view
        var scale = pic.getBoundingClientRect().width / 640, xs = cur.node.map(function (k) { return P[k][0]; });
        scroller.scrollLeft = scale * (Math.min.apply(null, xs) + Math.max.apply(null, xs)) / 2 - scroller.clientWidth / 2;
      }
      prev.disabled = step === 0;
      next.disabled = step === STEPS.length - 1;
      status.textContent = "Step " + step + ": " + cur.text;
    }
    render();
    return {state: function () {
      var shown = {};
      Object.keys(P).forEach(function (k) { shown[k] = [valEls[k].textContent, adjEls[k].textContent]; });
      return {step: step, steps: STEPS.length, shown: shown, values: VAL, adjoints: ADJ};
    }};
  }

  // ---------------------------------------------------- 2. optimiser playground
  /* One update of each dlfs optimiser (dlfs/optim.py), in the same order of
   * operations, on a parameter of two coordinates. */
  function makeOptimizer(method, s) {
    var st = {t: 0, v: [0, 0], s: [0, 0], m: [0, 0]};
    return function (w, g) {
      var i, scratch;
      if (method === "gd") {
        for (i = 0; i < 2; i++) { scratch = g[i] * s.lr; w[i] -= scratch; }
      } else if (method === "momentum" || method === "nesterov") {
        for (i = 0; i < 2; i++) {
          scratch = g[i] * s.lr;
          st.v[i] *= s.mu;
          st.v[i] -= scratch;
          if (method === "nesterov") { w[i] -= scratch; scratch = st.v[i] * s.mu; w[i] += scratch; }
          else w[i] += st.v[i];
        }
      } else if (method === "rmsprop") {
        for (i = 0; i < 2; i++) {
          st.s[i] *= s.rho;
          scratch = g[i] * g[i];
          scratch *= 1 - s.rho;
          st.s[i] += scratch;
          scratch = Math.sqrt(st.s[i]);
          scratch += s.eps;
          scratch = g[i] / scratch;
          scratch *= s.lr_adaptive;
          w[i] -= scratch;
        }
      } else {                                          // adam
        st.t += 1;
        var b1 = s.beta1, b2 = s.beta2;
        var stepSize = s.lr_adaptive * Math.sqrt(1 - Math.pow(b2, st.t)) / (1 - Math.pow(b1, st.t));
        var epsHat = s.eps * Math.sqrt(1 - Math.pow(b2, st.t));
        for (i = 0; i < 2; i++) {
          st.m[i] *= b1;
          scratch = g[i] * (1 - b1);
          st.m[i] += scratch;
          st.v[i] *= b2;
          scratch = g[i] * g[i];
          scratch *= 1 - b2;
          st.v[i] += scratch;
          scratch = Math.sqrt(st.v[i]);
          scratch += epsHat;
          scratch = st.m[i] / scratch;
          scratch *= stepSize;
          w[i] -= scratch;
        }
      }
    };
  }

  function surfaceValue(name, surf, w) {            // dlfs_interactive_data.surface_value
    var w1 = w[0], w2 = w[1];
    if (name === "quadratic") {
      var H = surf.H, e1 = w1 - surf.w_star[0], e2 = w2 - surf.w_star[1];
      return 0.5 * (e1 * (H[0][0] * e1 + H[0][1] * e2) + e2 * (H[1][0] * e1 + H[1][1] * e2));
    }
    var u = w2 - 0.5 * w1, q = w1 * w1 - 1;
    return q * q + surf.tilt * w1 + 2 * u * u;
  }
  function surfaceGrad(name, surf, w) {             // dlfs_interactive_data.surface_grad
    var w1 = w[0], w2 = w[1];
    if (name === "quadratic") {
      var H = surf.H, e1 = w1 - surf.w_star[0], e2 = w2 - surf.w_star[1];
      return [H[0][0] * e1 + H[0][1] * e2, H[1][0] * e1 + H[1][1] * e2];
    }
    var u = w2 - 0.5 * w1;
    return [4 * w1 * (w1 * w1 - 1) + surf.tilt - 2 * u, 4 * u];
  }
  function trajectory(method, s, name, surf, limit) {
    var step = makeOptimizer(method, s);
    var w = surf.start.slice(), path = [w.slice()];
    for (var k = 0; k < s.steps; k++) {
      step(w, surfaceGrad(name, surf, w));
      path.push(w.slice());
      if (!isFinite(w[0]) || !isFinite(w[1]) || Math.max(Math.abs(w[0]), Math.abs(w[1])) > limit) break;
    }
    return path;
  }

  var NICE = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9];
  function niceValues(lo, hi) {
    var out = [];
    for (var e = -5; e <= 1; e++) {
      NICE.forEach(function (m) {
        var v = Number((m * Math.pow(10, e)).toPrecision(3));
        if (v >= lo - 1e-15 && v <= hi + 1e-15) out.push(v);
      });
    }
    return out;
  }

  function optimisers(root, d, live) {
    var s = JSON.parse(JSON.stringify(d.defaults));
    var controls = el("div", {"class": "dlfs-controls"}, live);
    var drawing = el("div", {"class": "dlfs-drawing dlfs-two"}, live);
    radios(controls, "Surface", [["quadratic", "quadratic, κ = 25"], ["well", "non-convex double well"]],
           s.surface, function (v) { s.surface = v; render(); });
    var ctl = {};
    ctl.lr = slider(controls, {label: "η (gradient descent, momentum, Nesterov)", values: niceValues(0.001, 0.2),
                               value: s.lr, onchange: update});
    ctl.mu = slider(controls, {label: "momentum μ", min: 0, max: 0.99, step: 0.01, value: s.mu, onchange: update});
    ctl.lr_adaptive = slider(controls, {label: "η (RMSProp, Adam)", values: niceValues(0.001, 1),
                                        value: s.lr_adaptive, onchange: update});
    ctl.beta1 = slider(controls, {label: "Adam β₁", min: 0, max: 0.99, step: 0.01, value: s.beta1, onchange: update});
    ctl.beta2 = slider(controls, {label: "Adam β₂ (and RMSProp ρ = 0.9)", values: [0.9, 0.95, 0.99, 0.995, 0.999, 0.9999],
                                  value: s.beta2, onchange: update});
    ctl.steps = slider(controls, {label: "steps", min: 5, max: 200, step: 5, value: s.steps, onchange: update});
    var shown = {};
    var boxes = el("div", {"class": "dlfs-checks"}, controls);
    d.methods.forEach(function (m) {
      shown[m] = checkbox(boxes, d.names[m], true, render, m);
    });
    function update() {
      Object.keys(ctl).forEach(function (k) { s[k] = ctl[k].get(); });
      render();
    }
    var W = 360, Hh = 290;
    var left = svg("svg", {viewBox: "0 0 " + W + " " + Hh, "class": "dlfs-svg", role: "img"}, drawing);
    var right = svg("svg", {viewBox: "0 0 300 290", "class": "dlfs-svg", role: "img",
                            "aria-label": "Loss minus its minimum per step, logarithmic scale"}, drawing);
    var table = el("table", {"class": "dlfs-table"}, drawing);
    var paths = {}, clipId = newId("clip");
    function render() {
      var surf = d.surfaces[s.surface], v = surf.view;
      clear(left); clear(right); clear(table);
      // keep the aspect ratio: fit the view box into W x Hh
      var sx = (W - 10) / (v[1] - v[0]), sy = (Hh - 10) / (v[3] - v[2]), k = Math.min(sx, sy);
      var ox = (W - k * (v[1] - v[0])) / 2, oy = (Hh - k * (v[3] - v[2])) / 2;
      var X = function (a) { return ox + (a - v[0]) * k; }, Y = function (b) { return Hh - oy - (b - v[2]) * k; };
      left.setAttribute("aria-label", "Trajectories on the " + (s.surface === "quadratic" ?
        "quadratic with condition number 25" : "non-convex double well") + ", over contour lines of the loss");
      var cp = svg("clipPath", {id: clipId}, svg("defs", {}, left));
      svg("rect", {x: X(v[0]), y: Y(v[3]), width: k * (v[1] - v[0]), height: k * (v[3] - v[2])}, cp);
      svg("rect", {x: X(v[0]), y: Y(v[3]), width: k * (v[1] - v[0]), height: k * (v[3] - v[2]), "class": "dlfs-frame"}, left);
      var g = svg("g", {"clip-path": "url(#" + clipId + ")"}, left);
      svg("path", {d: "", "class": "dlfs-contour", transform: "matrix(" + k + ",0,0," + (-k) + "," + (ox - v[0] * k) + "," +
        (Hh - oy + v[2] * k) + ")", "vector-effect": "non-scaling-stroke"}, g).setAttribute("d",
        surf.contours.map(function (c) { return c.d; }).join(" "));
      svg("path", {d: "M" + X(surf.w_star[0]) + "," + (Y(surf.w_star[1]) - 6) + " l2,4 4.5,0.5 -3.3,3 1,4.5 -4.2,-2.3 -4.2,2.3 1,-4.5 -3.3,-3 4.5,-0.5 z",
                   "class": "dlfs-star"}, left);
      svg("circle", {cx: X(surf.start[0]), cy: Y(surf.start[1]), r: 3.5, "class": "dlfs-start"}, left);
      var ys = scales(0, s.steps, -10, 4, [46, 10, 290, 250]);
      var ax = svg("g", {"class": "dlfs-axis"}, right);
      svg("line", {x1: 46, y1: 250, x2: 290, y2: 250}, ax);
      svg("line", {x1: 46, y1: 10, x2: 46, y2: 250}, ax);
      for (var e = -10; e <= 4; e += 2) {
        svg("text", {x: 42, y: ys.y(e) + 4, "text-anchor": "end"}, ax, "1e" + e);
        svg("line", {x1: 46, y1: ys.y(e), x2: 290, y2: ys.y(e), "class": "dlfs-grid"}, ax);
      }
      svg("text", {x: 168, y: 282, "text-anchor": "middle"}, ax, "step (0 to " + s.steps + ")");
      svg("text", {x: 60, y: 22}, ax, "loss − minimum");
      var head = el("tr", {}, el("thead", {}, table));
      ["method", "learning rate", "loss − min after last step"].forEach(function (h) { el("th", {scope: "col"}, head, h); });
      var body = el("tbody", {}, table);
      d.methods.forEach(function (m) {
        var p = trajectory(m, s, s.surface, surf, d.diverged);
        paths[m] = p;
        var last = p[p.length - 1];
        var diverged = p.length < s.steps + 1 || !isFinite(last[0]) || !isFinite(last[1]);
        var gap = surfaceValue(s.surface, surf, last) - surf.f_min;
        var row = el("tr", {}, body);
        var th = el("th", {scope: "row"}, row);
        el("span", {"class": "dlfs-swatch dlfs-c-" + m, "aria-hidden": "true"}, th);
        th.appendChild(document.createTextNode(d.names[m]));
        el("td", {}, row, String(m === "rmsprop" || m === "adam" ? s.lr_adaptive : s.lr));
        el("td", {"class": "dlfs-num"}, row, diverged ? "diverged" : sci(gap));
        if (!shown[m].checked) { row.className = "dlfs-off"; return; }
        var pts = p.filter(function (w) { return isFinite(w[0]) && isFinite(w[1]); })
          .map(function (w) { return X(w[0]).toFixed(2) + "," + Y(w[1]).toFixed(2); });
        svg("polyline", {points: pts.join(" "), "class": "dlfs-path dlfs-c-" + m}, g);
        var lp = [];
        p.forEach(function (w, i) {
          var f = surfaceValue(s.surface, surf, w) - surf.f_min;
          if (!isFinite(f)) return;
          var ly = Math.log10(Math.max(f, 1e-10));
          lp.push(ys.x(i).toFixed(2) + "," + ys.y(Math.min(ly, 4.5)).toFixed(2));
        });
        svg("polyline", {points: lp.join(" "), "class": "dlfs-curve dlfs-c-" + m}, right);
      });
    }
    update();
    return {state: function () { return {settings: JSON.parse(JSON.stringify(s)), paths: paths}; },
            trajectory: function (m, settings, name) {
              return trajectory(m, settings, name, d.surfaces[name], d.diverged);
            }};
  }

  // ------------------------------------------------------------- 3. one neuron
  function neuronLoss(X, y, w1, w2, b) {
    /* dlfs: z = X @ W + b; BinaryCrossEntropy(from_logits=True): mean of
     * max(z, 0) - z y + log1p(exp(-|z|)); backward (sigmoid(z) - y) / n;
     * Dense: dW = X^T g, db = sum of g. */
    var n = X.length, L = 0, g1 = 0, g2 = 0, gb = 0, correct = 0;
    for (var i = 0; i < n; i++) {
      var z = X[i][0] * w1 + X[i][1] * w2 + b;
      L += Math.max(z, 0) - z * y[i] + Math.log1p(Math.exp(-Math.abs(z)));
      var g = (sigmoid(z) - y[i]) / n;
      g1 += X[i][0] * g; g2 += X[i][1] * g; gb += g;
      if ((z > 0) === (y[i] === 1)) correct += 1;
    }
    return {loss: L / n, dw1: g1, dw2: g2, db: gb, accuracy: correct / n};
  }

  function neuron(root, d, live) {
    var s = {w1: d.defaults.w1, w2: d.defaults.w2, b: d.defaults.b};
    var controls = el("div", {"class": "dlfs-controls"}, live);
    var drawing = el("div", {"class": "dlfs-drawing dlfs-two"}, live);
    var f2 = function (v) { return fmt(v, 2); };
    var ctl = {};
    function fromSliders() { ["w1", "w2", "b"].forEach(function (k) { s[k] = ctl[k].get(); }); render(); }
    ctl.w1 = slider(controls, {label: "weight w₁", min: -4, max: 4, step: 0.1, value: s.w1, format: f2, onchange: fromSliders});
    ctl.w2 = slider(controls, {label: "weight w₂", min: -4, max: 4, step: 0.1, value: s.w2, format: f2, onchange: fromSliders});
    ctl.b = slider(controls, {label: "bias b", min: -4, max: 4, step: 0.1, value: s.b, format: f2, onchange: fromSliders});
    button(controls, "Gradient step (η = 1/β = " + fmt(d.lr, 2) + ")", function () {
      var r = neuronLoss(d.X, d.y, s.w1, s.w2, s.b);
      s.w1 -= d.lr * r.dw1; s.w2 -= d.lr * r.dw2; s.b -= d.lr * r.db;     // dlfs.optim.SGD
      ["w1", "w2", "b"].forEach(function (k) { ctl[k].set(s[k]); ctl[k].show(s[k]); });
      render();
    });
    button(controls, "Reset", function () {
      ["w1", "w2", "b"].forEach(function (k) { s[k] = d.defaults[k]; ctl[k].set(s[k]); });
      render();
    });
    var v = d.view, N = 32;
    var pic = svg("svg", {viewBox: "0 0 300 300", "class": "dlfs-svg", role: "img"}, drawing);
    var sc = scales(v[0], v[1], v[2], v[3], [30, 5, 295, 270]);
    var cellW = (sc.x(v[1]) - sc.x(v[0])) / N, cellH = (sc.y(v[2]) - sc.y(v[3])) / N;
    var heat = svg("g", {}, pic), cells = [];
    for (var i = 0; i < N; i++) for (var j = 0; j < N; j++) {
      cells.push([v[0] + (j + 0.5) * (v[1] - v[0]) / N, v[2] + (i + 0.5) * (v[3] - v[2]) / N,
        svg("rect", {x: (sc.x(v[0]) + j * cellW).toFixed(2), y: (sc.y(v[2]) - (i + 1) * cellH).toFixed(2),
                     width: (cellW + 0.3).toFixed(2), height: (cellH + 0.3).toFixed(2)}, heat)]);
    }
    var ax = svg("g", {"class": "dlfs-axis"}, pic);
    svg("rect", {x: 30, y: 5, width: 265, height: 265, "class": "dlfs-frame"}, ax);
    [-4, -2, 0, 2, 4].forEach(function (t) {
      svg("text", {x: sc.x(t), y: 284, "text-anchor": "middle"}, ax, String(t));
      svg("text", {x: 25, y: sc.y(t) + 4, "text-anchor": "end"}, ax, String(t));
    });
    svg("text", {x: 162, y: 298, "text-anchor": "middle"}, ax, "x₁");
    svg("text", {x: 6, y: 140}, ax, "x₂");
    var pts = svg("g", {}, pic);
    d.X.forEach(function (x, k) {
      if (d.y[k] === 1) {
        var cx = sc.x(x[0]), cy = sc.y(x[1]);
        svg("path", {d: "M" + cx + "," + (cy - 3.4) + " l3,5.2 -6,0 z", "class": "dlfs-pt1"}, pts);
      } else svg("circle", {cx: sc.x(x[0]), cy: sc.y(x[1]), r: 2.6, "class": "dlfs-pt0"}, pts);
    });
    var clipId = newId("clip");
    svg("rect", {x: 30, y: 5, width: 265, height: 265}, svg("clipPath", {id: clipId}, svg("defs", {}, pic)));
    var boundary = svg("line", {"class": "dlfs-boundary", "clip-path": "url(#" + clipId + ")"}, pic);
    var normal = svg("line", {"class": "dlfs-normal", "clip-path": "url(#" + clipId + ")"}, pic);
    // the sigmoid, seen edge-on: p = sigma(z) against the logit, each sample at its z
    var side = svg("svg", {viewBox: "0 0 300 300", "class": "dlfs-svg", role: "img",
                           "aria-label": "The sigmoid p = σ(z) with every training sample at its logit z"}, drawing);
    var ss = scales(-8, 8, -0.1, 1.1, [34, 40, 295, 250]);
    var sax = svg("g", {"class": "dlfs-axis"}, side);
    svg("line", {x1: 34, y1: ss.y(0), x2: 295, y2: ss.y(0)}, sax);
    svg("line", {x1: ss.x(0), y1: 40, x2: ss.x(0), y2: 250, "class": "dlfs-grid"}, sax);
    [0, 0.5, 1].forEach(function (t) { svg("text", {x: 30, y: ss.y(t) + 4, "text-anchor": "end"}, sax, String(t)); });
    [-8, -4, 0, 4, 8].forEach(function (t) { svg("text", {x: ss.x(t), y: 266, "text-anchor": "middle"}, sax, String(t)); });
    svg("text", {x: 164, y: 284, "text-anchor": "middle"}, sax, "logit z = w₁x₁ + w₂x₂ + b");
    var curve = [];
    for (var zz = -8; zz <= 8.001; zz += 0.25) curve.push(ss.x(zz).toFixed(1) + "," + ss.y(sigmoid(zz)).toFixed(1));
    svg("polyline", {points: curve.join(" "), "class": "dlfs-sigmoid"}, side);
    var sidePts = svg("g", {}, side);
    var readout = svg("text", {x: 8, y: 16, "class": "dlfs-readout"}, side);
    var readout2 = svg("text", {x: 8, y: 32, "class": "dlfs-readout"}, side);
    var numbers = el("p", {"class": "dlfs-status", "aria-live": "polite"}, drawing);
    var result;
    function render() {
      var w1 = s.w1, w2 = s.w2, b = s.b;
      pic.setAttribute("aria-label", "Training data with the predicted probability for w = (" + f2(w1) + ", " +
                       f2(w2) + "), b = " + f2(b) + " and the decision boundary");
      cells.forEach(function (c) {
        var p = sigmoid(w1 * c[0] + w2 * c[1] + b);
        c[2].setAttribute("class", p >= 0.5 ? "dlfs-heat1" : "dlfs-heat0");
        c[2].setAttribute("fill-opacity", (Math.abs(p - 0.5) * 0.9).toFixed(3));
      });
      // boundary w1 x1 + w2 x2 + b = 0: the point nearest the origin and the direction
      var nn = w1 * w1 + w2 * w2;
      if (nn > 0) {
        var px = -b * w1 / nn, py = -b * w2 / nn, dx = -w2, dy = w1, r = 20;
        setAttrs(boundary, {x1: sc.x(px - r * dx), y1: sc.y(py - r * dy), x2: sc.x(px + r * dx), y2: sc.y(py + r * dy)});
        var len = Math.sqrt(nn);
        setAttrs(normal, {x1: sc.x(px), y1: sc.y(py), x2: sc.x(px + w1 / len), y2: sc.y(py + w2 / len)});
        boundary.style.display = normal.style.display = "";
      } else boundary.style.display = normal.style.display = "none";
      clear(sidePts);
      d.X.forEach(function (x, k) {
        var z = x[0] * w1 + x[1] * w2 + b;
        z = Math.max(-8.3, Math.min(8.3, z));
        svg("circle", {cx: ss.x(z).toFixed(1), cy: ss.y(d.y[k] === 1 ? 1.04 : -0.04).toFixed(1), r: 2,
                       "class": d.y[k] === 1 ? "dlfs-pt1" : "dlfs-pt0"}, sidePts);
      });
      result = neuronLoss(d.X, d.y, w1, w2, b);
      readout.textContent = "L = " + fmt(result.loss, 4) + "   accuracy " + fmt(100 * result.accuracy, 1) + "%";
      readout2.textContent = "∇L = (" + fmt(result.dw1, 4) + ", " + fmt(result.dw2, 4) + ", " + fmt(result.db, 4) + ")";
      numbers.textContent = "w = (" + fmt(w1, 3) + ", " + fmt(w2, 3) + "), b = " + fmt(b, 3) + ": loss L = " +
        fmt(result.loss, 4) + ", gradient ∂L/∂w₁ = " + fmt(result.dw1, 4) + ", ∂L/∂w₂ = " + fmt(result.dw2, 4) +
        ", ∂L/∂b = " + fmt(result.db, 4) + ", training accuracy " + fmt(100 * result.accuracy, 1) + "%.";
    }
    render();
    return {state: function () { return {w1: s.w1, w2: s.w2, b: s.b, result: result, lr: d.lr}; },
            compute: function (w1, w2, b) { return neuronLoss(d.X, d.y, w1, w2, b); }};
  }

  // --------------------------------------------------------- 4. convolution
  /* dlfs.layers.im2col.conv_output_size, with its error messages. */
  function convOutputSize(size, kernel, stride, padding, what) {
    var padded = size + 2 * padding;
    if (kernel > padded) {
      return {error: "kernel size " + kernel + " is larger than the padded " + what + " " + padded +
              " (" + size + " + 2*" + padding + ")"};
    }
    // A remainder is accepted (and dropped, as PyTorch does) only if it is all padding.
    var remainder = (padded - kernel) % stride;
    if (remainder > padding) {
      var g = (padded - kernel) / stride + 1;
      return {error: "output size (" + size + " + 2*" + padding + " - " + kernel + ") / " + stride + " + 1 = " +
              Number(g.toPrecision(6)) + " is not an integer, and the last " + remainder +
              " padded row(s), which no kernel position covers, include " + (remainder - padding) +
              " row(s) of the " + what + " itself: choose a padding or stride that tiles the " + what};
    }
    return {out: Math.floor((padded - kernel) / stride) + 1};
  }
  function convExample(n, k) {
    var X = [], K = [];
    for (var p = 0; p < n; p++) { X.push([]); for (var q = 0; q < n; q++) X[p].push(n * p + q); }
    for (var i = 0; i < k; i++) { K.push([]); for (var j = 0; j < k; j++) K[i].push(0); }
    K[0][0] = 1;
    if (k > 1) K[k - 1][k - 1] = -1;
    return {X: X, K: K};
  }
  /* Z[p][q] = b + sum_ij K[i][j] Xpad[S p + i][S q + j]; dX = col2im(K^T G):
   * every output's gradient, times the kernel, added onto its window; cropped. */
  function convCompute(n, k, S, P, bias, selected) {
    var o = convOutputSize(n, k, S, P, "input height");
    if (o.error) return o;
    var ex = convExample(n, k), O = o.out, np_ = n + 2 * P;
    var xp = function (r, c) { r -= P; c -= P; return (r >= 0 && c >= 0 && r < n && c < n) ? ex.X[r][c] : 0; };
    var Z = [], dXp = [], p, q, i, j;
    for (i = 0; i < np_; i++) { dXp.push([]); for (j = 0; j < np_; j++) dXp[i].push(0); }
    for (p = 0; p < O; p++) {
      Z.push([]);
      for (q = 0; q < O; q++) {
        var z = 0;
        for (i = 0; i < k; i++) for (j = 0; j < k; j++) z += ex.K[i][j] * xp(S * p + i, S * q + j);
        Z[p].push(z + bias);
        var g = selected ? ((selected[0] === p && selected[1] === q) ? 1 : 0) : 1;
        for (i = 0; i < k; i++) for (j = 0; j < k; j++) dXp[S * p + i][S * q + j] += ex.K[i][j] * g;
      }
    }
    var dX = dXp.slice(P, P + n).map(function (row) { return row.slice(P, P + n); });
    return {out: O, Z: Z, dX: dX, X: ex.X, K: ex.K, dXpad: dXp};
  }

  function convolution(root, d, live) {
    var s = JSON.parse(JSON.stringify(d.defaults));
    var controls = el("div", {"class": "dlfs-controls"}, live);
    var drawing = el("div", {"class": "dlfs-drawing"}, live);
    var ctl = {};
    var L = d.limits;
    function update() { Object.keys(ctl).forEach(function (k) { s[k] = ctl[k].get(); }); selected = null; render(); }
    ctl.size = slider(controls, {label: "input size H = W", min: L.size[0], max: L.size[1], step: 1, value: s.size, onchange: update});
    ctl.kernel = slider(controls, {label: "kernel size k", min: L.kernel[0], max: L.kernel[1], step: 1, value: s.kernel, onchange: update});
    ctl.stride = slider(controls, {label: "stride S", min: L.stride[0], max: L.stride[1], step: 1, value: s.stride, onchange: update});
    ctl.padding = slider(controls, {label: "padding P", min: L.padding[0], max: L.padding[1], step: 1, value: s.padding, onchange: update});
    var view = "forward";
    radios(controls, "View", [["forward", "forward: output values"], ["backward", "backward: col2im"]], view,
           function (v) { view = v; render(); });
    var formula = el("p", {"class": "dlfs-formula", "aria-live": "polite"}, drawing);
    var grids = el("div", {"class": "dlfs-grids"}, drawing);
    var explain = el("p", {"class": "dlfs-status", "aria-live": "polite"}, drawing);
    var selected = null, res = null, hover = null, inCells = [], outCells = [];
    function cellGrid(parent, title, rows, opts) {
      var box = el("div", {"class": "dlfs-gridbox"}, parent);
      el("div", {"class": "dlfs-gridtitle"}, box, title);
      var grid = el("div", {"class": "dlfs-grid-cells", role: opts.buttons ? "group" : "img",
                            "aria-label": title}, box);
      grid.style.gridTemplateColumns = "repeat(" + rows[0].length + ", var(--dlfs-cell))";
      var cells = [];
      rows.forEach(function (row, i) {
        cells.push([]);
        row.forEach(function (v, j) {
          var c = opts.buttons ? el("button", {type: "button", "class": "dlfs-cell dlfs-outcell"}, grid)
                               : el("div", {"class": "dlfs-cell"}, grid);
          c.textContent = opts.text ? opts.text(v, i, j) : fmt(v, 0);
          c.dlfsBase = c.className + (opts.cls ? " " + opts.cls(v, i, j) : "");
          c.className = c.dlfsBase;
          cells[i].push(c);
        });
      });
      return cells;
    }
    /* Highlight the window of the output cell under the pointer, focused or selected. */
    function highlight() {
      if (!res || res.error) return;
      var k = s.kernel, S = s.stride, focus = selected || hover;
      inCells.forEach(function (row, i) {
        row.forEach(function (c, j) {
          var on = focus && i >= S * focus[0] && i < S * focus[0] + k && j >= S * focus[1] && j < S * focus[1] + k;
          c.className = c.dlfsBase + (on ? " dlfs-hi" : "");
        });
      });
      outCells.forEach(function (row, i) {
        row.forEach(function (c, j) {
          c.className = c.dlfsBase + (focus && focus[0] === i && focus[1] === j ? " dlfs-hi" : "");
        });
      });
      if (view === "forward") {
        explain.textContent = focus ? ("Z[" + focus[0] + "," + focus[1] + "] = " + d.bias + " + Σ W[i,j]·X̃[" + S + "·" +
          focus[0] + "+i, " + S + "·" + focus[1] + "+j] = " + fmt(res.Z[focus[0]][focus[1]], 0) +
          "; its receptive field, " + k + " × " + k + " cells of the padded input, is highlighted.") :
          "Point at or focus (Tab) an output cell to highlight the input window it sees; Enter or Space keeps it selected.";
      } else {
        explain.textContent = selected ? ("Only Z[" + selected[0] + "," + selected[1] + "] has gradient 1: the kernel " +
          "is added onto its window; every other entry of ∂L/∂X is 0.") :
          ("Every output has gradient 1: col2im adds W once per window onto the input cells it covers, " +
           "so cells in overlapping windows receive a sum. Select an output cell to see its contribution alone.");
      }
    }
    function render() {
      clear(grids);
      inCells = []; outCells = [];
      var n = s.size, k = s.kernel, S = s.stride, P = s.padding;
      res = convCompute(n, k, S, P, d.bias, view === "backward" ? selected : null);
      var shapeText = "O = (H + 2P − k)/S + 1 = (" + n + " + 2·" + P + " − " + k + ")/" + S + " + 1";
      if (res.error) {
        formula.textContent = shapeText + " — dlfs refuses this geometry: " + res.error + ".";
        formula.className = "dlfs-formula dlfs-error";
        explain.textContent = "";
        return;
      }
      formula.className = "dlfs-formula";
      formula.textContent = shapeText + " = " + res.out + ", so the output is " + res.out + " × " + res.out + ".";
      var padded = [];
      for (var i = 0; i < n + 2 * P; i++) {
        padded.push([]);
        for (var j = 0; j < n + 2 * P; j++) {
          var inside = i >= P && j >= P && i < n + P && j < n + P;
          padded[i].push(view === "forward" ? (inside ? res.X[i - P][j - P] : 0) : res.dXpad[i][j]);
        }
      }
      var isPad = function (i, j) { return i < P || j < P || i >= n + P || j >= n + P; };
      inCells = cellGrid(grids, view === "forward" ? "input X (zero padding dashed)" :
                         "∂L/∂X = col2im(Wᵀ G) (padding cropped)",
        padded, {cls: function (v, i, j) {
          var c = isPad(i, j) ? "dlfs-pad" : "";
          if (view === "backward" && v !== 0) c += v > 0 ? " dlfs-posv" : " dlfs-negv";
          return c;
        }});
      cellGrid(grids, "kernel W (bias " + d.bias + ")", res.K, {});
      outCells = cellGrid(grids, view === "forward" ? "output Z" : "G = ∂L/∂Z", res.Z, {buttons: true,
        text: function (v, i, j) {
          if (view === "forward") return fmt(v, 0);
          return selected ? ((selected[0] === i && selected[1] === j) ? "1" : "0") : "1";
        }});
      outCells.forEach(function (row, i) {
        row.forEach(function (c, j) {
          var lo = [S * i - P, S * j - P];
          c.setAttribute("aria-label", "Z[" + i + "," + j + "] = " + fmt(res.Z[i][j], 0) + "; window rows " + lo[0] +
            " to " + (lo[0] + k - 1) + ", columns " + lo[1] + " to " + (lo[1] + k - 1) + " of the input" +
            (lo[0] < 0 || lo[1] < 0 || lo[0] + k > n || lo[1] + k > n ? " (partly padding)" : ""));
          c.setAttribute("aria-pressed", selected && selected[0] === i && selected[1] === j ? "true" : "false");
          var enter = function () { hover = [i, j]; highlight(); };
          var leave = function () { if (hover && hover[0] === i && hover[1] === j) { hover = null; highlight(); } };
          c.addEventListener("mouseenter", enter);
          c.addEventListener("focus", enter);
          c.addEventListener("mouseleave", leave);
          c.addEventListener("blur", leave);
          c.addEventListener("click", function () {
            selected = (selected && selected[0] === i && selected[1] === j) ? null : [i, j];
            render();
            var again = outCells[i] && outCells[i][j];
            if (again) again.focus();
          });
        });
      });
      highlight();
    }
    render();
    return {state: function () { return {settings: JSON.parse(JSON.stringify(s)), view: view, selected: selected, result: res}; },
            compute: function (n, k, S, P, sel) { return convCompute(n, k, S, P, d.bias, sel || null); }};
  }

  // ------------------------------------------------------ 5. MNIST run scrubber
  function mnistRun(root, d, live) {
    var E = d.epochs.length, epoch = E;
    var controls = el("div", {"class": "dlfs-controls"}, live);
    var drawing = el("div", {"class": "dlfs-drawing dlfs-three"}, live);
    var ctl = slider(controls, {label: "epoch", min: 1, max: E, step: 1, value: E,
      format: function (v) { return v + " of " + E; }, onchange: function () { epoch = ctl.get(); render(); }});
    button(controls, "Previous epoch", function () { go(epoch - 1); });
    button(controls, "Next epoch", function () { go(epoch + 1); });
    function go(e) { epoch = Math.max(1, Math.min(E, e)); ctl.set(epoch); render(); }
    var curves = svg("svg", {viewBox: "0 0 300 240", "class": "dlfs-svg", role: "img"}, drawing);
    var conf = svg("svg", {viewBox: "0 0 250 250", "class": "dlfs-svg", role: "img"}, drawing);
    var gallery = el("div", {"class": "dlfs-gallery"}, drawing);
    var status = el("p", {"class": "dlfs-status", "aria-live": "polite"}, drawing);
    var images = d.images.map(function (b64) {
      var raw = atob(b64), a = new Uint8Array(raw.length);
      for (var i = 0; i < raw.length; i++) a[i] = raw.charCodeAt(i);
      return a;
    });
    var maxErr = 0;
    d.epochs.forEach(function (e) { maxErr = Math.max(maxErr, 100 * (1 - e.accuracy), 100 * (1 - e.val_accuracy)); });
    maxErr = Math.ceil(maxErr / 5) * 5;
    function render() {
      var ep = d.epochs[epoch - 1];
      clear(curves); clear(conf); clear(gallery);
      var sc = scales(0.5, E + 0.5, 0, maxErr, [40, 20, 292, 205]);
      var ax = svg("g", {"class": "dlfs-axis"}, curves);
      svg("line", {x1: 40, y1: 205, x2: 292, y2: 205}, ax);
      svg("line", {x1: 40, y1: 20, x2: 40, y2: 205}, ax);
      for (var t = 0; t <= maxErr; t += 5) {
        svg("text", {x: 36, y: sc.y(t) + 4, "text-anchor": "end"}, ax, String(t));
        svg("line", {x1: 40, y1: sc.y(t), x2: 292, y2: sc.y(t), "class": "dlfs-grid"}, ax);
      }
      for (var k = 1; k <= E; k++) svg("text", {x: sc.x(k), y: 219, "text-anchor": "middle"}, ax, String(k));
      svg("text", {x: 166, y: 236, "text-anchor": "middle"}, ax, "epoch");
      svg("text", {x: 44, y: 14}, ax, "error (%)");
      [["accuracy", "dlfs-c-gd", "training"], ["val_accuracy", "dlfs-c-momentum", "validation"]].forEach(function (c, ci) {
        var pts = d.epochs.slice(0, epoch).map(function (e, i) {
          return sc.x(i + 1).toFixed(1) + "," + sc.y(100 * (1 - e[c[0]])).toFixed(1);
        });
        svg("polyline", {points: pts.join(" "), "class": "dlfs-curve " + c[1]}, curves);
        d.epochs.slice(0, epoch).forEach(function (e, i) {
          svg("circle", {cx: sc.x(i + 1), cy: sc.y(100 * (1 - e[c[0]])), r: 2.5, "class": "dlfs-dot " + c[1]}, curves);
        });
        svg("text", {x: 200, y: 34 + 14 * ci, "class": "dlfs-legend " + c[1]}, curves, "— " + c[2]);
      });
      svg("line", {x1: sc.x(epoch), y1: 20, x2: sc.x(epoch), y2: 205, "class": "dlfs-marker"}, curves);
      curves.setAttribute("aria-label", "Training and validation error up to epoch " + epoch + ": " +
                          fmt(100 * (1 - ep.accuracy), 2) + "% and " + fmt(100 * (1 - ep.val_accuracy), 2) + "%");
      // confusion matrix: counts, off-diagonal shaded by size
      var C = ep.confusion, cell = 20, x0 = 36, y0 = 20, maxOff = 1;
      C.forEach(function (r, i) { r.forEach(function (v, j) { if (i !== j) maxOff = Math.max(maxOff, v); }); });
      svg("text", {x: x0 + 100, y: 12, "text-anchor": "middle", "class": "dlfs-small"}, conf, "predicted →");
      svg("text", {x: 10, y: y0 + 100, "class": "dlfs-small", transform: "rotate(-90 10 " + (y0 + 100) + ")",
                   "text-anchor": "middle"}, conf, "true class →");
      for (var i = 0; i < 10; i++) {
        svg("text", {x: x0 - 6, y: y0 + i * cell + 14, "text-anchor": "end", "class": "dlfs-small"}, conf, String(i));
        svg("text", {x: x0 + i * cell + 10, y: y0 + 10 * cell + 12, "text-anchor": "middle", "class": "dlfs-small"}, conf, String(i));
        for (var j = 0; j < 10; j++) {
          var v = C[i][j];
          var r = svg("rect", {x: x0 + j * cell, y: y0 + i * cell, width: cell, height: cell,
                               "class": i === j ? "dlfs-diag" : "dlfs-off-diag"}, conf);
          if (i !== j) r.setAttribute("fill-opacity", (0.08 + 0.85 * v / maxOff).toFixed(3));
          if (v) svg("text", {x: x0 + j * cell + 10, y: y0 + i * cell + 14, "text-anchor": "middle",
                              "class": "dlfs-count"}, conf, String(v));
        }
      }
      conf.setAttribute("aria-label", "Confusion matrix on the validation set at epoch " + epoch);
      var ink = getComputedStyle(root).color.match(/\d+/g) || [0, 0, 0];
      ep.mistakes.forEach(function (m) {
        var fig = el("figure", {"class": "dlfs-digit"}, gallery);
        var cv = el("canvas", {width: 28, height: 28, role: "img",
                               "aria-label": "validation image " + m.index + ": a " + m.true + " predicted as " + m.pred}, fig);
        var c2 = cv.getContext("2d"), img = c2.createImageData(28, 28), px = images[m.image];
        for (var q = 0; q < 784; q++) {
          img.data[4 * q] = ink[0]; img.data[4 * q + 1] = ink[1]; img.data[4 * q + 2] = ink[2];
          img.data[4 * q + 3] = px[q];
        }
        c2.putImageData(img, 0, 0);
        el("figcaption", {}, fig, m.true + " → " + m.pred);
      });
      status.textContent = "Epoch " + epoch + " of " + E + ": training loss " + fmt(ep.loss, 4) + ", validation loss " +
        fmt(ep.val_loss, 4) + ", validation accuracy " + fmt(100 * ep.val_accuracy, 2) + "% (" +
        Math.round(ep.val_accuracy * d.n_val) + " of " + d.n_val + "). Below: the first " + ep.mistakes.length +
        " validation images it gets wrong (true → predicted).";
    }
    render();
    if (window.MutationObserver) {          // the digits' ink follows the light/dark switch
      new MutationObserver(render).observe(document.documentElement, {attributes: true, attributeFilter: ["data-theme"]});
    }
    return {state: function () { return {epoch: epoch, shown: d.epochs[epoch - 1]}; }};
  }


  // ------------------------------------------- 6. initialisation through depth
  function initDepth(root, d, live) {
    var s = {activation: d["default"].activation, gain: d["default"].gain};
    var controls = el("div", {"class": "dlfs-controls"}, live);
    var drawing = el("div", {"class": "dlfs-drawing dlfs-two"}, live);
    radios(controls, "Activation", [["relu", "ReLU (scale: He, 2/n)"], ["tanh", "tanh (scale: Xavier, 1/n)"]],
           s.activation, function (v) { s.activation = v; render(); });
    var ctl = slider(controls, {label: "weight variance g × the scale", values: d.gains, value: s.gain,
      format: function (v) { return "g = " + v; }, onchange: function () { s.gain = ctl.get(); render(); }});
    var panels = ["forward", "backward"].map(function (key) {
      return {key: key, svg: svg("svg", {viewBox: "0 0 300 240", "class": "dlfs-svg", role: "img"}, drawing)};
    });
    var status = el("p", {"class": "dlfs-status", "aria-live": "polite"}, drawing);
    function render() {
      var runs = d.runs[s.activation], gi = d.gains.indexOf(s.gain), run = runs[gi];
      panels.forEach(function (panel) {
        var pic = panel.svg;
        clear(pic);
        var sc = scales(0.5, d.depth + 0.5, -8, 8, [44, 22, 292, 200]);
        var ax = svg("g", {"class": "dlfs-axis"}, pic);
        svg("line", {x1: 44, y1: 200, x2: 292, y2: 200}, ax);
        svg("line", {x1: 44, y1: 22, x2: 44, y2: 200}, ax);
        for (var e = -8; e <= 8; e += 4) {
          svg("text", {x: 40, y: sc.y(e) + 4, "text-anchor": "end"}, ax, "1e" + e);
          svg("line", {x1: 44, y1: sc.y(e), x2: 292, y2: sc.y(e), "class": "dlfs-grid"}, ax);
        }
        [1, 5, 10, 15, 20].forEach(function (t) { svg("text", {x: sc.x(t), y: 214, "text-anchor": "middle"}, ax, String(t)); });
        svg("text", {x: 168, y: 232, "text-anchor": "middle"}, ax, "layer");
        svg("text", {x: 48, y: 14}, ax, panel.key === "forward" ? "std of the activations" : "std of ∂L/∂W");
        var line = function (vals, cls) {
          var pts = vals.map(function (v, i) {
            var ly = Math.max(-8.5, Math.min(8.5, Math.log10(Math.max(v, 1e-300))));
            return sc.x(i + 1).toFixed(1) + "," + sc.y(ly).toFixed(1);
          });
          return svg("polyline", {points: pts.join(" "), "class": cls}, pic);
        };
        runs.forEach(function (r, i) { if (i !== gi) line(r[panel.key], "dlfs-faint"); });
        line(run[panel.key], "dlfs-curve dlfs-c-gd");
        pic.setAttribute("aria-label", (panel.key === "forward" ? "Standard deviation of the activations" :
          "Standard deviation of the weight gradients") + " per layer for g = " + s.gain);
      });
      var f = run.forward, first = f[0], last = f[f.length - 1];
      var factor = Math.pow(last / first, 1 / (f.length - 1));
      status.textContent = (s.activation === "relu" ? "ReLU" : "tanh") + ", g = " + s.gain + ": the activations' std is " +
        first.toExponential(2) + " after layer 1 and " + last.toExponential(2) + " after layer " + d.depth +
        ", a factor of " + factor.toFixed(3) + " per layer" +
        (s.activation === "relu" ? " (the recursion predicts √g = " + Math.sqrt(s.gain).toFixed(3) + ")" : "") +
        "; the weight gradient's std goes from " + run.backward[0].toExponential(2) + " (layer 1) to " +
        run.backward[run.backward.length - 1].toExponential(2) + " (layer " + d.depth + ").";
    }
    render();
    return {state: function () { return {settings: {activation: s.activation, gain: s.gain},
                                         run: d.runs[s.activation][d.gains.indexOf(s.gain)]}; }};
  }

  var FIGURES = {backprop: backprop, optimisers: optimisers, neuron: neuron, convolution: convolution,
                 "mnist-run": mnistRun, "init-depth": initDepth};

  function init() {
    var roots = document.querySelectorAll(".dlfs-interactive");
    Array.prototype.forEach.call(roots, function (root) {
      if (root.dlfsFigure) return;
      var make = FIGURES[root.getAttribute("data-figure")];
      var live = root.querySelector(".dlfs-live");
      var script = root.querySelector("script.dlfs-data");
      if (!make || !live || !script) return;
      var data = JSON.parse(script.textContent);
      root.dlfsFigure = make(root, data, live);
      live.hidden = false;
      root.classList.add("dlfs-ready");
      var fig = root.closest("figure");
      if (fig) fig.classList.add("dlfs-ready");
    });
  }
  window.dlfsInteractive = {init: init, FIGURES: FIGURES};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
