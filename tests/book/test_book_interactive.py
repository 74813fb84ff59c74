"""The interactive figures (book/_ext/dlfs_interactive.py, book/_assets/dlfs-interactive.js)
in a real browser, and their static versions in the PDF.

For every page with an interactive figure: no console error, no request leaving
the site, every figure renders (live drawing shown, static image hidden), every
control changes the drawing, the controls have labels and work from the
keyboard, the layout fits a 390-pixel phone screen, and the numbers the page
computes agree with dlfs's to 1e-9 (float64).  Screenshots of every figure
(default state, after moving a control, light and dark, desktop and phone) are
written to _build/screenshots/interactive/.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from book_paths import BUILD, HTML
from site_browser import new_context
from site_browser import open_page as site_open_page

import dlfs_interactive_data as figdata

#: Figure name -> page; every figure must be on its page, and no page may have others.
PAGES = {"backprop": "book/backprop", "optimisers": "book/optimisers", "init-depth": "book/initialisation",
         "neuron": "book/single_neuron", "convolution": "book/convolution",
         "mnist-run": "book/mnist_analysis"}
SHOTS = BUILD / "screenshots" / "interactive"
TOL = 1e-9
#: Limit of the JavaScript the figures add to a page.
MAX_JS_BYTES = 300_000


READY = ("() => document.querySelectorAll('.dlfs-interactive').length && "
         "Array.from(document.querySelectorAll('.dlfs-interactive')).every(r => r.dlfsFigure)")


def open_page(context, url, theme=None):
    return site_open_page(context, url, theme=theme, ready=READY)


def figure_page(context, site_url, name, theme=None):
    page, problems = open_page(context, f"{site_url}/{PAGES[name]}.html", theme)
    root = page.locator(f'.dlfs-interactive[data-figure="{name}"]')
    assert root.count() == 1, f"{name}: {root.count()} figures"
    return page, problems, root


def fig_eval(root, body: str, arg=None):
    """Evaluate ``body`` with ``fig`` = root.dlfsFigure and ``arg``."""
    return root.evaluate(f"(root, arg) => {{ const fig = root.dlfsFigure; {body} }}", arg)


def close(a, b, tol=TOL) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= tol * np.maximum(1.0, np.abs(b))))


def num(text: str) -> float:
    return float(text.replace("−", "-").replace("%", ""))


# ---------------------------------------------------------------- every page
def test_every_figure_is_on_its_page_and_nowhere_else(html_dir):
    found = {}
    for path in html_dir.rglob("*.html"):
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in PAGES:
            if f'data-figure="{name}"' in text:
                found.setdefault(name, []).append(path.relative_to(html_dir).with_suffix("").as_posix())
    assert found == {name: [page] for name, page in PAGES.items()}, found


@pytest.mark.parametrize("name", PAGES)
def test_figure_renders_offline(context, site_url, name):
    before = len(context.outside)
    page, problems, root = figure_page(context, site_url, name)
    try:
        assert root.locator(".dlfs-live").is_visible()
        assert not root.locator("img.dlfs-static").is_visible(), "static image still shown"
        assert root.locator(".dlfs-drawing").count() == 1
        assert root.locator(".dlfs-drawing svg, .dlfs-drawing .dlfs-cell").count() > 0
        caption = root.locator("xpath=ancestor::figure[1]/figcaption")
        assert caption.inner_text().startswith("Fig. "), caption.inner_text()
        assert not caption.locator(".dlfs-static-note").is_visible()
        # only this site's script, and small
        scripts = page.evaluate("() => Array.from(document.scripts).map(s => s.src)"
                                ".filter(s => s.includes('dlfs-interactive'))")
        assert len(scripts) == 1, scripts
        size = (html_js := HTML / "_static" / "dlfs-interactive.js").stat().st_size
        assert size < MAX_JS_BYTES, f"{html_js}: {size} bytes"
        page.wait_for_load_state("networkidle")
        assert not problems, "\n".join(problems)
        assert len(context.outside) == before, f"requests left the site: {context.outside[before:]}"
    finally:
        page.close()


def test_no_figure_script_on_other_pages(html_dir):
    for path in (html_dir / "book").glob("*.html"):
        if path.stem in {p.split("/")[-1] for p in PAGES.values()}:
            continue
        assert "dlfs-interactive.js" not in path.read_text(encoding="utf-8"), path


# ------------------------------------------------------------------ controls
CONTROLS_JS = """
(root) => {
  const live = root.querySelector('.dlfs-live');
  const drawing = () => live.querySelector('.dlfs-drawing').innerHTML;
  const fire = (el) => { el.dispatchEvent(new Event('input', {bubbles: true}));
                         el.dispatchEvent(new Event('change', {bubbles: true})); };
  const name = (el) => {
    if (el.tagName === 'BUTTON') return el.textContent;
    const lab = live.querySelector('label[for="' + el.id + '"]');
    return lab ? lab.textContent : null;
  };
  const results = [];
  const inputs = Array.from(live.querySelectorAll('.dlfs-controls input'));
  for (const el of inputs) {
    const before = drawing();
    let changed;
    if (el.type === 'range') {
      const old = el.value, step = Number(el.step) || 1;
      el.value = Number(old) + step <= Number(el.max) ? Number(old) + step : Number(old) - step;
      fire(el); changed = drawing() !== before;
      el.value = old; fire(el);
      changed = changed && drawing() === before;        // and back again
    } else if (el.type === 'checkbox') {
      el.click(); changed = drawing() !== before; el.click();
      changed = changed && drawing() === before;
    } else if (el.type === 'radio') {
      const group = Array.from(live.querySelectorAll('input[name="' + el.name + '"]'));
      const was = group.find(r => r.checked);
      if (el === was) { const other = group.find(r => r !== el); other.click(); el.click();
                        changed = drawing() === before;     // back to the same drawing
                        other.click(); changed = changed && drawing() !== before; el.click(); }
      else { el.click(); changed = drawing() !== before; was.click(); }
    }
    results.push([el.type, name(el), changed]);
  }
  // buttons: from the middle of the first slider, so that every step button can act
  const first = live.querySelector('.dlfs-controls input[type=range]');
  if (first) { first.value = Math.round((Number(first.min) + Number(first.max)) / 2); fire(first); }
  for (const el of live.querySelectorAll('.dlfs-controls button')) {
    const before = drawing();
    el.click();
    results.push(['button', name(el), drawing() !== before]);
  }
  return results;
}
"""


@pytest.mark.parametrize("name", PAGES)
def test_every_control_is_labelled_and_changes_the_drawing(context, site_url, name):
    page, problems, root = figure_page(context, site_url, name)
    try:
        results = root.evaluate(CONTROLS_JS)
        assert len(results) >= 2, results
        unlabelled = [r for r in results if not (r[1] or "").strip()]
        assert not unlabelled, f"controls without a label: {unlabelled}"
        still = [r for r in results if not r[2]]
        assert not still, f"controls that do not change the drawing: {still}"
        assert not problems, "\n".join(problems)
    finally:
        page.close()


def test_keyboard_alone_drives_the_figures(context, site_url):
    page, problems, root = figure_page(context, site_url, "backprop")
    try:
        root.locator("input[type=range]").focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        assert fig_eval(root, "return fig.state().step;") == 2
        page.keyboard.press("Tab")                        # Previous step
        page.keyboard.press("Enter")
        assert fig_eval(root, "return fig.state().step;") == 1
        status = root.locator(".dlfs-status")
        assert status.get_attribute("aria-live") == "polite" and "Step 1" in status.inner_text()
    finally:
        page.close()
    page, problems, root = figure_page(context, site_url, "convolution")
    try:
        root.locator("button.dlfs-outcell").first.focus()      # default: k = 2 -> 2 x 2 window
        assert root.locator(".dlfs-grids .dlfs-cell.dlfs-hi:not(button)").count() == 4
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")                      # select Z[0, 1]
        assert fig_eval(root, "return fig.state().selected;") == [0, 1]
        assert root.locator("button.dlfs-outcell[aria-pressed=true]").count() == 1
        assert not problems, "\n".join(problems)
    finally:
        page.close()


# ------------------------------------------------------- numbers against dlfs
def test_backprop_numbers_are_dlfs(context, site_url):
    ref = figdata.backprop_data()
    page, problems, root = figure_page(context, site_url, "backprop")
    try:
        state = fig_eval(root, "return fig.state();")
        values = {"x1": ref["x"][0], "x2": ref["x"][1], "z11": ref["z1"][0], "z12": ref["z1"][1],
                  "a11": ref["a1"][0], "a12": ref["a1"][1], "z2": ref["z2"], "L": ref["L"]}
        adjoints = {"x1": ref["dx"][0], "x2": ref["dx"][1], "z11": ref["dz1"][0],
                    "z12": ref["dz1"][1], "a11": ref["da1"][0], "a12": ref["da1"][1],
                    "z2": ref["dz2"], "L": 1.0}
        for key in values:
            assert close(state["values"][key], values[key]), key
            assert close(state["adjoints"][key], adjoints[key]), key
        for _ in range(state["steps"] - 1):
            root.get_by_role("button", name="Next step").click()
        shown = fig_eval(root, "return fig.state().shown;")
        for key in values:                                # every number on the graph, 4 decimals
            assert num(shown[key][0]) == round(values[key], 4), (key, shown[key])
            assert num(shown[key][1]) == round(adjoints[key], 4), (key, shown[key])
        assert shown["L"] == ["0.5081", "1.0000"]         # the value the chapter quotes
        assert not problems, "\n".join(problems)
    finally:
        page.close()


OPT_SETTINGS = [
    dict(figdata.OPT_DEFAULTS),
    dict(figdata.OPT_DEFAULTS, lr=0.02, mu=0.5, lr_adaptive=0.05, beta1=0.8, beta2=0.99, steps=100),
    dict(figdata.OPT_DEFAULTS, lr=0.07, mu=0.9, lr_adaptive=0.5, beta1=0.5, beta2=0.9999, steps=60),
    dict(figdata.OPT_DEFAULTS, lr=0.001, mu=0.0, lr_adaptive=0.001, beta1=0.0, beta2=0.9, steps=200),
]


def test_optimiser_trajectories_are_dlfs(context, site_url):
    page, problems, root = figure_page(context, site_url, "optimisers")
    surfaces = {"quadratic": figdata.quadratic(), "well": figdata.double_well()}
    try:
        worst = 0.0
        for settings in OPT_SETTINGS:
            for surface, surf in surfaces.items():
                for method in figdata.METHODS:
                    ours = np.array(fig_eval(root, "return fig.trajectory(arg[0], arg[1], arg[2]);",
                                             [method, settings, surface]))
                    ref = figdata.trajectory(method, settings, surface, surf)
                    assert ours.shape == ref.shape, (method, surface, settings)
                    finite = np.all(np.isfinite(ref), axis=1)
                    scale = np.maximum(1.0, np.abs(ref[finite]))
                    err = float(np.max(np.abs(ours[finite] - ref[finite]) / scale))
                    worst = max(worst, err)
                    assert err <= TOL, (method, surface, settings, err)
        # what the drawing shows: the sliders' defaults, and the table's final losses
        state = fig_eval(root, "return fig.state();")
        d = figdata.OPT_DEFAULTS
        for key in ("lr", "mu", "lr_adaptive", "beta1", "beta2", "steps"):
            assert state["settings"][key] == d[key], key
        rows = root.locator(".dlfs-table tbody tr")
        surf = surfaces[d["surface"]]
        for i, method in enumerate(figdata.METHODS):
            path = figdata.trajectory(method, d, d["surface"], surf)
            assert close(state["paths"][method], path), method
            gap = figdata.surface_value(d["surface"], surf, path[-1]) - surf["f_min"]
            shown = num(rows.nth(i).locator("td").nth(1).inner_text())
            assert math.isclose(shown, gap, rel_tol=6e-3), (method, shown, gap)
        assert not problems, "\n".join(problems)
        print(f"largest relative difference of the trajectories: {worst:.1e}")
    finally:
        page.close()


def test_neuron_loss_and_gradient_are_dlfs(context, site_url):
    X, y = figdata.neuron_training_set()
    page, problems, root = figure_page(context, site_url, "neuron")
    try:
        for w1, w2, b in [(1.0, -0.5, 0.5), (0.0, 0.0, 0.0), (2.3, 1.7, -0.4), (-4.0, 4.0, 4.0),
                          (40.0, -30.0, 5.0)]:
            ours = fig_eval(root, "return fig.compute(arg[0], arg[1], arg[2]);", [w1, w2, b])
            ref = figdata.neuron_reference(X, y, w1, w2, b)
            for key in ("loss", "dw1", "dw2", "db", "accuracy"):
                assert close(ours[key], ref[key]), (key, w1, w2, b, ours[key], ref[key])
        # a gradient step with dlfs's SGD, from the sliders' defaults
        from dlfs.layers import Dense
        from dlfs.losses import BinaryCrossEntropy
        from dlfs.optim import SGD

        dense = Dense(2, 1, dtype=np.float64)
        dft = figdata.NEURON_DEFAULTS
        dense.params["W"][...] = [[dft["w1"]], [dft["w2"]]]
        dense.params["b"][...] = dft["b"]
        loss = BinaryCrossEntropy(from_logits=True)
        lr = fig_eval(root, "return fig.state().lr;")
        assert close(lr, figdata.neuron_data()["lr"])
        for _ in range(3):
            root.get_by_role("button", name="Gradient step").click()
            loss.forward(dense.forward(X), y)
            dense.backward(loss.backward())
            SGD(lr).step([(n, dense.params[n], dense.grads[n]) for n in ("W", "b")])
        state = fig_eval(root, "return fig.state();")
        assert close([state["w1"], state["w2"], state["b"]],
                     [*dense.params["W"].ravel(), dense.params["b"][0]])
        ref = figdata.neuron_reference(X, y, state["w1"], state["w2"], state["b"])
        text = root.locator(".dlfs-live .dlfs-status").inner_text()
        assert f"loss L = {ref['loss']:.4f}".replace("-", "−") in text, text
        assert not problems, "\n".join(problems)
    finally:
        page.close()


def test_convolution_is_dlfs_for_every_geometry(context, site_url):
    page, problems, root = figure_page(context, site_url, "convolution")
    lim = figdata.CONV_LIMITS
    geometries = [(n, k, s, p) for n in range(lim["size"][0], lim["size"][1] + 1)
                  for k in range(lim["kernel"][0], lim["kernel"][1] + 1)
                  for s in range(lim["stride"][0], lim["stride"][1] + 1)
                  for p in range(lim["padding"][0], lim["padding"][1] + 1)]
    try:
        ours_all = fig_eval(root, """
            return arg.map(g => [fig.compute(g[0], g[1], g[2], g[3], null),
                                 fig.compute(g[0], g[1], g[2], g[3], [0, 1])]);""", geometries)
        n_ok = 0
        for g, (ours, ours_sel) in zip(geometries, ours_all):
            ref = figdata.conv_reference(*g)
            if "error" in ref:
                assert ours.get("error") == ref["error"], (g, ours.get("error"), ref["error"])
                continue
            n_ok += 1
            assert ours["out"] == ref["out"], g
            assert close(ours["Z"], ref["Z"]) and close(ours["dX"], ref["dX"]), g
            if ref["out"] > 1:
                ref_sel = figdata.conv_reference(*g, selected=(0, 1))
                assert close(ours_sel["dX"], ref_sel["dX"]), g
        assert n_ok >= 50, n_ok
        # the page shows the default geometry's output
        shown = [num(t) for t in root.locator("button.dlfs-outcell").all_inner_texts()]
        assert shown == list(np.ravel(figdata.conv_data()["reference"]["Z"])), shown
        assert not problems, "\n".join(problems)
    finally:
        page.close()


def test_mnist_run_shows_the_recorded_run(context, site_url):
    page, problems, root = figure_page(context, site_url, "mnist-run")
    try:
        data = root.evaluate("r => JSON.parse(r.querySelector('script.dlfs-data').textContent)")
        epochs = data["epochs"]
        assert len(epochs) == figdata.MNIST_RUN["epochs"]
        for e in epochs:                                   # consistent with the validation set
            C = np.array(e["confusion"])
            assert C.sum() == data["n_val"]
            assert close(np.trace(C) / C.sum(), e["val_accuracy"])
            assert all(m["true"] != m["pred"] for m in e["mistakes"])
        for epoch in (len(epochs), 1, 4):
            root.locator("input[type=range]").fill(str(epoch))
            state = fig_eval(root, "return fig.state();")
            assert state["epoch"] == epoch and state["shown"] == epochs[epoch - 1]
            text = root.locator(".dlfs-status").inner_text()
            assert f"validation accuracy {100 * epochs[epoch - 1]['val_accuracy']:.2f}%" in text
            assert root.locator(".dlfs-digit").count() == len(epochs[epoch - 1]["mistakes"])
        assert epochs[-1]["val_accuracy"] > 0.9 > epochs[0]["accuracy"]   # it learned
        assert not problems, "\n".join(problems)
    finally:
        page.close()


def test_init_depth_curves_are_dlfs(context, site_url):
    page, problems, root = figure_page(context, site_url, "init-depth")
    try:
        gains = figdata.INIT_DEPTH["gains"]
        for activation, gain in [("relu", 1.0), ("tanh", 2.0), ("relu", 0.5)]:
            root.get_by_label(activation, exact=False).first.check()
            root.get_by_label("weight variance g × the scale").fill(str(gains.index(gain)))
            state = fig_eval(root, "return fig.state();")
            assert state["settings"] == {"activation": activation, "gain": gain}
            ref = figdata.init_depth_run(activation, gain)
            assert close(state["run"]["forward"], ref["forward"])
            assert close(state["run"]["backward"], ref["backward"])
            text = root.locator(".dlfs-status").inner_text()
            assert f"{ref['forward'][-1]:.2e}".replace("e-0", "e-").replace("e+0", "e+") in text, text
        assert not problems, "\n".join(problems)
    finally:
        page.close()


# ------------------------------------------------- phone, dark, no JavaScript
#: What the "moved" screenshots change.
MOVE = {
    "backprop": lambda root: root.get_by_label("Step", exact=True).fill("9"),
    "optimisers": lambda root: root.get_by_label("non-convex double well").check(),
    "neuron": lambda root: (root.get_by_label("weight w₁").fill("2.5"),
                            root.get_by_role("button", name="Gradient step").click()),
    "convolution": lambda root: (root.get_by_label("input size H = W").fill("5"),
                                 root.get_by_label("kernel size k").fill("3"),
                                 root.get_by_label("stride S").fill("1"),
                                 root.get_by_label("padding P").fill("1"),
                                 root.get_by_label("backward: col2im").check(),
                                 root.locator("button.dlfs-outcell").nth(6).click()),
    "mnist-run": lambda root: root.get_by_label("epoch", exact=True).fill("3"),
    "init-depth": lambda root: root.get_by_label("weight variance g × the scale").fill("9"),
}


@pytest.mark.parametrize("name", PAGES)
def test_phone_width_dark_mode_and_screenshots(browser, site_url, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    hide = ("header.bd-header, .bd-header-article, .skip-link, #pst-skip-link "
            "{ display: none !important; }")
    for theme, width in (("light", 1280), ("dark", 1280), ("light", 390), ("dark", 390)):
        ctx = new_context(browser, site_url, viewport={"width": width, "height": 900})
        try:
            page, problems, root = figure_page(ctx, site_url, name, theme)
            assert page.evaluate("() => document.documentElement.dataset.theme") == theme
            page.add_style_tag(content=hide)
            figure = root.locator("xpath=ancestor::figure[1]")
            if width == 390:
                overflow = root.evaluate("r => [r.scrollWidth, r.clientWidth]")
                assert overflow[0] <= overflow[1] + 1, f"{name} overflows at 390 px: {overflow}"
            # text is readable: its colour differs from the page background
            colours = root.evaluate("""r => [getComputedStyle(r).color,
                getComputedStyle(document.body).backgroundColor]""")
            assert colours[0] != colours[1], colours
            figure.scroll_into_view_if_needed()
            figure.screenshot(path=str(SHOTS / f"{name}-{theme}-{width}-default.png"))
            if theme == "light" or width == 390:
                before = root.locator(".dlfs-drawing").inner_html()
                MOVE[name](root)
                assert root.locator(".dlfs-drawing").inner_html() != before
                figure.screenshot(path=str(SHOTS / f"{name}-{theme}-{width}-moved.png"))
            assert not problems, "\n".join(problems)
            page.close()
        finally:
            ctx.close()


@pytest.mark.parametrize("name", PAGES)
def test_without_javascript_the_static_image_is_shown(browser, site_url, name):
    ctx = browser.new_context(java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto(f"{site_url}/{PAGES[name]}.html", wait_until="load")
        root = page.locator(f'.dlfs-interactive[data-figure="{name}"]')
        img = root.locator("img.dlfs-static")
        assert img.is_visible()
        assert img.evaluate("i => i.complete && i.naturalWidth > 0")
        caption = root.locator("xpath=ancestor::figure[1]/figcaption").inner_text()
        assert "interactive on the website" in caption, caption
    finally:
        ctx.close()


def test_pdf_has_the_static_figures(pdf_text):
    flat = " ".join(pdf_text.split())
    assert flat.count("interactive on the website") == len(PAGES), flat.count(
        "interactive on the website")
    for words in ("Backpropagation step by step", "Optimiser playground", "One neuron on the",
                  "Convolution explorer", "A training run replayed", "for a range of scales"):
        assert words in flat, words
