"ig2.xaibench: XAI-Bench's Gaussian data sets and metrics, checked against values derived by hand."
import itertools, math
import numpy as np
import pytest
from ig2 import xaibench as xb

W = np.array([1.0, 2.0, 0.0])
def linear(X): return np.asarray(X) @ W          # the 3-feature linear model of the hand derivations


def bench3(rho, **kw): return xb.GaussianBenchmark("linear", dim=3, rho=rho, weights=W, **kw)


def never(X): raise AssertionError("predict must not be called before the inputs are checked")


# ---------------------------------------------------------------- label functions and labels
def test_label_functions_on_known_points():
    X = np.array([[1.0, 2, 3, 4, 5], [np.pi / 2, -1, 2, 0, 0]])
    w = np.array([4.0, 3, 2, 1, 0])
    assert np.allclose(xb.GaussianBenchmark("linear", weights=w).label_fn(X), [4 + 6 + 6 + 4, 2 * np.pi - 3 + 4])
    # regression: sin x0 + |x1| + x2^2 + exp(-x3); at row 1: 1 + 1 + 4 + 1
    reg = xb.GaussianBenchmark("nonlinear_additive", task="regression").label_fn(X)
    assert np.allclose(reg, [np.sin(1) + 2 + 9 + np.exp(-4), 7])
    # binary: -100 sin 2x0 + 2|x1| + x2 + exp(-x3) - 2.4; at row 1: 0 + 2 + 2 + 1 - 2.4
    binary = xb.GaussianBenchmark("nonlinear_additive", task="binary").label_fn(X)
    assert np.allclose(binary, [-100 * np.sin(2) + 4 + 3 + np.exp(-4) - 2.4, 2.6])
    # piecewise: sign(x0) + p1(x1) + p2(x2), p1 = -2 | 0 | 1 | 2 at -0.5, 0, 0.5; p2 = trunc(2 cos pi x), 0 -> 1
    P = np.array([[-3, -.7, 1, 0, 0], [0, -.2, .5, 0, 0], [2, .3, 0, 0, 0], [1, .5, .9, 0, 0], [-1, 7, 1 / 3 + .01, 0, 0]])
    # last row: -1 + 2 + trunc(2 cos(pi/3 + .01pi)) = trunc(0.97) = 0 -> 1
    assert np.allclose(xb.GaussianBenchmark("piecewise_constant").label_fn(P), [-5, 2, 4, 2, 2])


def test_binary_and_regression_labels():
    X = np.array([[1.0, -2, 0.5], [-1, 0.2, 3], [0, 0, 0]])
    s = X @ W                                                   # [-3, -0.6, 0]
    assert np.array_equal(bench3(0.5, task="binary", noise=0.0).labels(X), (s >= 0).astype(int))   # 1[s >= 0]
    b = bench3(0.5, task="regression", noise=0.0, mean=[1, 0, 2])
    # population standardisation: m = w.mu = 1, sd^2 = w' Sigma w = 1 + 4 + 2 * 0.5 * 1 * 2 = 7
    assert np.allclose(b.labels(X), (s - 1) / np.sqrt(7))
    nb = xb.GaussianBenchmark("nonlinear_additive", task="binary", noise=0.0)
    Xn, yn = nb.sample(2000, seed=4)
    assert np.array_equal(yn, (nb.label_fn(Xn) >= 0).astype(int)) and 0.3 < yn.mean() < 0.7
    _, yr = xb.GaussianBenchmark("piecewise_constant", task="regression").sample(20000, seed=1)
    assert abs(yr.mean()) < 0.05 and abs(yr.std() - 1) < 0.05      # standardised by population constants


def test_sample_is_seeded_and_has_the_covariance():
    d = xb.GaussianBenchmark("linear", dim=4, rho=-0.2, seed=3)
    assert np.allclose(d.cov, [[1 if i == j else -0.2 for j in range(4)] for i in range(4)])
    X, y = d.sample(20000, seed=1)
    X2, y2 = d.sample(20000, seed=1)
    assert X.dtype == np.float64 and X.shape == (20000, 4) and y.shape == (20000,)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    # sd of a sample covariance entry is <= sqrt(2 / n) = 0.01 here: 6 sd
    assert np.allclose(np.cov(X.T), d.cov, atol=0.06)
    a, _ = xb.GaussianBenchmark("linear", seed=5).sample(3)
    b, _ = xb.GaussianBenchmark("linear", seed=5).sample(3)
    assert np.array_equal(a, b)                                   # the benchmark's own generator is seeded


# ---------------------------------------------------------------- conditional sampling
def test_conditional_mean_by_hand():
    d = bench3(0.5)
    # Sigma_FS Sigma_SS^-1: one fixed feature -> 0.5 x_s; two fixed -> (x_s1 + x_s2) / 3
    assert np.allclose(d.conditional_mean([2.0, 9, 9], [1, 0, 0]), [2, 1, 1])
    assert np.allclose(d.conditional_mean([[3.0, 0, 9], [1, 1, 1]], [1, 0, 1]), [[3, 4, 9], [1, 2 / 3, 1]])
    assert np.allclose(d.conditional_mean([5.0, 5, 5], [0, 0, 0]), 0)
    assert np.allclose(d.conditional_mean([5.0, 5, 5], [1, 1, 1]), 5)


def test_conditional_sample_fixed_mean_and_covariance():
    d = xb.GaussianBenchmark("linear", dim=5, rho=0.5, mean=[1, -2, 0, 3, 0.5])
    x, mask = np.array([0.3, -1.0, 2.0, 0.1, -0.4]), np.array([1, 0, 1, 0, 0])
    n = 40000
    Xc = d.conditional_sample(x, mask, n=n, seed=0)
    assert Xc.shape == (n, 5)
    assert np.array_equal(Xc[:, [0, 2]], np.broadcast_to(x[[0, 2]], (n, 2)))          # fixed features exactly x
    assert np.allclose(Xc.mean(0), d.conditional_mean(x, mask), rtol=0, atol=1e-12)    # centred: exact mean
    free, fixed = [1, 3, 4], [0, 2]
    S = d.cov
    C = S[np.ix_(free, free)] - S[np.ix_(free, fixed)] @ np.linalg.inv(S[np.ix_(fixed, fixed)]) @ S[np.ix_(fixed, free)]
    emp = np.cov(Xc[:, free].T)
    sd = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C ** 2) / (n - 1))   # sd of a Gaussian sample covariance entry
    assert np.all(np.abs(emp - C) < 6 * sd)
    assert np.array_equal(Xc, d.conditional_sample(x, mask, n=n, seed=0))           # reproducible
    raw = d.conditional_sample(x, mask, n=50, centre=False, seed=0)
    assert not np.allclose(raw.mean(0), d.conditional_mean(x, mask))               # uncentred: only on average


def test_conditional_sample_batched_shapes():
    d = xb.GaussianBenchmark("linear", dim=4, rho=0.3)
    X, _ = d.sample(6, seed=0)
    masks = np.random.default_rng(0).integers(0, 2, (6, 4))
    out = d.conditional_sample(X, masks, n=7, seed=1)
    assert out.shape == (6, 7, 4)
    assert np.all(np.where(masks[:, None, :] == 1, out == X[:, None, :], True))
    assert np.allclose(out.mean(1), d.conditional_mean(X, masks), atol=1e-12)
    assert d.conditional_sample(X, masks[0], n=2).shape == (6, 2, 4)
    assert d.conditional_sample(X[0], masks, n=2).shape == (6, 2, 4)
    assert d.conditional_mean(X, masks[0]).shape == (6, 4)


# ---------------------------------------------------------------- faithfulness
def test_faithfulness_linear_independent():
    # rho = 0: removing feature j moves the exact conditional mean of f by w_j (x_j - mu_j), so Delta_j = |w_j x_j|
    d = bench3(0.0)
    X = np.array([[1.0, 1, 1], [2, -1, 0.5], [1, 1, 1]])
    A = np.array([[-3.0, 1, 2], [1, 2, 0], [1, 1, 1]])       # magnitudes enter: row 0 counts as [3, 1, 2]
    # row 0: Delta = [1, 2, 0]; corr([3,1,2], [1,2,0]): centred [1,-1,0].[0,1,-1] / (sqrt2 sqrt2) = -1/2
    # row 1: Delta = [2, 2, 0]; corr([1,2,0], [2,2,0]) = centred [0,1,-1].[2/3,2/3,-4/3] / (sqrt2 sqrt(24/9)) = sqrt3/2
    # row 2: constant attributions -> 0 (XAI-Bench turns the NaN into 0)
    got = xb.faithfulness(linear, d, X, A, n_sample=10)
    assert np.allclose(got, [-0.5, np.sqrt(3) / 2, 0.0], atol=1e-9)


def test_faithfulness_linear_correlated():
    # rho = 0.5: E[x_j | x_-j] = (sum of the other two) / 3, so Delta_j = |w_j (x_j - (sum_{k != j} x_k) / 3)|
    d = bench3(0.5)
    x = np.array([2.0, -1, 0.5])
    delta = [abs(1 * (2 - (-1 + 0.5) / 3)), abs(2 * (-1 - (2 + 0.5) / 3)), 0.0]     # [13/6, 11/3, 0]
    assert np.allclose(delta, [13 / 6, 11 / 3, 0])
    a = np.array([3.0, 1, 2])
    expect = np.corrcoef(a, delta)[0, 1]
    assert np.allclose(xb.faithfulness(linear, d, x[None], a[None], n_sample=20), expect, atol=1e-9)
    assert np.allclose(xb.faithfulness(linear, d, x[None], [delta], n_sample=20), 1.0, atol=1e-9)


# ---------------------------------------------------------------- monotonicity
def test_monotonicity_linear_independent():
    d = bench3(0.0)
    X = np.array([[1.0, 1, 1], [-3, 0.5, 2]])       # f = [3, -2]: v0 = batch mean = 0.5
    # row 0, a = [1,2,0]: add x2, x0, x1: v = [0.5, 0, 1, 3], deltas [0.5, 1, 2]: both steps grow -> 1
    # row 1, a = [0,.5,1]: add x0, x1, x2: v = [0.5, -3, -2, -2], deltas [3.5, 1, 0]: none grows -> 0
    assert np.allclose(xb.monotonicity(linear, d, X, [[1, 2, 0], [0, .5, 1]], n_sample=8), [1.0, 0.0])
    # row 1, a = [.5,1,0]: add x2, x0, x1: v = [0.5, 0, -3, -2], deltas [0.5, 3, 1] -> 1/2
    assert np.allclose(xb.monotonicity(linear, d, X, [[1, 2, 0], [.5, 1, 0]], n_sample=8), [1.0, 0.5])
    # base = 3 for row 0, a = [1,2,0]: v = [3, 0, 1, 3], deltas [3, 1, 2] -> 1/2
    assert np.allclose(xb.monotonicity(linear, d, X[:1], [[1, 2, 0]], n_sample=8, base=3.0), [0.5])


def test_monotonicity_linear_correlated():
    d = bench3(0.5)
    X = np.array([[1.0, 1, 1], [-3, 0.5, 2]])       # v0 = 0.5
    # row 0, a = [1,2,0]: fix x2=1: E[x0] = E[x1] = .5 -> f = .5 + 1 = 1.5; fix x2, x0: E[x1] = 2/3 -> f = 1 + 4/3;
    #   f(x) = 3: deltas [1, 5/6, 2/3] decrease -> 0
    # row 1, a = [1,.5,0]: fix x2=2: E[x0] = E[x1] = 1 -> f = 3; fix x2, x1: E[x0] = (2 + .5)/3 = 5/6 -> f = 11/6;
    #   f(x) = -2: deltas [2.5, 7/6, 23/6] -> 1/2
    assert np.allclose(xb.monotonicity(linear, d, X, [[1, 2, 0], [1, .5, 0]], n_sample=8), [0.0, 0.5])


# ---------------------------------------------------------------- infidelity
def infidelity_loop(f, X, A, n_reps, seed):
    "Infidelity from its definition, one explicand and one repetition at a time."
    z = np.random.default_rng(seed).standard_normal((len(X), n_reps, X.shape[1]))
    out = []
    for i, (x, a) in enumerate(zip(X, A)):
        diffs, dots = [], []
        for r in range(n_reps):
            amount = np.minimum(np.maximum(x + 0.2 * z[i, r], x - 1), x)    # I = clip(x + 0.2 z, x - 1, x)
            diffs.append(f(x[None])[0] - f((x - amount)[None])[0])           # f(x) - f(x - I)
            dots.append(float(amount @ a))
        diffs, dots = np.array(diffs), np.array(dots)
        beta = (diffs * dots).mean() / (dots ** 2).mean() if (dots ** 2).mean() > 0 else 0.0
        out.append(((diffs - beta * dots) ** 2).mean())
    return np.array(out)


def test_infidelity_linear_by_hand_and_by_loop():
    X = np.array([[1.0, 1, 1], [2, -1, 0.5], [-0.3, 0.8, 4]])
    # a = c w: f(x) - f(x~) = w.I = (I.a) / c, the optimal beta = 1/c fits exactly: infidelity 0
    assert np.allclose(xb.infidelity(linear, X, np.stack([W, 3 * W, -W]), n_reps=200), 0, atol=1e-20)
    A = np.array([[1.0, 0, 0], [0, 0, 1], [0, 0, 0]])   # last row: I.a = 0 always -> beta = 0 -> mean (w.I)^2
    got = xb.infidelity(linear, X, A, n_reps=300, seed=7)
    assert np.allclose(got, infidelity_loop(linear, X, A, 300, 7), rtol=1e-10)
    assert np.all(got[:2] > 0)
    sq = lambda X: (np.asarray(X) ** 2).sum(1)
    assert np.allclose(xb.infidelity(sq, X, A + 0.5, n_reps=100, seed=1), infidelity_loop(sq, X, A + 0.5, 100, 1), rtol=1e-10)


# ---------------------------------------------------------------- ground-truth Shapley
def shapley_by_permutations(v, D):
    "Shapley values from the average marginal contribution over all orderings (a second, independent formula)."
    phi = np.zeros(D)
    for perm in itertools.permutations(range(D)):
        S = set()
        for j in perm:
            phi[j] += v(S | {j}) - v(S)
            S.add(j)
    return phi / math.factorial(D)


def test_shapley_linear_independent_is_exact():
    d = xb.GaussianBenchmark("linear", dim=4, rho=0.0, weights=[1, -2, 0.5, 0], mean=[0.5, -1, 2, 0])
    X, _ = d.sample(6, seed=3)
    f = lambda A: A @ d.weights
    phi = xb.shapley_values(f, d, X, n_sample=64)
    assert np.allclose(phi, d.weights * (X - d.mean), rtol=1e-9, atol=1e-12)


def test_shapley_linear_correlated_closed_form():
    d = xb.GaussianBenchmark("linear", dim=3, rho=0.5, weights=[1, 2, -1], mean=[0.2, 0, -0.5])
    x = np.array([0.7, -1.2, 1.5])
    f = lambda A: A @ d.weights
    S_, mu = d.cov, d.mean
    def v(S):      # f is linear: v(S) = w . E[X | X_S = x_S], conditional mean by the textbook formula
        S = sorted(S); F = [j for j in range(3) if j not in S]
        e = x.copy()
        if F:
            e[F] = mu[F] + (S_[np.ix_(F, S)] @ np.linalg.inv(S_[np.ix_(S, S)]) @ (x[S] - mu[S]) if S else 0)
        return d.weights @ e
    assert np.allclose(xb.shapley_values(f, d, x[None], n_sample=32)[0], shapley_by_permutations(v, 3), rtol=1e-9, atol=1e-12)
    # symmetry: features 0 and 1 with equal weights and equal values get equal shares
    d2 = xb.GaussianBenchmark("linear", dim=3, rho=0.5, weights=[1, 1, 2])
    phi = xb.shapley_values(lambda A: A @ d2.weights, d2, np.array([[0.7, 0.7, -1.0]]), n_sample=32)[0]
    assert np.isclose(phi[0], phi[1], rtol=1e-9)


def test_shapley_efficiency_nonlinear():
    d = xb.GaussianBenchmark("nonlinear_additive", dim=3, rho=0.5)
    f = lambda A: np.sin(A[:, 0]) * A[:, 1] + A[:, 2] ** 2
    X, _ = d.sample(5, seed=1)
    n = 4000
    phi, base = xb.shapley_values(f, d, X, n_sample=n, return_base=True)
    assert np.allclose(phi.sum(1), f(X) - base, atol=1e-10)                 # efficiency, exactly
    # E f = E[sin(x0) x1] + E[x2^2] = rho E[cos x0] + 1 = 0.5 exp(-1/2) + 1 (Stein's lemma);
    # Var f <= 2 (Var(sin(x0) x1) + Var(x2^2)) <= 2 (1 + 2): sd of the mean of n draws <= sqrt(6 / n); 6 sd
    assert np.all(np.abs(base - (0.5 * np.exp(-0.5) + 1)) < 6 * np.sqrt(6 / n))
    assert np.allclose(xb.shapley_mse(phi, phi + 1), 1) and np.allclose(xb.shapley_corr(phi, 3 * phi), 1)


# ---------------------------------------------------------------- ROAR
def test_roar_linear_regression():
    from sklearn.linear_model import LinearRegression
    d = xb.GaussianBenchmark("linear", dim=5, rho=0.5, task="regression", seed=0)
    (Xtr, ytr), (Xte, yte) = d.sample(300, seed=1), d.sample(150, seed=2)
    good = lambda X: d.weights * X
    rg = xb.roar(LinearRegression, d, Xtr, ytr, Xte, yte, good(Xtr), good(Xte))
    worst = lambda X: 1 / (1e-9 + np.abs(good(X)))    # ranks the least important first
    rb = xb.roar(LinearRegression, d, Xtr, ytr, Xte, yte, worst(Xtr), worst(Xte))
    assert list(rg.n_removed) == [0, 0, 1, 2, 3, 4] and rg.fractions == xb.ROAR_FRACTIONS
    # nothing removed: the model sees clean data, loss = its test MAE; trapezoid area from the losses
    assert rg.losses[0] == rg.losses[1] == rb.losses[0] and rg.losses[0] < 0.05
    fr = np.array(xb.ROAR_FRACTIONS)
    assert np.isclose(rg.score, np.sum(np.diff(fr) * (rg.losses[1:] + rg.losses[:-1]) / 2))
    assert rg.score > rb.score + 0.1   # measured 0.35 vs 0.14
    assert xb.roar(LinearRegression, d, Xtr, ytr, Xte, yte, good(Xtr), good(Xte)).score == rg.score   # seeded


# ---------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("kw, name", [
    (dict(kind="quadratic"), "kind"), (dict(task="multiclass"), "task"), (dict(rho=1.0), "rho"),
    (dict(rho=-0.3), "rho"), (dict(weights=[1, 2]), "weights"), (dict(dim=1), "dim"), (dict(mean=[0, 0]), "mean"),
    (dict(noise=-1), "noise")])
def test_bad_benchmark_arguments(kw, name):
    args = dict(kind="linear", dim=5, rho=0.5)
    args.update(kw)
    with pytest.raises(ValueError, match=name):
        xb.GaussianBenchmark(args.pop("kind"), **args)


def test_bad_metric_inputs_raise_before_predict():
    d = bench3(0.5)
    X = np.zeros((4, 3))
    with pytest.raises(ValueError, match="attributions"): xb.faithfulness(never, d, X, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="n_sample"): xb.faithfulness(never, d, X, X, n_sample=0)
    with pytest.raises(ValueError, match="X"): xb.monotonicity(never, d, np.zeros((4, 5)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="n_sample"): xb.monotonicity(never, d, X, X, n_sample=2.5)
    with pytest.raises(ValueError, match="attributions"): xb.infidelity(never, X, X[:2])
    with pytest.raises(ValueError, match="n_reps"): xb.infidelity(never, X, X, n_reps=-1)
    with pytest.raises(ValueError, match="X"): xb.infidelity(never, np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="X"): xb.shapley_values(never, d, np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="predict"): xb.faithfulness(lambda A: np.zeros((len(A), 2)), d, X, X)
    with pytest.raises(ValueError, match="mask"): d.conditional_sample(X[0], [1, 0], n=2)
    with pytest.raises(ValueError, match="mask"): d.conditional_mean(X[0], [1, 0, 2])
    with pytest.raises(ValueError, match="mask"): d.conditional_sample(X, np.ones((3, 3)), n=2)
    with pytest.raises(ValueError, match="x"): d.conditional_mean(np.zeros((2, 2, 3)), [1, 0, 0])
    with pytest.raises(ValueError, match="n"): d.conditional_sample(X[0], [1, 0, 0], n=0)
    y = np.zeros(4)
    with pytest.raises(ValueError, match="y_test"): xb.roar(never, d, X, y, X, y[:3], X, X)
    with pytest.raises(ValueError, match="attributions_train"): xb.roar(never, d, X, y, X, y, X[:, :2], X)
    with pytest.raises(ValueError, match="fractions"): xb.roar(never, d, X, y, X, y, X, X, fractions=(0.5, 0.1))


def test_kernel_shap_linear_matches_interventional_shapley():
    pytest.importorskip("shap")
    d = xb.GaussianBenchmark("linear", dim=4, rho=0.0, weights=[1, -2, 0.5, 0])
    X, _ = d.sample(3, seed=1)
    bg, _ = d.sample(40, seed=9)                     # kernel_shap draws its background with sample(n, seed)
    f = lambda A: A @ d.weights
    assert np.allclose(xb.kernel_shap(f, d, X, n_background=40, seed=9), d.weights * (X - bg.mean(0)), atol=1e-8)


# ---------------------------------------------------------------- the Keras helpers
def test_keras_mlp_helpers():
    d = xb.GaussianBenchmark("nonlinear_additive", dim=4, rho=0.5, task="binary")
    assert xb.mlp(4, "binary").output_shape == (None, 2) and xb.mlp(4, "regression").output_shape == (None, 1)
    m1 = xb.train_mlp(d, n_train=64, epochs=2, seed=3)
    m2 = xb.train_mlp(d, n_train=64, epochs=2, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(m1.get_weights(), m2.get_weights()))   # deterministic
    X, y = d.sample(10, seed=0)
    p = xb.predict_fn(m1, "binary")(X)
    assert p.shape == (10,) and p.dtype == np.float64 and np.all((p >= 0) & (p <= 1))
    k = xb.KerasMLP(4, "binary", epochs=1).fit(X, y)
    assert set(np.unique(k.predict(X))) <= {0, 1} and np.allclose(k.predict_proba(X).sum(1), 1)
    with pytest.raises(ValueError, match="task"): xb.mlp(4, "ranking")
