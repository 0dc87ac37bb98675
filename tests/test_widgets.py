"""Headless tests of ig2.widgets.PathExplorer: the displayed state follows the controls, for IG², Guided IG, Blur IG and
IG paths, for images, signals and tabular inputs, and the saved widget state carries the current picture."""
import base64, json, shutil, subprocess
from pathlib import Path
import numpy as np
import pytest
import keras
from ipywidgets.embed import embed_data

from ig2 import IG2, OtherClassReferences, GuidedIG, BlurIG, IntegratedGradients, ExpectedGradients, VanillaGradient
from ig2.data import load_digits, load_digits_cnn
from ig2.paths import straight_line_curves
from ig2.viz import thin
from ig2.widgets import PathExplorer

PNG = b"\x89PNG\r\n\x1a\n"
NOTEBOOK = Path(__file__).resolve().parents[1] / "nbs" / "95_widgets.ipynb"


@pytest.fixture(scope="module")
def digits():
    (x_tr, y_tr), (x_te, y_te) = load_digits()
    return x_tr, y_tr, x_te, load_digits_cnn()


@pytest.fixture(scope="module")
def digit_explorer(digits):
    x_tr, y_tr, x_te, model = digits
    explainer = IG2(model, clip=(0, 1), steps=60)
    ex = PathExplorer.from_explainer(explainer, x_te[3], OtherClassReferences(x_tr, y_tr, n=4), points=21)
    return ex, explainer


def test_slider_and_selector_drive_every_panel(digit_explorer):
    ex, _ = digit_explorer
    res = ex.result
    assert res.path.shape == (61, 4, 28, 28, 1) and len(ex.frames) == 61
    assert (ex.play.max, ex.slider.max) == (60, 60)
    seen = set()
    for reference in ("mean", 2, 0):
        ex.reference_selector.value = reference
        pick = (lambda a: a.mean(0)) if reference == "mean" else (lambda a: a[reference])
        for j in (0, 17, 60):
            ex.slider.value = j
            assert ex.step_label.value == f"step {j} / 60"
            point = pick(res.path[j])[..., 0]
            np.testing.assert_allclose(ex.panels["point"].data(), point, atol=1e-6)  # digits live in [0, 1]
            np.testing.assert_allclose(ex.panels["displacement"].data(), res.explicand[..., 0] - point, atol=1e-6)
            np.testing.assert_allclose(ex.panels["attribution"].data(), pick(res.cumulative[j])[..., 0], atol=1e-6)
            scores = res.scores.mean(1) if reference == "mean" else res.scores[:, reference]
            dists = res.rep_distance.mean(1) if reference == "mean" else res.rep_distance[:, reference]
            np.testing.assert_allclose(ex.score_marker.get_data(), [[j], [scores[j]]], rtol=1e-6)
            np.testing.assert_allclose(ex.distance_marker.get_data(), [[j], [dists[j]]], rtol=1e-6)
            np.testing.assert_allclose(ex.cursor.get_xdata(), [j, j])
            assert bytes(ex.image.value).startswith(PNG)
            seen.add(bytes(ex.image.value))
            assert f"step {j}:" in ex.info.value
    assert len(seen) == 9  # every (reference, step) pair rendered a different picture


def test_final_step_is_the_attribution_and_completeness_holds(digit_explorer):
    ex, _ = digit_explorer
    res = ex.result
    ex.select(reference="mean", step=60)
    np.testing.assert_allclose(ex.panels["attribution"].data(), res.attribution[..., 0], atol=1e-6)
    now = ex.current()
    assert now["step"] == 60
    assert abs(now["cumulative"].sum() - now["score_drop"]) < 0.03 * abs(now["score_drop"])


def test_straight_line_toggle_and_curves(digit_explorer, digits):
    ex, explainer = digit_explorer
    res = ex.result
    scores, dists = ex.straight
    assert scores.shape == dists.shape == (21, 4)
    scale = abs(res.scores[0]).max()
    np.testing.assert_allclose(scores[0], res.scores[0], atol=1e-3 * scale)    # starts at f_t(x)
    np.testing.assert_allclose(scores[-1], res.scores[-1], atol=1e-3 * scale)  # ends at f_t(GradCF_r)
    np.testing.assert_allclose(dists[-1], res.rep_distance[-1], rtol=1e-3, atol=1e-4)
    # an independent evaluation of the middle of the line for reference 1
    mid = res.explicand + 0.5 * (res.gradcf[1] - res.explicand)
    s = explainer.adapter.scores(mid[None])[0, res.target]
    np.testing.assert_allclose(scores[10, 1], s, rtol=1e-4, atol=1e-4)
    ex.select(step=30)
    before = bytes(ex.image.value)
    score_axes = ex.figure.axes[3]
    assert not any(l.get_linestyle() == "--" and l.get_visible() for l in score_axes.lines)
    ex.straight_toggle.value = True
    dashed = [l for l in score_axes.lines if l.get_linestyle() == "--" and l.get_visible()]
    assert len(dashed) == 1
    np.testing.assert_allclose(dashed[0].get_ydata(), scores.mean(1), rtol=1e-6)
    assert bytes(ex.image.value) != before and ex.step == 30
    ex.reference_selector.value = 3  # the dashed curve follows the reference
    np.testing.assert_allclose(dashed[0].get_ydata(), scores[:, 3], rtol=1e-6)
    ex.straight_toggle.value = False
    ex.reference_selector.value = "mean"


def test_straight_line_batching_does_not_matter(digit_explorer):
    ex, explainer = digit_explorer
    res = ex.result
    _, ref_reps = explainer.adapter.scores_and_reps(res.references)
    one = straight_line_curves(explainer.adapter, res.explicand, res.gradcf, res.target, ref_reps, points=7)
    chunked = straight_line_curves(explainer.adapter, res.explicand, res.gradcf, res.target, ref_reps, points=7,
                                   batch_size=5)  # chunks cut across references
    np.testing.assert_allclose(one[0], chunked[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(one[1], chunked[1], rtol=1e-4, atol=1e-4)


def test_kept_every_m_and_thinning(digits):
    x_tr, y_tr, x_te, model = digits
    refs = x_tr[y_tr != 0][:2]
    res = IG2(model, clip=(0, 1), steps=50).explain_path(x_te[5], refs, keep_path=7)
    ex = PathExplorer(res)
    assert list(ex.steps) == [0, 7, 14, 21, 28, 35, 42, 49, 50]
    ex.slider.value = 8
    assert ex.step_label.value == "step 50 / 50"
    np.testing.assert_allclose(ex.score_marker.get_data()[1], [res.scores[50].mean()], rtol=1e-6)
    thinned = PathExplorer(res, max_frames=4)
    assert thinned.steps[0] == 0 and thinned.steps[-1] == 50 and len(thinned.steps) == 4
    assert list(thin(5, 10)) == [0, 1, 2, 3, 4]
    assert list(thin(11, 3)) == [0, 5, 10]


def test_signals_and_tabular_vectors():
    keras.utils.set_random_seed(0)
    conv = keras.Sequential([keras.Input((32, 1)), keras.layers.Conv1D(4, 5, activation="relu"),
                             keras.layers.Flatten(), keras.layers.Dense(8, activation="relu", name="features"),
                             keras.layers.Dense(3, name="logits")])
    rng = np.random.default_rng(0)
    x, refs = rng.normal(size=(32, 1)).astype("float32"), rng.normal(size=(3, 32, 1)).astype("float32")
    ex = PathExplorer.from_explainer(IG2(conv, steps=20), x, refs, points=5, reference=1)
    assert ex.kind == "signal"
    ex.slider.value = 12
    np.testing.assert_allclose(ex.panels["point"].data(), ex.result.path[12, 1, :, 0], atol=1e-6)
    np.testing.assert_allclose(ex.panels["attribution"].data(), ex.result.cumulative[12, 1, :, 0], atol=1e-6)

    dense = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(2)])
    xt, rt = rng.normal(size=6).astype("float32"), rng.normal(size=(2, 6)).astype("float32")
    ex = PathExplorer(IG2(dense, steps=10).explain_path(xt, rt))
    assert ex.kind == "tabular"
    ex.select(reference=0, step=4)
    np.testing.assert_allclose(ex.panels["point"].data(), ex.result.path[4, 0], atol=1e-6)
    np.testing.assert_allclose(ex.panels["displacement"].data(), xt - ex.result.path[4, 0], atol=1e-6)
    np.testing.assert_allclose(ex.panels["attribution"].data(), ex.result.cumulative[4, 0], atol=1e-6)
    assert ex.step_label.value == "step 4 / 10"


def test_bad_input(digits, digit_explorer):
    x_tr, y_tr, x_te, model = digits
    refs = x_tr[y_tr != 0][:2]
    no_path = IG2(model, clip=(0, 1), steps=5).explain_path(x_te[5], refs, keep_path=False)
    with pytest.raises(ValueError, match="result: it has no kept path"):
        PathExplorer(no_path)
    ex, explainer = digit_explorer
    with pytest.raises(ValueError, match=r"reference: expected 'mean' or an index in \[0, 4\)"):
        PathExplorer(ex.result, reference=4)
    with pytest.raises(ValueError, match="reference"):
        ex.select(reference=-1)
    with pytest.raises(ValueError, match="step: expected one of the shown steps"):
        ex.select(step=61)
    with pytest.raises(ValueError, match="max_frames"):
        PathExplorer(ex.result, max_frames=0)

    class Refuses:  # the check must come before any model work
        adapter, batch_size = explainer.adapter, None
        def explain_path(self, *a, **k): raise AssertionError("explain_path must not run")
    with pytest.raises(ValueError, match="keep_path"):
        PathExplorer.from_explainer(Refuses(), x_te[0], refs, keep_path=False)


@pytest.fixture(scope="module")
def guided_explorer(digits):
    "Guided IG from two baselines (black and mid-grey), 40 steps, straight line at 11 positions."
    x_tr, y_tr, x_te, model = digits
    bases = np.stack([np.zeros_like(x_te[3]), np.full_like(x_te[3], 0.5)])
    explainer = GuidedIG(model, steps=40)
    return PathExplorer.from_explainer(explainer, x_te[3], bases, points=11), explainer


def test_guided_ig_slider_and_selector(guided_explorer):
    ex, explainer = guided_explorer
    res = ex.result
    assert res.method == "GuidedIG" and res.rep_distance is None and res.path.shape == (41, 2, 28, 28, 1)
    assert (ex.has_distance, ex.distance_marker, len(ex._curve_axes)) == (False, None, 1)
    assert ex.reference_selector.description == "baseline"
    assert [label for label, _ in ex.reference_selector.options] == ["mean of 2 baselines", "baseline 0", "baseline 1"]
    assert ex.figure.axes[3].get_title() == "Guided IG: target score" and len(ex.figure.axes) == 6  # 3 panels, 2 colour bars, curves
    seen = set()
    for reference in ("mean", 1):
        ex.reference_selector.value = reference
        pick = (lambda a: a.mean(0)) if reference == "mean" else (lambda a: a[reference])
        for j in (0, 13, 40):
            ex.slider.value = j
            assert ex.step_label.value == f"step {j} / 40"
            np.testing.assert_allclose(ex.panels["point"].data(), pick(res.path[j])[..., 0], atol=1e-6)
            np.testing.assert_allclose(ex.panels["attribution"].data(), pick(res.cumulative[j])[..., 0], atol=1e-6)
            scores = res.scores.mean(1) if reference == "mean" else res.scores[:, reference]
            np.testing.assert_allclose(ex.score_marker.get_data(), [[j], [scores[j]]], rtol=1e-6)
            assert f"Guided IG step {j}:" in ex.info.value and "distance" not in ex.info.value
            assert ex.current()["distance"] is None
            seen.add(bytes(ex.image.value))
    assert len(seen) == 6
    np.testing.assert_allclose(res.path[-1], res.gradcf, atol=1e-6)  # the paths end at the baselines
    ex.select(reference="mean", step=40)
    np.testing.assert_allclose(ex.panels["attribution"].data(), res.attribution[..., 0], atol=1e-5)


def test_guided_ig_straight_line_is_ig_from_the_same_baseline(guided_explorer):
    ex, explainer = guided_explorer
    res = ex.result
    scores, dists = ex.straight
    assert scores.shape == (11, 2) and dists is None
    scale = abs(res.scores[0]).max()
    np.testing.assert_allclose(scores[0], res.scores[0], atol=1e-3 * scale)    # starts at f_t(x)
    np.testing.assert_allclose(scores[-1], res.scores[-1], atol=1e-3 * scale)  # ends at f_t(baseline)
    mid = res.explicand + 0.3 * (res.gradcf[1] - res.explicand)  # position 3 of 10 towards baseline 1
    np.testing.assert_allclose(scores[3, 1], explainer.adapter.scores(mid[None])[0, res.target], rtol=1e-4, atol=1e-4)
    ex.select(step=20)
    before = bytes(ex.image.value)
    ex.straight_toggle.value = True
    dashed = [l for l in ex.figure.axes[3].lines if l.get_linestyle() == "--" and l.get_visible()]
    assert len(dashed) == 1  # the score only: no distance axis
    np.testing.assert_allclose(dashed[0].get_ydata(), scores.mean(1), rtol=1e-6)
    assert bytes(ex.image.value) != before and ex.step == 20
    ex.reference_selector.value = 0
    np.testing.assert_allclose(dashed[0].get_ydata(), scores[:, 0], rtol=1e-6)
    ex.straight_toggle.value = False
    ex.reference_selector.value = "mean"


def test_blur_ig_and_ig(digits):
    x_tr, y_tr, x_te, model = digits
    blur = PathExplorer.from_explainer(BlurIG(model, max_sigma=10, steps=100), x_te[3], points=7)
    res = blur.result
    assert res.method == "BlurIG" and blur.n_references == 1 and blur.reference_selector.disabled
    assert blur.straight[0].shape == (7, 1) and not blur.straight_toggle.disabled
    np.testing.assert_allclose(blur.straight[0][[0, -1], 0], res.scores[[0, -1], 0], atol=1e-3 * abs(res.scores[0, 0]))
    drop_total = abs(res.scores[0, 0] - res.scores[-1, 0])
    for j in (0, 19, 50, 100):  # 100 steps: the largest gap of this path, 1.3 % at j = 19 (2.1 % with 60 steps)
        blur.select(step=j)
        np.testing.assert_allclose(blur.panels["point"].data(), res.path[j, 0, ..., 0], atol=1e-6)
        np.testing.assert_allclose(blur.panels["displacement"].data(), res.explicand[..., 0] - res.path[j, 0, ..., 0], atol=1e-6)
        now = blur.current()
        assert abs(now["cumulative"].sum() - now["score_drop"]) < 0.03 * drop_total  # completeness, step by step
    assert blur.figure.axes[3].get_title() == "Blur IG: target score"

    ig = PathExplorer.from_explainer(IntegratedGradients(model, steps=20), x_te[3], np.zeros((28, 28, 1), "float32"))
    assert ig.result.method == "IntegratedGradients" and ig.method == "IG"
    assert ig.straight is None and ig.straight_toggle.disabled  # its path is the straight line
    ig.slider.value = ig.slider.max
    j = ig.step
    assert ig.step_label.value == f"step {j} / {ig.result.steps}"
    np.testing.assert_allclose(ig.panels["point"].data(), ig.result.path[-1, 0, ..., 0], atol=1e-6)
    np.testing.assert_allclose(ig.panels["attribution"].data(), ig.result.attribution[..., 0], atol=1e-5)


def test_saved_widget_state_holds_the_current_picture(guided_explorer):
    ex, _ = guided_explorer
    ex.select(reference=1, step=27)
    state = embed_data(views=[ex.widget])["manager_state"]["state"]  # what a notebook saves with its widgets
    image = state[ex.image.model_id]
    assert image["model_name"] == "ImageModel" and image["buffers"][0]["path"] == ["value"]
    saved = base64.b64decode(image["buffers"][0]["data"])
    assert saved == bytes(ex.image.value) and saved.startswith(PNG)
    assert state[ex.slider.model_id]["state"]["value"] == 27
    assert state[ex.reference_selector.model_id]["state"]["index"] == 2  # "baseline 1"
    ex.reference_selector.value = "mean"


def test_bad_explainers(digits, guided_explorer):
    x_tr, y_tr, x_te, model = digits
    ex, explainer = guided_explorer
    with pytest.raises(ValueError, match="result: got the explainer GuidedIG"):
        PathExplorer(explainer)
    with pytest.raises(ValueError, match="explainer: expected a path explainer with explain_path"):
        PathExplorer.from_explainer(VanillaGradient(model), x_te[0])
    with pytest.raises(ValueError, match="explainer: ExpectedGradients has no path"):
        PathExplorer.from_explainer(ExpectedGradients(model, x_tr[:4], samples=3), x_te[0])
    with pytest.raises(ValueError, match="points: expected an integer >= 2"):
        PathExplorer.from_explainer(explainer, x_te[0], points=1)
    with pytest.raises(ValueError, match="references: IG2 needs references"):
        PathExplorer.from_explainer(IG2(model, steps=5), x_te[0])
    with pytest.raises(ValueError, match="baseline: Blur IG"):
        PathExplorer.from_explainer(BlurIG(model, steps=5), x_te[0], np.zeros((28, 28, 1), "float32"))
    with pytest.raises(ValueError, match="straight: expected two arrays"):
        PathExplorer(ex.result, straight=(np.zeros((5, 3)), None))


def _saved_views(nb):
    "Widget state saved in a notebook's metadata, and the model ids of the widget views among its outputs."
    state = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    views = [o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] for c in nb["cells"]
             for o in c.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    return state, views


def _models_under(state, model_id, seen=None):
    "The model and every model its state refers to (`IPY_MODEL_...`), recursively."
    seen = set() if seen is None else seen
    if model_id not in seen:
        seen.add(model_id)
        for value in state[model_id]["state"].values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item.startswith("IPY_MODEL_"): _models_under(state, item[10:], seen)
    return seen


def test_notebook_is_saved_with_its_explorers_pictures(tmp_path):
    """nbs/95_widgets.ipynb is committed executed (`tools/nb.py run`: nbclient saves the widget state in
    `metadata.widgets`), so JupyterLab shows every displayed explorer's picture without a kernel; nbdev_clean keeps it."""
    nb = json.loads(NOTEBOOK.read_text())
    state, views = _saved_views(nb)
    assert len(views) >= 3  # the IG², Guided IG and Blur IG explorers
    for view in views:
        images = [m for m in _models_under(state, view) if state[m]["model_name"] == "ImageModel"]
        assert len(images) == 1, view
        buffers = state[images[0]]["buffers"]
        assert buffers[0]["path"] == ["value"] and base64.b64decode(buffers[0]["data"]).startswith(PNG)
    copy = tmp_path / NOTEBOOK.name  # the clean step of `tools/nb.py run`, with this repository's settings.ini
    shutil.copy(NOTEBOOK, copy)
    subprocess.run(["nbdev_clean", "--fname", str(copy)], cwd=NOTEBOOK.parents[1], check=True, capture_output=True)
    assert _saved_views(json.loads(copy.read_text())) == (state, views)
