"""Metrics against independent references (Xplique, PAIR saliency) and on bad input."""
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import pytest
import keras

from ig2 import metrics as M                      # what every metric shares
from ig2 import curves as C, information as P, fidelity as F, localisation as L
from ig2.data import load_scenes, load_scenes_cnn


@pytest.fixture(autouse=True)
def one_blas_thread():
    "scipy's triangulation stalls on busy-waiting multi-threaded BLAS on a loaded machine (seconds per call)."
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def scenes():
    _, (x, y, masks) = load_scenes()
    return load_scenes_cnn(), x[:6], y[:6], masks[:6]


def _xplique_metrics():
    try:
        from xplique.metrics import Insertion, Deletion
    except Exception as e:  # not installed, or installed against another TensorFlow
        pytest.skip(f"xplique is not importable ({type(e).__name__}: {e}); "
                    "install it with: pip install --no-deps xplique deprecated einops "
                    "tensorflow-probability==0.25.0 dm-tree tf-keras==2.21.0 decorator")
    return Insertion, Deletion


@pytest.mark.parametrize("mode", ["insertion", "deletion"])
def test_causal_curves_match_xplique(scenes, mode):
    Insertion, Deletion = _xplique_metrics()
    model, x, y, _ = scenes
    attr = np.random.default_rng(0).normal(size=x.shape).astype("float32")   # continuous: no ties in the ranking
    onehot = np.eye(6, dtype="float32")[y]
    if mode == "insertion":
        blur = M.make_baseline(x, "blur")
        ref = Insertion(model, x, onehot, batch_size=64, baseline_mode=lambda inputs: blur, steps=16, activation="softmax")
        ours = C.insertion(model, x, y, attr, steps=16, baseline="blur")
    else:
        ref = Deletion(model, x, onehot, batch_size=64, baseline_mode=0.0, steps=16, activation="softmax")
        ours = C.deletion(model, x, y, attr, steps=16, baseline="zeros")
    ref_curve = np.array(list(ref.detailed_evaluate(attr).values()))
    np.testing.assert_array_equal(list(ref.detailed_evaluate(attr).keys()), ours.counts)
    np.testing.assert_allclose(ours.curve.mean(0), ref_curve, atol=1e-5)
    np.testing.assert_allclose(ours.auc.mean(), ref.evaluate(attr), atol=1e-5)


def test_blurred_images_match_saliency(scenes):
    from saliency.metrics import pic as sm
    _, x, _, masks = scenes
    img = P._to_uint8(x[0])
    keep = P.random_keep_masks(1, (64, 64), fraction=0.01, seed=0)[0]
    for extra in (np.zeros_like(masks[0]), masks[0]):
        k = keep | extra
        np.testing.assert_array_equal(P.interpolated_image(img, k), sm.create_blurred_image(img, k))
        assert P.image_information(P.interpolated_image(img, k)) == sm.estimate_image_entropy(sm.create_blurred_image(img, k))


@pytest.fixture(scope="module")
def pic_runs(scenes):
    "ig2's pic and saliency.metrics.compute_pic_metric itself on the same colour scenes, maps and random masks."
    from saliency.metrics import pic as sm
    model, x, y, masks = scenes
    maps = masks[..., None] + 0.1 * np.random.default_rng(1).random(x.shape)
    keep = P.random_keep_masks(len(x), (64, 64), seed=2)
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        _alias_trapz(mp)
        for kind in ("sic", "aic"):
            runs[kind] = _pic_run(sm, model, x, y, maps, keep, kind)
    return runs


def _alias_trapz(mp):
    "saliency 0.2.1 calls np.trapz, which NumPy 2 removed."
    from scipy.integrate import trapezoid
    mp.setattr(np, "trapz", getattr(np, "trapz", trapezoid), raising=False)


def _pic_run(sm, model, x, y, maps, keep, kind):
    "ig2's PIC of one kind, and saliency's per image (None where saliency refuses the image)."
    ours = P.pic(model, x, y, maps, kind=kind, keep_masks=keep)
    refs = []
    for i in range(len(x)):
        def pred(batch, label=y[i]):
            p = M._softmax(M.Scorer(model).logits(batch.astype("float32") / 255))
            return p[:, label] if kind == "sic" else (p.argmax(1) == label).astype(float)
        try:
            refs.append(sm.compute_pic_metric(P._to_uint8(x[i]), maps[i].sum(-1), keep[i], pred,
                                              list(P.PIC_THRESHOLDS), min_pred_value=0.0))
        except sm.ComputePicMetricError:
            refs.append(None)
    return ours, refs


@pytest.fixture
def np_trapz(monkeypatch): _alias_trapz(monkeypatch)


def test_pic_matches_saliency(pic_runs, np_trapz):
    "saliency.metrics.compute_pic_metric itself on colour scenes: areas and curves to 1e-3."
    checked = 0
    for ours, refs in pic_runs.values():
        for i, ref in enumerate(refs):
            if ref is None:
                assert not ours.valid[i]; continue
            checked += 1
            assert ours.valid[i]
            np.testing.assert_allclose(ours.auc[i], ref.auc, atol=1e-3)
            np.testing.assert_allclose(ours.curve_y[i], ref.curve_y, atol=1e-3)
    assert checked >= 6


def test_pic_median_curve_matches_saliency_aggregate(pic_runs, np_trapz):
    "The paper's aggregate: the median curve over valid images and its area, as saliency's median aggregation."
    from saliency.metrics import pic as sm
    for ours, refs in pic_runs.values():
        valid = [r for r in refs if r is not None]
        agg = sm.aggregate_individual_pic_results(valid, method="median")
        assert ours.n_valid == len(valid) >= 2
        # per-image curves agree to 1e-3 (test above); a pointwise median of them moves by no more
        np.testing.assert_allclose(ours.median_curve, agg.curve_y, atol=1e-3)
        np.testing.assert_allclose(ours.median_auc, agg.auc, atol=1e-3)
        np.testing.assert_allclose(ours.median_auc, trapezoid_of(ours.median_curve, ours.curve_x), rtol=1e-12)


def trapezoid_of(y, x):
    from scipy.integrate import trapezoid
    return trapezoid(y, x)


def test_sum_of_pixels_model_has_the_known_insertion_area():
    "f(x) = sum of pixels: ranking by x inserts the largest pixels first; area = mean of the trapezoids of the sorted cumsum."
    model = keras.Sequential([keras.Input((5, 5, 1)), keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)])
    model.layers[-1].set_weights([np.ones((25, 1), "float32")])
    x = np.random.default_rng(0).uniform(size=(2, 5, 5, 1)).astype("float32")
    res = C.insertion(model, x, [0, 0], x, steps=25, baseline="zeros", output="logit")
    cum = np.concatenate([np.zeros((2, 1)), np.cumsum(-np.sort(-x.reshape(2, -1)), 1)], 1)
    np.testing.assert_allclose(res.auc, ((cum[:, 1:] + cum[:, :-1]) / 2).mean(1), rtol=1e-5)
    worst = C.insertion(model, x, [0, 0], -x, steps=25, baseline="zeros", output="logit")
    assert (worst.auc < res.auc).all()



@pytest.mark.parametrize("call, message", [
    (lambda m, x, y: C.insertion(m, x, y, np.zeros(x.shape[:-1])), "attributions"),
    (lambda m, x, y: C.deletion(m, x, y, np.zeros_like(x), steps=1), "steps"),
    (lambda m, x, y: C.insertion(m, x, y, np.zeros_like(x), steps=2.5), "steps"),
    (lambda m, x, y: F.mu_fidelity(m, x, y, np.zeros_like(x)[:2]), "attributions"),
    (lambda m, x, y: P.pic(m, x, y, np.zeros_like(x), kind="auc"), "kind"),
    (lambda m, x, y: P.pic(m, x, y, np.zeros_like(x), thresholds=[0.5, 0.1]), "thresholds"),
    (lambda m, x, y: C.insertion(m, x, [99] * len(x), np.zeros_like(x)), "targets"),
    (lambda m, x, y: L.energy_in_mask(np.zeros_like(x), np.zeros(x.shape[:-1], bool)), "masks"),
    (lambda m, x, y: F.infidelity(m, x, y, np.zeros_like(x), multiply_by_inputs="yes"), "multiply_by_inputs"),
    (lambda m, x, y: C.deletion(m, x, y, np.zeros_like(x), baseline=np.zeros((5, 5))), "does not broadcast"),
])
def test_bad_input(scenes, call, message):
    model, x, y, _ = scenes
    with pytest.raises(ValueError, match=message):
        call(model, x[:3], y[:3])


# ---------------------------------------------------------------- removal targets, predicted drops, sensitivity

def _sum_model(shape):
    "Two logits `±sum(x)`: removing a pixel to b changes logit 0 by exactly b - x."
    d = int(np.prod(shape))
    m = keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(2, use_bias=False)])
    m.layers[-1].set_weights([np.stack([np.ones(d), -np.ones(d)], 1).astype("float32")])
    return m


def test_zero_removal_is_blind_to_mass_on_zero_pixels():
    "All attribution mass on the zero pixels: deleting them to 0 changes nothing, to the input's or the training mean it does."
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 1, (3, 6, 6, 1)).astype("float32")
    zero = rng.random((3, 6, 6, 1)) < 0.5
    x[zero] = 0
    attr = zero.astype("float32")                                        # mass only where x == 0
    model, t, n_zero = _sum_model((6, 6, 1)), np.zeros(3, int), zero.reshape(3, -1).sum(1)
    train_mean = rng.uniform(0.2, 1, (6, 6, 1)).astype("float32")
    targets = M.removal_baselines(x, train_mean)
    assert list(targets) == ["zeros", "blur", "mean", "train_mean"]
    curves = {k: C.deletion(model, x, t, attr, steps=36, baseline=b, output="logit").curve for k, b in targets.items()}
    fx = x.reshape(3, -1).sum(1)
    # logits are float32 sums of 36 terms below 1: 1e-4 bounds their rounding
    for i, k in enumerate(n_zero):
        np.testing.assert_allclose(curves["zeros"][i, :k + 1], fx[i], atol=1e-4)            # flat
        m = x[i].mean()
        np.testing.assert_allclose(curves["mean"][i, :k + 1], fx[i] + m * np.arange(k + 1), atol=1e-4)
        order = np.argsort(-attr[i].ravel(), kind="stable")[:k]                            # the removed zero pixels
        np.testing.assert_allclose(curves["train_mean"][i, k], fx[i] + train_mean.ravel()[order].sum(), atol=1e-4)
        assert curves["mean"][i, k] - curves["mean"][i, 0] > 0.1 * k                         # mean >= 0.1 here


@pytest.mark.parametrize("metric", ["insertion", "deletion", "mu_fidelity", "infidelity"])
def test_one_baseline_checker_before_any_model_call(metric):
    "Every removal metric names the same accepted targets and rejects bad ones before it calls the model."
    def model(batch): raise AssertionError("the model was called before the baseline was checked")
    fn = getattr(C if metric in ("insertion", "deletion") else F, metric)
    x = np.zeros((2, 4, 4, 1), "float32")
    extra = dict(perturbation="gaussian") if metric == "infidelity" else {}
    for bad, message in [("zero", r"baseline: expected one of \['zeros', 'blur', 'mean'\]"),
                         (np.ones((3, 3)), "does not broadcast"), (np.nan, "finite")]:
        with pytest.raises(ValueError, match=message):
            fn(model, x, None, x, baseline=bad, **extra)
    with pytest.raises(ValueError, match="spatial axes"):
        fn(model, np.zeros((2, 5), "float32"), None, np.zeros((2, 5), "float32"), baseline="blur", **extra)


def test_infidelity_and_mu_fidelity_read_gradient_maps_with_multiply_by_inputs_false():
    "On a linear model the gradient (gradient-type) and IG (an attribution) are both exact, each read its own way."
    from ig2 import VanillaGradient, IntegratedGradients
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 6, 2)).astype("float32")
    d = w.size
    model = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Flatten(), keras.layers.Dense(2, use_bias=False)])
    model.layers[-1].set_weights([np.stack([w.ravel(), -w.ravel()], 1)])
    x = rng.uniform(size=(3, 6, 6, 2)).astype("float32")
    x[:, :2] = 0                                                         # some features equal to the zero target
    t = np.zeros(3, int)
    grad, ig = VanillaGradient(model), IntegratedGradients(model, steps=4)
    g, a = grad.explain(x, t), ig.explain(x, t)
    noise = rng.normal(size=x.shape).astype("float32")
    # drops are float32 logit differences of size ~1 (errors ~1e-6): squared errors far below 1e-6.
    # The gradient predicts any removal (Σ_S w (x - b)); IG with its black baseline predicts removal to zeros,
    # where the removed features that are already 0 do not move (Captum's I = (x - x') / (x - b), 0/0 -> 0).
    for baseline in ("zeros", "mean", 0.3):
        kw = dict(baseline=baseline, grid_size=3)
        assert (F.infidelity(model, x, t, g, multiply_by_inputs=grad.multiplies_inputs, **kw) < 1e-6).all()
        assert (F.infidelity(model, x, t, noise, multiply_by_inputs=False, **kw) > 1e-2).all()
        np.testing.assert_allclose(F.mu_fidelity(model, x, t, g, multiply_by_inputs=False, **kw), 1, atol=1e-5)
    assert (F.infidelity(model, x, t, a, multiply_by_inputs=ig.multiplies_inputs, grid_size=3) < 1e-6).all()
    # Gaussian noise moves every feature: IG (x ⊙ w) divided back by x - 0 is w again, where x != 0
    xp = x + 0.05
    ap = ig.explain(xp, t)
    assert (F.infidelity(model, xp, t, ap, perturbation="gaussian", multiply_by_inputs=True) < 1e-6).all()
    assert (F.infidelity(model, xp, t, grad.explain(xp, t), perturbation="gaussian", multiply_by_inputs=False) < 1e-6).all()
    # read as an attribution, the gradient mispredicts the drop
    assert (F.infidelity(model, x, t, g, grid_size=3) > 1e-2).all()


def _tanh_mlp(seed=0, d=6, h=8, c=3):
    rng = np.random.default_rng(seed)
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(h, activation="tanh"), keras.layers.Dense(c)])
    model.layers[0].set_weights([rng.normal(size=(d, h)).astype("float32"), np.zeros(h, "float32")])
    model.layers[1].set_weights([rng.normal(size=(h, c)).astype("float32"), np.zeros(c, "float32")])
    return model


def test_max_sensitivity_gives_perturbed_inputs_the_original_draws():
    "A stochastic explainer is as sensitive as its deterministic part: perturbed rows see the original's random draws."
    from ig2 import VanillaGradient, ExpectedGradients
    model = _tanh_mlp()
    rng = np.random.default_rng(1)
    x, pool = rng.normal(size=(5, 6)).astype("float32"), rng.normal(size=(40, 6)).astype("float32")
    t = np.array([0, 1, 2, 0, 1])
    grad = VanillaGradient(model)
    per_call = lambda xs, ts: grad.explain(xs, ts) + np.random.default_rng(3).normal(size=xs.shape).astype("float32")
    global_rng = lambda xs, ts: grad.explain(xs, ts) + np.random.normal(size=xs.shape).astype("float32")
    plain = F.max_sensitivity(grad.explain, model, x, t, radius=0.05, relative=False)
    assert (plain > 0).all()
    for fn in (per_call, global_rng):  # the same noise cancels: float32 rounding of values ~1 over 6 features
        np.testing.assert_allclose(F.max_sensitivity(fn, model, x, t, radius=0.05, relative=False), plain, atol=1e-5)
    # Expected Gradients: at a tiny radius its attributions barely move (smooth model, same draws); with
    # other draws for the perturbed inputs they would differ by the Monte-Carlo error of 16 samples (~30%)
    eg = ExpectedGradients(model, pool, samples=16)
    assert (F.max_sensitivity(eg.explain, model, x, t, radius=1e-4) < 0.02).all()
