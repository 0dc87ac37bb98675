"""Tests of ig2.division, ig2.regions and ig2.evidential: divisions are partitions, greedy maximisation, Chen et al.'s score,
the evidential network, bad input, the tutorial."""
import itertools, json, os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
from scipy.integrate import trapezoid
import pytest
import keras

from ig2.division import (DIVISIONS, check_partition, divide, felzenszwalb_regions, labels_to_masks, partition_from_masks,
                          saliency_patch_regions, seeds_regions, slico_regions)
from ig2.regions import (SubmodularRegions, blurred_canvas, evidential_confidence, greedy_maximize, order_curves,
                         rank_regions)

ROOT = Path(__file__).resolve().parents[1]
ODD_SHAPES = [(31, 17, 3), (45, 33, 1), (63, 65, 3), (9, 11, 3)]


def random_image(shape, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.random(shape).astype(np.float32)
    img[: shape[0] // 2, : shape[1] // 3] *= 0.3   # some structure for the superpixels to find
    return img


def assert_partition(masks, shape):
    m = np.stack(masks)
    assert m.dtype == bool and m.shape[1:] == shape[:2]
    assert (m.sum(0) == 1).all(), "every pixel in exactly one region"
    assert m.any(axis=(1, 2)).all(), "no empty region"


# ---------------------------------------------------------------------------------------------- divisions
@pytest.mark.parametrize("shape", ODD_SHAPES)
@pytest.mark.parametrize("method", DIVISIONS)
def test_every_division_is_a_partition(method, shape):
    img = random_image(shape)
    kw = {"patch": 3} if method in ("grid", "saliency_patch") else {"n_regions": 12}
    if method == "saliency_patch": kw["n_regions"] = 7
    masks = divide(img, method, saliency=np.random.default_rng(1).normal(size=shape), **kw)
    assert_partition(masks, shape)
    assert len(masks) > 1


@pytest.mark.parametrize("shape", ODD_SHAPES)
def test_segmenter_masks_become_a_partition(shape):
    rng = np.random.default_rng(2)
    h, w = shape[:2]
    masks = []
    for _ in range(6):   # random overlapping rectangles that leave gaps
        r0, c0 = rng.integers(0, h - 2), rng.integers(0, w - 2)
        m = np.zeros((h, w), bool); m[r0:r0 + rng.integers(2, h), c0:c0 + rng.integers(2, w)] = True
        masks.append({"segmentation": m} if len(masks) % 2 else m)
    for split in (True, False):
        parts = partition_from_masks(masks, shape, split_remainder=split)
        assert_partition(parts, shape)
    # the smallest mask wins where masks overlap: every input mask's pixels belong to regions no bigger than it
    parts = np.stack(partition_from_masks(masks, shape))
    region_of = np.argmax(parts, 0); sizes = parts.sum((1, 2))
    for m in masks:
        m = m["segmentation"] if isinstance(m, dict) else m
        assert (sizes[region_of[m]] <= m.sum()).all()


def test_partition_from_overlapping_masks_exact():
    "Nested and crossing masks on a 4x6 image: the smallest covering mask wins, each uncovered blob is a region."
    big = np.zeros((4, 6), bool); big[:, :4] = True                 # 16 pixels
    mid = np.zeros((4, 6), bool); mid[1:3, 1:6] = True              # 10 pixels, crosses big's right edge
    small = np.zeros((4, 6), bool); small[1:3, 2:3] = True          # 2 pixels, inside both
    parts = np.stack(partition_from_masks([big, {"segmentation": mid}, small], (4, 6)))
    label = np.argmax(parts, 0)
    assert_partition(list(parts), (4, 6))
    expected = np.array([[0, 0, 0, 0, 3, 3],      # 0: big minus mid, 1: mid minus small, 2: small,
                         [0, 1, 2, 1, 1, 1],      # 3 and 4: the two uncovered blobs (4-connected)
                         [0, 1, 2, 1, 1, 1],
                         [0, 0, 0, 0, 4, 4]])
    # region numbering is an implementation detail: compare the induced partitions
    same = lambda a, b: all(len(np.unique(b[a == v])) == 1 for v in np.unique(a)) and len(np.unique(a)) == len(np.unique(b))
    assert same(label, expected), label
    assert len(partition_from_masks([big, mid, small], (4, 6), split_remainder=False)) == 4
    assert len(partition_from_masks([big, mid, small], (4, 6), min_area=3)) == 4   # small (2 px) falls back to mid


@pytest.mark.parametrize("shape", [(64, 64, 3), (31, 17, 3), (45, 33, 1)])
def test_felzenszwalb_division(shape):
    img = random_image(shape, seed=3)
    masks = felzenszwalb_regions(img, n_regions=20)
    assert_partition(masks, shape)
    assert 2 <= len(masks) <= 4 * 20
    with pytest.raises(ValueError, match="scales"): felzenszwalb_regions(img, scales=())
    with pytest.raises(ValueError, match="n_regions"): felzenszwalb_regions(img, n_regions=0)


def test_saliency_patch_ranks_cells():
    sal = np.zeros((15, 21)); sal[9:12, 15:18] = 5.0   # one hot cell of 3x3 patches
    regions = saliency_patch_regions(sal, patch=3, n_regions=5)
    assert regions[0][10, 16] and regions[0].sum() >= 9
    ranked = rank_regions(sal, regions)
    assert ranked[0] == 0


def test_seeds_never_crashes_on_small_or_elongated_images():
    # OpenCV's SEEDS segfaults when its block grid degenerates; seeds_regions refuses such requests instead
    for shape in [(7, 9, 3), (12, 40, 3), (40, 12, 1)]:
        try: assert_partition(seeds_regions(random_image(shape), n_regions=80), shape)
        except ValueError as e: assert "too small" in str(e)
    with pytest.raises(ValueError, match="too small"): seeds_regions(np.zeros((5, 200, 3)), n_regions=50)


# ---------------------------------------------------------------------------------------------- greedy
def test_greedy_on_modular_function_finds_the_k_heaviest():
    rng = np.random.default_rng(0)
    for _ in range(20):
        w = rng.random(9)
        k = int(rng.integers(1, 9))
        res = greedy_maximize(lambda S, c: w[S].sum() + w[c], len(w), k)
        assert set(res.order) == set(np.argsort(-w)[:k])
        assert np.isclose(res.values[-1], np.sort(w)[-k:].sum())
        assert np.all(np.diff(res.values) >= 0)


@pytest.mark.parametrize("seed", range(10))
def test_greedy_equals_exhaustive_search_on_six_regions_for_a_modular_score(seed):
    "A modular score (sum of per-region values, some negative): the greedy set of each size is the exhaustive best."
    w = np.random.default_rng(seed).normal(size=6)
    res = greedy_maximize(lambda S, c: w[S].sum() + w[c], 6)
    for k in range(1, 7):
        best = max(itertools.combinations(range(6), k), key=lambda S: w[list(S)].sum())
        assert set(res.order[:k].tolist()) == set(best)
        assert np.isclose(res.values[k - 1], w[list(best)].sum())


def coverage_instance(seed, n_sets=7, n_elems=10):
    rng = np.random.default_rng(seed)
    weights = rng.random(n_elems) + 0.1
    sets = [set(rng.choice(n_elems, size=rng.integers(1, 5), replace=False).tolist()) for _ in range(n_sets)]
    value = lambda S: weights[sorted(set().union(*[sets[i] for i in S]))].sum() if len(S) else 0.0
    return value, n_sets


@pytest.mark.parametrize("seed", range(10))
def test_greedy_on_coverage_is_monotone_with_diminishing_gains_and_near_optimal(seed):
    value, n = coverage_instance(seed)
    batched = lambda S, cands: np.array([value(S + [c]) for c in cands])
    for k in (2, 3, 4):
        res = greedy_maximize(batched, n, k)
        best = max(value(list(S)) for S in itertools.combinations(range(n), k))
        assert np.all(np.diff(res.values) >= -1e-12)          # monotone function: values never fall
        assert np.all(np.diff(res.gains) <= 1e-12)             # submodular: gains never rise
        assert res.values[-1] >= (1 - 1 / np.e) * best - 1e-12  # Nemhauser-Wolsey-Fisher bound


def test_greedy_known_optimum_on_disjoint_coverage():
    # disjoint sets: coverage is modular, so greedy is exactly optimal
    sizes = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    res = greedy_maximize(lambda S, c: sizes[S].sum() + sizes[c], len(sizes), 3)
    assert sorted(res.order.tolist()) == sorted(np.argsort(-sizes)[:3].tolist())


def test_greedy_bad_input():
    with pytest.raises(ValueError, match="k"): greedy_maximize(lambda S, c: np.zeros(len(c)), 3, 5)
    with pytest.raises(ValueError, match="n_items"): greedy_maximize(lambda S, c: np.zeros(len(c)), 0)
    with pytest.raises(ValueError, match="one per candidate"): greedy_maximize(lambda S, c: np.zeros(1), 3)


# ---------------------------------------------------------------------------------------------- Chen's score
@pytest.fixture(scope="module")
def toy():
    keras.utils.set_random_seed(0)
    L = keras.layers
    model = keras.Sequential([keras.Input((13, 15, 3)), L.Conv2D(6, 3, activation="relu"), L.MaxPooling2D(),
                              L.Flatten(), L.Dense(8, activation="relu", name="features"), L.Dense(4, name="logits")])
    img = random_image((13, 15, 3), seed=5)
    return model, img, labels_to_masks((np.arange(13)[:, None] // 4) * 4 + np.arange(15)[None] // 4)


# The brute force works in float64; the float32 representations of one image agree to ~1e-6 relative between a
# batched and a one-image call (kernels differ across CPUs), so cosines agree to ~2e-6 (COSINE_ERROR). A cosine
# error dc moves arccos(c) / pi by at most min(dc / sqrt(1 - c^2), sqrt(2 dc)) / pi: large for near-parallel
# regions (a float32 dot product there failed an atol of 2e-4 on an AVX-512 CPU). The other terms get ATOL.
COSINE_ERROR, ATOL = 2e-6, 2e-4


def angle_error(c):
    "The most `arccos(c) / pi` can move when the cosine `c` is off by COSINE_ERROR."
    return min(COSINE_ERROR / np.sqrt(max(1 - c * c, 1e-300)), np.sqrt(2 * COSINE_ERROR)) / np.pi


def brute_force_score(model, img, base, masks, S, t, lambdas=(1, 1, 1, 1)):
    """Chen et al.'s F(S), written out directly: one image at a time, nothing incremental; with the tolerance a
    comparison needs (ATOL plus the effectiveness term's conditioning, see `angle_error`)."""
    keep = masks[S].any(0)[..., None]
    softmax = lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    p_keep = softmax(model(np.where(keep, img, base)[None]).numpy()[0].astype(np.float64))
    p_drop = softmax(model(np.where(keep, base, img)[None]).numpy()[0].astype(np.float64))
    conf = 1 + (p_keep * np.log(np.maximum(p_keep, 1e-12))).sum() / np.log(len(p_keep))
    feats = keras.Model(model.inputs[0], model.get_layer("features").output)
    reps = np.stack([feats(np.where(masks[i][..., None], img, base)[None]).numpy()[0] for i in S]).astype(np.float64)
    reps = reps / np.maximum(np.linalg.norm(reps, axis=1, keepdims=True), 1e-12)  # a zero vector: orthogonal to all
    eff, eff_error = 0.0, 0.0
    if len(S) > 1:
        for a in range(len(S)):
            cos = [np.clip(reps[a] @ reps[b], -1, 1) for b in range(len(S)) if b != a]
            eff += min(np.arccos(c) / np.pi for c in cos)
            eff_error += angle_error(max(cos))  # the nearest region: the smallest angle, the worst conditioned
    score = lambdas[0] * conf + lambdas[1] * eff + lambdas[2] * p_keep[t] + lambdas[3] * (1 - p_drop[t])
    return score, ATOL + abs(lambdas[1]) * eff_error


@pytest.mark.parametrize("lambdas", [(1, 1, 1, 1), (0.5, 2.0, 1.0, 0.0)])
def test_recorded_values_match_brute_force(toy, lambdas):
    model, img, masks = toy
    smr = SubmodularRegions(model, lambdas=lambdas, baseline=blurred_canvas(2.0))
    res = smr.select(img, masks, target=1)
    base = blurred_canvas(2.0)(img)
    m = np.stack(masks)
    for i in range(len(res.order)):
        expected, tol = brute_force_score(model, img, base, m, list(res.order[:i + 1]), 1, lambdas)
        assert abs(res.values[i] - expected) <= tol, (i, res.values[i], expected, tol)


def test_each_step_picks_the_best_candidate(toy):
    model, img, masks = toy
    smr = SubmodularRegions(model)
    res = smr.select(img, masks, target=2, k=3)
    m = np.stack(masks)
    base = np.zeros_like(img)
    for i in range(3):
        chosen = list(res.order[:i])
        scores = {c: brute_force_score(model, img, base, m, chosen + [c], 2) for c in range(len(m)) if c not in chosen}
        best, tol = max(scores.values())
        assert abs(best - res.values[i]) <= tol, (i, best, res.values[i], tol)


def test_batch_size_does_not_change_the_result(toy):
    model, img, masks = toy
    a = SubmodularRegions(model).select(img, masks, target=0)
    b = SubmodularRegions(model, batch_size=3).select(img, masks, target=0)
    # chunking changes float summation order, which may swap near-tied candidates, but not the values reached
    np.testing.assert_allclose(a.values, b.values, atol=1e-5)
    assert (a.order == b.order).mean() > 0.5


def test_curves_and_summary(toy):
    model, img, masks = toy
    smr = SubmodularRegions(model, baseline=blurred_canvas(3.0))
    res = smr.select(img, masks)
    p = smr.probabilities(np.stack([img, smr.baseline_for(img)]))
    t = res.target
    assert t == int(p[0].argmax())
    assert np.isclose(res.original_score, p[0, t], atol=1e-6)
    assert np.isclose(res.insertion[0], p[1, t], atol=1e-5) and np.isclose(res.insertion[-1], p[0, t], atol=1e-5)
    assert np.isclose(res.deletion[0], p[0, t], atol=1e-5) and np.isclose(res.deletion[-1], p[1, t], atol=1e-5)
    assert np.isclose(res.highest_score, res.insertion.max()) and res.highest_score >= res.original_score
    assert np.isclose(res.fractions[-1], 1.0) and np.all(np.diff(res.fractions) > 0)
    assert np.isclose(res.insertion_auc, trapezoid(res.insertion, res.fractions))
    again = order_curves(smr, img, masks, res.order, t)
    np.testing.assert_allclose(again["insertion"], res.insertion, atol=1e-5)
    np.testing.assert_allclose(again["deletion"], res.deletion, atol=1e-5)
    ranking = res.ranking()
    assert ranking.max() == 1.0 and ranking[np.stack(masks)[res.order[-1]]].min() == pytest.approx(1 / len(masks))


def test_evidential_model_as_confidence(toy):
    "A Keras model passed as confidence= is read as Dirichlet evidence: the classifier itself = 'evidential'."
    model, img, masks = toy
    a = SubmodularRegions(model, confidence=model).select(img, masks, target=1, k=4)
    b = SubmodularRegions(model, confidence="evidential").select(img, masks, target=1, k=4)
    np.testing.assert_allclose(a.values, b.values, atol=1e-5)
    np.testing.assert_allclose(a.components["confidence"], b.components["confidence"], atol=1e-6)
    # another network changes only the confidence term: consistency of the same sets is unchanged
    keras.utils.set_random_seed(1)
    other = keras.Sequential([keras.Input((13, 15, 3)), keras.layers.Flatten(), keras.layers.Dense(4)])
    c = SubmodularRegions(model, confidence=other, lambdas=(0, 0, 1, 0)).select(img, masks, target=1, k=4)
    d = SubmodularRegions(model, lambdas=(0, 0, 1, 0)).select(img, masks, target=1, k=4)
    assert (c.order == d.order).all()
    with pytest.raises(ValueError, match="edl_model"): evidential_confidence(None)


def test_explain_returns_ranking_maps(toy):
    model, img, _ = toy
    maps = SubmodularRegions(model).explain(np.stack([img, img[::-1].copy()]), division="grid", patch=5)
    assert maps.shape == (2, 13, 15, 3) and maps.max() == 1.0


# ---------------------------------------------------------------------------------------------- bad input
def test_bad_partitions_and_methods(toy):
    model, img, masks = toy
    smr = SubmodularRegions(model)
    with pytest.raises(ValueError, match="overlap"): smr.select(img, masks + [masks[0]])
    with pytest.raises(ValueError, match="in no mask"): smr.select(img, masks[1:])
    with pytest.raises(ValueError, match="do not match"): smr.select(img, [m[:, :-1] for m in masks])
    with pytest.raises(ValueError, match="do not match"): check_partition(masks, (13, 14))
    with pytest.raises(ValueError, match="empty"): check_partition(masks + [np.zeros((13, 15), bool)])
    with pytest.raises(ValueError, match="expected one of"): smr.select(img, division="watershed")
    with pytest.raises(ValueError, match="expected one of"): divide(img, "sam")
    with pytest.raises(ValueError, match="expected one of"): smr.explain(img[None], division="sam")
    with pytest.raises(ValueError, match="references"): smr.select(img, division="saliency_patch")
    with pytest.raises(ValueError, match="needs a prior"): divide(img, "saliency_patch")
    with pytest.raises(ValueError, match="does not match"): divide(img, "saliency_patch", saliency=np.ones((5, 5)))
    with pytest.raises(ValueError, match="image"): smr.select(img[:, :, 0], masks)
    with pytest.raises(ValueError, match="image"): slico_regions(np.zeros((5,)))
    with pytest.raises(ValueError, match="at most"): smr.select(img, masks, k=len(masks) + 1)
    with pytest.raises(ValueError, match="lambdas"): SubmodularRegions(model, lambdas=(1, -1, 1, 1))
    with pytest.raises(ValueError, match="confidence"): SubmodularRegions(model, confidence=3)
    with pytest.raises(ValueError, match="baseline"): SubmodularRegions(model, baseline=np.zeros((2, 2))).select(img, masks)
    with pytest.raises(ValueError, match="sigma"): blurred_canvas(0)
    with pytest.raises(ValueError, match="distinct"): order_curves(smr, img, masks, [0, 0])
    with pytest.raises(ValueError, match="at most"): saliency_patch_regions(np.ones((6, 6)), patch=3, n_regions=5)


# ---------------------------------------------------------------------------------------------- the tutorial
TUTORIAL = ROOT / "tutorial-submodular-cub.ipynb"


def test_tutorial_structure():
    "The tutorial runs every cell offline: the real-CUB / SAM cells check for their files instead of being skipped."
    cells = json.loads(TUTORIAL.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert not any(c.startswith("#| eval: false") for c in code)      # Jupyter's Run All ignores that flag
    cub = [c for c in code if "cub_model" in c or "sam_masks" in c]
    assert cub and all(("if not have_cub" in c or "if have_cub" in c or "have_sam" in c) for c in cub)
    assert cells[0]["cell_type"] == "markdown"                      # prose first
    assert any('os.environ.get("IG2_TUTORIAL_SCENES", 6 if os.environ.get("IN_TEST") else 30)' in c for c in code)
    assert any("assert" in c and "highest_score" in c for c in code)  # the table is checked when it runs
    for part in ("felzenszwalb_regions", "load_scenes_edl", "load_scenes_masked_cnn", "baseline=0.0", "GuidedIG", "BlurIG"):
        assert any(part in c for c in code), part


@pytest.mark.tutorial  # a few minutes: run by .ci/run, not by the fast suite
def test_tutorial_produces_the_table():
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(TUTORIAL, as_version=4)
    os.environ.setdefault("IG2_TUTORIAL_SCENES", "6")
    NotebookClient(nb, timeout=1200, resources={"metadata": {"path": str(ROOT)}}).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    start = text.index("| division |")
    rows = [l for l in text[start:].splitlines()[2:6]]
    names = [r.split("|")[1].strip() for r in rows]
    assert names == ["SLICO", "SEEDS", "prior saliency (IG²) + patch", "Felzenszwalb (SAM stand-in)"], names
    for r in rows:
        original, highest, ins, dele = (float(v.split("[")[0]) for v in r.split("|")[2:6])
        assert 0 < original <= highest <= 1 and 0 < ins < 1 and 0 <= dele < 1


def test_tutorial_is_committed_executed_with_figures():
    "The committed tutorial ran over the full 30 scenes, shows its figures, stays small and carries no TensorFlow log lines."
    cells = json.loads(TUTORIAL.read_text())["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c["outputs"]]
    text = "\n".join("".join(o.get("text", "")) for o in outputs)
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 4
    assert "with N_SCENES = 30" in text and "| division |" in text and "| prior |" in text
    assert TUTORIAL.stat().st_size < 2_000_000
    for noise in ("I0000", "E0000", "WARNING: All log messages"): assert noise not in text, noise


def test_tutorial_updates_the_tracked_table_only_on_a_full_run():
    "results/ always; benchmarks/results/regions.md (the README's copy) only with IG2_UPDATE_DOCS=1 and 30 scenes."
    code = ["".join(c["source"]) for c in json.loads(TUTORIAL.read_text())["cells"] if c["cell_type"] == "code"]
    writer = [c for c in code if "benchmarks/results/regions.md" in c]
    assert len(writer) == 1 and 'Path("results/regions.md")' in writer[0]
    assert 'os.environ.get("IG2_UPDATE_DOCS") == "1" and len(xs) == 30' in writer[0]
    readme = (ROOT / "README.md").read_text()
    for name in ("regions.md", "regions_speed.md"):
        assert f"<!-- include: benchmarks/results/{name} -->" in readme and (ROOT / "benchmarks/results" / name).exists()


def test_scale_notebook_runs_without_imagenet_files():
    "nbs/40_scale: the ImageNet cells check for their files (Run All safe) instead of being marked eval: false."
    cells = json.loads((ROOT / "nbs/40_scale.ipynb").read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert not any("eval: false" in c for c in code)
    imagenet = [c for c in code if 'weights=str(WEIGHTS)' in c or "MobileNet(" in c]
    assert len(imagenet) == 2 and all("have_imagenet" in c for c in imagenet)


def test_bench_regions_writes_results_not_the_tracked_copy(tmp_path, monkeypatch):
    "benchmarks/bench_regions.py writes --out/regions_speed.md; the tracked copy only with --update-docs."
    import importlib.util
    monkeypatch.delenv("IG2_UPDATE_DOCS", raising=False)
    spec = importlib.util.spec_from_file_location("bench_regions", ROOT / "benchmarks/bench_regions.py")
    bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)
    tracked = ROOT / "benchmarks/results/regions_speed.md"
    before = tracked.read_bytes() if tracked.exists() else None
    (m, images, batched, loop), = bench.main(["--regions", "4", "--images", "1", "--out", str(tmp_path)])
    assert (m, images) == (4, 20) and batched > 0 and loop > 0
    assert "| 4 | 20 |" in (tmp_path / "regions_speed.md").read_text()
    assert (tracked.read_bytes() if tracked.exists() else None) == before
    with pytest.raises(SystemExit): bench.main(["--regions", "0"])


def test_pixel_ordering_curves_match_ig2_metrics(toy):
    "A pixel ordering as a partition (patch=1 runs) gives the same curves as ig2.curves' insertion/deletion."
    from ig2 import curves
    model, img, _ = toy
    smr = SubmodularRegions(model, baseline=blurred_canvas(2.0))
    attr = np.random.default_rng(3).normal(size=img.shape).astype(np.float32)
    runs = saliency_patch_regions(attr, patch=1, n_regions=15)      # 195 pixels in 15 runs of 13
    mine = order_curves(smr, img, runs, np.arange(15), target=1)
    base = smr.baseline_for(img)[None]
    ins = curves.insertion(model, img[None], [1], attr[None], steps=15, baseline=base)
    dele = curves.deletion(model, img[None], [1], attr[None], steps=15, baseline=base)
    np.testing.assert_allclose(ins.fractions, mine["fractions"], atol=1e-6)
    np.testing.assert_allclose(ins.curve[0], mine["insertion"], atol=1e-5)
    np.testing.assert_allclose(dele.curve[0], mine["deletion"], atol=1e-5)
    assert np.isclose(ins.auc[0], mine["insertion_auc"], atol=1e-5)


# ---------------------------------------------------------------------------------------------- ig2.evidential
def test_edl_uncertainty_is_higher_out_of_distribution():
    "The shipped evidential network: u = K / sum(alpha) is higher on noise and blank canvases than on test scenes."
    from ig2.data import load_scenes
    from ig2.evidential import dirichlet_uncertainty, load_scenes_edl
    _, (x_te, y_te, _) = load_scenes()
    edl = load_scenes_edl()
    u = lambda x: dirichlet_uncertainty(edl.predict(x, verbose=0)).numpy()
    u_test = u(x_te)
    rng = np.random.default_rng(2024)   # not the seed of the training outliers
    ood = {"uniform noise": rng.random((100, 64, 64, 3)).astype(np.float32),
           "gaussian noise": np.clip(rng.normal(0.5, 0.25, (100, 64, 64, 3)), 0, 1).astype(np.float32),
           "black": np.zeros((1, 64, 64, 3), np.float32), "white": np.ones((1, 64, 64, 3), np.float32),
           "grey": np.full((1, 64, 64, 3), 0.5, np.float32)}
    for name, x in ood.items():
        assert np.median(u(x)) > np.median(u_test), (name, np.median(u(x)), np.median(u_test))
    # and the evidence it has is mostly right: it is a classifier too
    assert (edl.predict(x_te, verbose=0).argmax(1) == y_te).mean() > 0.8


def test_edl_loss_prefers_right_confident_evidence():
    import tensorflow as tf
    from ig2.evidential import edl_loss, dirichlet_uncertainty
    y = np.array([2, 0])
    right = np.full((2, 4), -10.0); right[0, 2] = right[1, 0] = 6.0
    wrong = np.full((2, 4), -10.0); wrong[0, 1] = wrong[1, 3] = 6.0
    none = np.full((2, 4), -10.0)
    l = lambda z, w=1.0: edl_loss(y, tf.constant(z, tf.float32), w).numpy()
    assert (l(right) < l(none)).all() and (l(none) < l(wrong)).all()   # no evidence beats wrong evidence
    assert (l(wrong, 1.0) > l(wrong, 0.0)).all()                       # the KL term penalises wrong evidence
    np.testing.assert_allclose(dirichlet_uncertainty(none).numpy(), 4 / (4 + 4 * np.exp(-10)), rtol=1e-6)


def test_region_dropout_bad_input_and_blackening():
    from ig2.evidential import region_dropout, masked_training_set
    x = np.stack([random_image((24, 24, 3), seed=i) for i in range(8)])
    xm, keep = region_dropout(x, seed=0, superpixel_share=0.5)
    assert np.all(xm[~keep] == 0) and np.allclose(xm[keep], x[keep])
    with pytest.raises(ValueError, match="keep"): region_dropout(x, keep=(0.9, 0.1))
    with pytest.raises(ValueError, match="superpixel_share"): region_dropout(x, superpixel_share=2)
    with pytest.raises(ValueError, match="copies"): masked_training_set(x, np.zeros(8), copies=1.5)


def test_explainers_on_one_model_share_their_compiled_score(toy):
    "A second SubmodularRegions on the same model and confidence reuses the traced function (no retracing per call)."
    model = toy[0]
    a, b = SubmodularRegions(model), SubmodularRegions(model)
    assert a._set_scores is b._set_scores
    assert SubmodularRegions(model, confidence=lambda images, logits: images[:, 0, 0, 0])._set_scores is not a._set_scores
