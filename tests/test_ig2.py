"Foundation tests of IG²: completeness, dummy features, path properties, an eager reference, batching, bad input."
import numpy as np
import pytest
import tensorflow as tf
import keras

from ig2 import IG2, GradCFE, OtherClassReferences, RelevantReferences, ModelAdapter
from ig2.data import load_mnist, load_mnist_cnn
from ig2.speed import naive_ig2


def rel_l2(a, b): return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def digits():
    "Real MNIST and the CNN shipped with the package: every machine tests the same weights."
    (x_tr, y_tr), (x_te, y_te) = load_mnist()
    return x_tr, y_tr, x_te, y_te, load_mnist_cnn()


@pytest.fixture(scope="module")
def linear():
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((10,)), keras.layers.Dense(4, name="head")])


def explicand_gap(res):
    "Relative completeness gap of the IG² map (the mean over references)."
    return abs(res.completeness_gap.mean()) / abs((res.scores[0] - res.scores[-1]).mean())


@pytest.mark.parametrize("rule", ["left", "right", "trapezoid"])
def test_completeness_exact_on_linear_model(linear, rule):
    rng = np.random.default_rng(0)
    x, refs = rng.normal(size=10).astype("float32"), rng.normal(size=(5, 10)).astype("float32")
    res = IG2(linear, steps=40, clip=(-2, 2), rule=rule).explain_path(x, refs)
    diff = res.scores[0] - res.scores[-1]
    np.testing.assert_allclose(res.per_reference.reshape(5, -1).sum(1), diff, rtol=1e-5, atol=1e-5 * np.abs(diff).max())


@pytest.mark.parametrize("rule,bound", [("trapezoid", 0.01), ("left", 0.03)])
def test_completeness_on_digits_cnn_at_defaults(digits, rule, bound):
    x_tr, y_tr, x_te, _, model = digits
    explainer = IG2(model, clip=(0, 1), rule=rule)
    refs = OtherClassReferences(x_tr, y_tr, n=8)
    gaps = [explicand_gap(explainer.explain_path(x, refs, keep_path=False)) for x in x_te[:4]]
    print(rule, np.round(gaps, 4))
    assert max(gaps) < bound


def test_ignored_feature_gets_exactly_zero():
    keras.utils.set_random_seed(1)
    mask = np.array([1, 1, 0, 1, 1, 1], "float32")  # the model never sees feature 2
    inp = keras.Input((6,))
    h = keras.layers.Dense(8, activation="tanh", name="features")(keras.layers.Lambda(lambda t: t * mask)(inp))
    model = keras.Model(inp, keras.layers.Dense(3, name="logits")(h))
    rng = np.random.default_rng(1)
    x, refs = rng.normal(size=(4, 6)).astype("float32"), rng.normal(size=(3, 6)).astype("float32")
    attr = IG2(model, steps=30).explain(x, references=refs)
    assert np.all(attr[:, 2] == 0.0)
    assert np.all(np.abs(attr[:, [0, 1, 3, 4, 5]]).sum(1) > 0)


def test_path_within_clip_and_independent_of_target(digits):
    x_tr, y_tr, x_te, _, model = digits
    explainer = IG2(model, steps=40, clip=(0.1, 0.9))
    refs = x_tr[y_tr != 3][:4]
    a = explainer.explain_path(x_te[0], refs, target=0)
    b = explainer.explain_path(x_te[0], refs, target=7)
    assert a.path[1:].min() >= 0.1 and a.path[1:].max() <= 0.9  # g_0 = x itself is not clipped
    np.testing.assert_array_equal(a.path, b.path)
    np.testing.assert_array_equal(a.rep_distance, b.rep_distance)
    assert not np.allclose(a.attribution, b.attribution)


def test_reference_equal_to_explicand_gives_no_nan(digits):
    _, _, x_te, _, model = digits
    res = IG2(model, steps=20, clip=(0, 1)).explain_path(x_te[0], np.stack([x_te[0], x_te[1]]))
    assert np.isfinite(res.per_reference).all() and np.isfinite(res.gradcf).all()
    np.testing.assert_array_equal(res.per_reference[0], 0.0)  # zero distance gradient: the path stays put


def eager_ig2(model, x, refs, target, steps, eta, lo, hi):
    "The project's slow reference (`ig2.speed.naive_ig2`) one reference at a time, the float order of batch_size=1."
    features = keras.Model(model.inputs[0], model.get_layer("features").output)
    return np.mean([naive_ig2(model, features, x, r[None], target, steps, eta, clip=(lo, hi))[0] for r in refs], 0)


def test_agrees_with_eager_reference(digits):
    x_tr, y_tr, x_te, y_te, model = digits
    refs = x_tr[y_tr != y_te[0]][:3]
    ref = eager_ig2(model, x_te[0], refs, int(y_te[0]), steps=40, eta=0.2, lo=0.0, hi=1.0)
    one = IG2(model, steps=40, step_size=0.2, clip=(0, 1), batch_size=1).explain(x_te[:1], y_te[:1], references=refs)[0]
    # one row per forward pass: the same float operations as the eager loop, so only tracing differs
    assert rel_l2(one, ref) < 1e-5
    batched = IG2(model, steps=40, step_size=0.2, clip=(0, 1)).explain(x_te[:1], y_te[:1], references=refs)[0]
    # three rows per pass sum in another float order; on a ReLU/max-pool CNN a 1e-7 change can move a path point
    # across a kink and the path then continues elsewhere, so the batched result is only close (a wrong search or
    # integration would be off by O(1)); the exact batching invariance is tested on a smooth model below
    assert rel_l2(batched, ref) < 5e-2


@pytest.fixture(scope="module")
def smooth_cnn():
    "A CNN with smooth layers (softplus, average pooling, tanh features), seeded random weights."
    keras.utils.set_random_seed(5)
    L = keras.layers
    return keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(8, 3, activation="softplus"), L.AveragePooling2D(2),
                             L.Flatten(), L.Dense(16, activation="tanh"), L.Dense(10)])


def test_batching_does_not_change_results(digits, smooth_cnn):
    x_tr, y_tr, x_te, _, relu_cnn = digits
    refs = x_tr[:4]
    for model, clip, bound in ((smooth_cnn, None, 2e-3), (relu_cnn, (0, 1), 5e-2)):
        # batching changes only float summation order (~1e-7 relative a pass); a normalised step grows such a
        # difference by up to (1 + eta |H| / |d|) a step, so over 40 steps a smooth model ends ~1e-4 apart (measured
        # 1.5e-4), while a ReLU CNN (or a clip) can put a point on the other side of a kink; a wrong search or
        # integration would differ by O(1)
        make = lambda bs: IG2(model, steps=40, clip=clip, step_size=0.2, batch_size=bs)
        full = make(None).explain(x_te[:3], references=refs)
        for bs in (1, 5):
            assert rel_l2(make(bs).explain(x_te[:3], references=refs), full) < bound
        one_by_one = np.mean([make(None).explain(x_te[:3], references=refs[i:i + 1]) for i in range(4)], 0)
        assert rel_l2(one_by_one, full) < bound


def test_callable_references_and_selectors(digits):
    x_tr, y_tr, x_te, _, model = digits
    others = OtherClassReferences(x_tr, y_tr, n=5, seed=0)
    picked = others(x_te[0], 3)
    assert picked.shape == (5, 28, 28, 1)
    assert not any((picked[i] == x_tr[y_tr == 3]).all((1, 2, 3)).any() for i in range(5))
    relevant = RelevantReferences(model, x_tr, y_tr, n=6)
    order = np.argsort(-ModelAdapter(model).scores(x_te[:1])[0])
    chosen = relevant(x_te[0], int(order[0]))
    labels = [y_tr[(x_tr == c).all((1, 2, 3))][0] for c in chosen]
    assert set(labels) == set(order[1:4].tolist())
    attr = IG2(model, steps=20, clip=(0, 1)).explain(x_te[:2], references=others)
    assert attr.shape == (2, 28, 28, 1) and np.isfinite(attr).all()


def test_gradcfe_is_mean_displacement(digits):
    x_tr, _, x_te, _, model = digits
    res = IG2(model, steps=20, clip=(0, 1)).explain_path(x_te[0], x_tr[:3], keep_path=False)
    cfe = GradCFE(model, steps=20, clip=(0, 1)).explain(x_te[:1], references=x_tr[:3])[0]
    np.testing.assert_allclose(cfe, (x_te[0] - res.gradcf).mean(0), atol=1e-5)


class ModelCalls:
    "Counts forward passes by wrapping the adapter's forward."
    def __init__(self, explainer):
        self.n, orig = 0, explainer.adapter.forward
        def forward(x):
            self.n += 1
            return orig(x)
        explainer.adapter.forward = forward


@pytest.mark.parametrize("case,message", [
    ("shape", "references: expected samples of shape (28, 28, 1)"),
    ("nan", "inputs: contains NaN or inf"),
    ("empty", "references: expected a non-empty batch"),
    ("target", "targets: class indices must lie in [0, 10)"),
    ("int", "inputs: expected floating-point"),
    ("none", "references: IG2 needs references"),
])
def test_bad_input_raises_before_any_model_call(digits, case, message):
    x_tr, _, x_te, _, model = digits
    explainer = IG2(model, steps=5)
    calls = ModelCalls(explainer)
    x, refs, targets = x_te[:2].copy(), x_tr[:3], None
    if case == "shape": refs = np.zeros((3, 8, 8, 1), "float32")
    if case == "nan": x[0, 0, 0, 0] = np.nan
    if case == "empty": refs = refs[:0]
    if case == "target": targets = [1, 10]
    if case == "int": x = (x * 16).astype(int)
    if case == "none": refs = None
    with pytest.raises(ValueError) as err:
        explainer.explain(x, targets=targets, references=refs)
    assert message in str(err.value)
    assert calls.n == 0


@pytest.mark.parametrize("kw,message", [
    (dict(steps=0), "steps: expected an integer >= 1"),
    (dict(step_size=0.0), "step_size"),
    (dict(step_size=-1.0), "step_size"),
    (dict(clip=(1, 0)), "clip: expected lo < hi"),
    (dict(clip=(0, 0)), "clip: expected lo < hi"),
    (dict(rep_layer="nope"), "rep_layer: no layer named 'nope'"),
    (dict(rule="middle"), "rule: expected one of"),
    (dict(batch_size=0), "batch_size"),
    (dict(output="softmax"), "output:"),
])
def test_bad_constructor_arguments(digits, kw, message):
    with pytest.raises(ValueError, match=None) as err:
        IG2(digits[4], **kw)
    assert message in str(err.value)


def test_model_without_dense_needs_rep_layer():
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(3, 2), keras.layers.GlobalAveragePooling2D()])
    with pytest.raises(ValueError, match="rep_layer=None uses the input of the last Dense layer"):
        IG2(model)


def test_softmax_head_explains_the_logit():
    keras.utils.set_random_seed(2)
    inp = keras.Input((5,))
    h = keras.layers.Dense(6, activation="relu")(inp)
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(h))
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    logits = ModelAdapter(model).scores(x)
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), model(x).numpy(), atol=1e-6)
    assert not np.allclose(logits, model(x).numpy())
