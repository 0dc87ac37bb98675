"""Metrics against independent references (Xplique, PAIR saliency) and on bad input."""
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import pytest
import keras

from ig2 import metrics as M
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
        blur = M.blurred(x)
        ref = Insertion(model, x, onehot, batch_size=64, baseline_mode=lambda inputs: blur, steps=16, activation="softmax")
        ours = M.insertion(model, x, y, attr, steps=16, baseline="blur")
    else:
        ref = Deletion(model, x, onehot, batch_size=64, baseline_mode=0.0, steps=16, activation="softmax")
        ours = M.deletion(model, x, y, attr, steps=16, baseline="zeros")
    ref_curve = np.array(list(ref.detailed_evaluate(attr).values()))
    np.testing.assert_array_equal(list(ref.detailed_evaluate(attr).keys()), ours.counts)
    np.testing.assert_allclose(ours.curve.mean(0), ref_curve, atol=1e-5)
    np.testing.assert_allclose(ours.auc.mean(), ref.evaluate(attr), atol=1e-5)


def test_blurred_images_match_saliency(scenes):
    from saliency.metrics import pic as sm
    _, x, _, masks = scenes
    img = M._to_uint8(x[0])
    keep = M.random_keep_masks(1, (64, 64), fraction=0.01, seed=0)[0]
    for extra in (np.zeros_like(masks[0]), masks[0]):
        k = keep | extra
        np.testing.assert_array_equal(M.interpolated_image(img, k), sm.create_blurred_image(img, k))
        assert M.image_information(M.interpolated_image(img, k)) == sm.estimate_image_entropy(sm.create_blurred_image(img, k))


def test_pic_matches_saliency(scenes, monkeypatch):
    "saliency.metrics.compute_pic_metric itself on colour scenes: areas and curves to 1e-3."
    from saliency.metrics import pic as sm
    model, x, y, masks = scenes
    monkeypatch.setattr(np, "trapz", getattr(np, "trapz", np.trapezoid), raising=False)
    maps = masks[..., None] + 0.1 * np.random.default_rng(1).random(x.shape)
    keep = M.random_keep_masks(len(x), (64, 64), seed=2)
    checked = 0
    for kind in ("sic", "aic"):
        ours = M.pic(model, x, y, maps, kind=kind, keep_masks=keep)
        for i in range(len(x)):
            def pred(batch, label=y[i]):
                p = M._softmax(M.Scorer(model).logits(batch.astype("float32") / 255))
                return p[:, label] if kind == "sic" else (p.argmax(1) == label).astype(float)
            try:
                ref = sm.compute_pic_metric(M._to_uint8(x[i]), maps[i].sum(-1), keep[i], pred,
                                            list(M.PIC_THRESHOLDS), min_pred_value=0.0)
            except sm.ComputePicMetricError:
                assert not ours.valid[i]; continue
            checked += 1
            assert ours.valid[i]
            np.testing.assert_allclose(ours.auc[i], ref.auc, atol=1e-3)
            np.testing.assert_allclose(ours.curve_y[i], ref.curve_y, atol=1e-3)
    assert checked >= 6


def test_sum_of_pixels_model_has_the_known_insertion_area():
    "f(x) = sum of pixels: ranking by x inserts the largest pixels first; area = mean of the trapezoids of the sorted cumsum."
    model = keras.Sequential([keras.Input((5, 5, 1)), keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)])
    model.layers[-1].set_weights([np.ones((25, 1), "float32")])
    x = np.random.default_rng(0).uniform(size=(2, 5, 5, 1)).astype("float32")
    res = M.insertion(model, x, [0, 0], x, steps=25, baseline="zeros", output="logit")
    cum = np.concatenate([np.zeros((2, 1)), np.cumsum(-np.sort(-x.reshape(2, -1)), 1)], 1)
    np.testing.assert_allclose(res.auc, ((cum[:, 1:] + cum[:, :-1]) / 2).mean(1), rtol=1e-5)
    worst = M.insertion(model, x, [0, 0], -x, steps=25, baseline="zeros", output="logit")
    assert (worst.auc < res.auc).all()


def test_ground_truth_on_the_tabular_mlp_prefers_the_truth():
    from ig2.data import load_tabular, load_tabular_mlp, tabular_truth, tabular_covariance
    _, (x, y, c) = load_tabular("linear")
    x, c = x[:32], c[:32]
    model = load_tabular_mlp("linear")
    t = M.Scorer(model).logits(x).argmax(1)
    truth = tabular_truth(c, t)
    noise = np.random.default_rng(0).normal(size=truth.shape).astype("float32")
    assert M.gt_error(truth, truth).max() == 0
    assert M.gt_faithfulness(model, x, t, truth).mean() > 0.9 > M.gt_faithfulness(model, x, t, noise).mean()
    cov = tabular_covariance(8, 0.5)
    assert M.gt_infidelity(model, x, t, truth, cov=cov).mean() < M.gt_infidelity(model, x, t, noise, cov=cov).mean()


@pytest.mark.parametrize("call, message", [
    (lambda m, x, y: M.insertion(m, x, y, np.zeros(x.shape[:-1])), "attributions"),
    (lambda m, x, y: M.deletion(m, x, y, np.zeros_like(x), steps=1), "steps"),
    (lambda m, x, y: M.insertion(m, x, y, np.zeros_like(x), steps=2.5), "steps"),
    (lambda m, x, y: M.mu_fidelity(m, x, y, np.zeros_like(x)[:2]), "attributions"),
    (lambda m, x, y: M.pic(m, x, y, np.zeros_like(x), kind="auc"), "kind"),
    (lambda m, x, y: M.pic(m, x, y, np.zeros_like(x), thresholds=[0.5, 0.1]), "thresholds"),
    (lambda m, x, y: M.get_metric("accuracy"), "unknown name"),
    (lambda m, x, y: M.insertion(m, x, [99] * len(x), np.zeros_like(x)), "targets"),
    (lambda m, x, y: M.energy_in_mask(np.zeros_like(x), np.zeros(x.shape[:-1], bool)), "masks"),
])
def test_bad_input(scenes, call, message):
    model, x, y, _ = scenes
    with pytest.raises(ValueError, match=message):
        call(model, x[:3], y[:3])
