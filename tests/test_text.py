"Tests of ig2.text: embedding-space attribution of Keras text classifiers."
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import pytest
import tensorflow as tf
import keras
from ig2.text import EmbeddingAdapter, TextExplainer, deciding_hits, deciding_chance
from ig2.questions import load_questions, load_question_cnn, other_class_sentences
from ig2.ig2 import IG2
from ig2.ig import IntegratedGradients
from ig2.gradients import VanillaGradient
from ig2.speed import naive_ig2


@pytest.fixture(scope="module")
def q(): return load_questions()


@pytest.fixture(scope="module")
def cnn(): return load_question_cnn()


@pytest.fixture(scope="module")
def adapter(cnn): return EmbeddingAdapter(cnn)


def tiny_bag_of_words(vocab_size=30, length=7, seed=0):
    "An untrained Sequential classifier with a user-named embedding layer (no Conv1D)."
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((length,), dtype="int32"), keras.layers.Embedding(vocab_size, 5, name="words"),
                             keras.layers.Flatten(), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(3)])


def test_adapter_scores_equal_the_model_on_ids(q, cnn, adapter):
    ids = q.x_test[:32]
    np.testing.assert_allclose(adapter.scores(adapter.embed(ids)), cnn.predict(ids, verbose=0), atol=1e-5)
    bow = tiny_bag_of_words()
    a = EmbeddingAdapter(bow, embedding_layer="words")
    ids = np.random.default_rng(0).integers(0, 30, (5, 7))
    assert a.input_shape == (7, 5) and a.n_classes == 3
    np.testing.assert_allclose(a.scores(a.embed(ids)), bow.predict(ids, verbose=0), atol=1e-5)


class BagOfWords(keras.Model):
    "A subclassed model: no `model.inputs`, so the adapter needs `length`."
    def __init__(self):
        super().__init__()
        self.emb, self.flat, self.head = keras.layers.Embedding(20, 4), keras.layers.Flatten(), keras.layers.Dense(3)
    def call(self, ids): return self.head(self.flat(self.emb(ids)))


def test_subclassed_model_with_length():
    model = BagOfWords()
    model(np.zeros((1, 6), "int32"))
    with pytest.raises(ValueError, match="length"): EmbeddingAdapter(model)
    a = EmbeddingAdapter(model, length=6)
    ids = np.random.default_rng(1).integers(0, 20, (4, 6))
    np.testing.assert_allclose(a.scores(a.embed(ids)), model(ids).numpy(), atol=1e-6)
    # a linear model: IG from the zero embedding is exact, token score = logit contribution of the token
    res = TextExplainer(IntegratedGradients(a, baseline=np.zeros((6, 4), np.float32), steps=3), pad_id=None).explain(ids, [0] * 4)
    w = model.head.kernel.numpy()[:, 0].reshape(6, 4)
    np.testing.assert_allclose(res.token_scores, (a.embed(ids) * w).sum(-1), rtol=1e-4, atol=1e-6)


def test_top_tokens_rank_padding_last():
    from ig2.text import TextAttribution
    scores = np.array([[-1.0, -2.0, 0.0, 0.0]])
    res = TextAttribution(ids=np.array([[5, 6, 0, 0]]), targets=np.array([0]), token_scores=scores,
                          attribution=scores[..., None], padding_share=np.zeros(1), padding=np.array([[0, 0, 1, 1]], bool))
    np.testing.assert_array_equal(res.top_tokens(2), [[0, 1]])


def test_completeness_in_embedding_space(q, adapter):
    x = adapter.embed(q.x_test[:3])
    ig2 = IG2(adapter, steps=201, clip=adapter.embedding_range())
    for i in range(3):
        refs = other_class_sentences(q.x_train, q.y_train, n=4)(q.x_test[i], int(q.y_test[i]))
        res = ig2.explain_path(x[i], adapter.embed(refs), target=int(q.y_test[i]), keep_path=False)
        change = res.scores[0] - res.scores[-1]
        assert np.all(change > 1)  # the paths really lower the target logit
        assert np.abs(res.completeness_gap / change).max() < 0.05
    ig = IntegratedGradients(adapter, baseline=np.zeros(adapter.input_shape, np.float32), steps=64,
                             rule="gausslegendre")
    attr, gap = ig.explain_with_delta(x, q.y_test[:3])
    fx = adapter.scores(x)[np.arange(3), q.y_test[:3]]
    f0 = adapter.scores(np.zeros((1, *adapter.input_shape), np.float32))[0, q.y_test[:3]]
    assert np.abs(gap / (fx - f0)).max() < 0.01


def test_token_scores_sum_dimensions_and_keep_the_total(q, adapter):
    ig = IntegratedGradients(adapter, baseline=np.zeros(adapter.input_shape, np.float32), steps=16)
    text = TextExplainer(ig)
    res = text.explain(q.x_test[:5], q.y_test[:5])
    raw = ig.explain(adapter.embed(q.x_test[:5]), q.y_test[:5])
    np.testing.assert_allclose(res.token_scores, res.attribution.sum(-1), rtol=1e-6)
    np.testing.assert_allclose(res.token_scores.sum(1) + res.padding_share, raw.sum((1, 2)), rtol=1e-4, atol=1e-4)
    real = q.x_test[:5] != 0
    np.testing.assert_array_equal(res.attribution[real], raw[real])


def test_padding_gets_exactly_zero(q, adapter):
    ids = q.x_test[:6]
    pad = ids == 0
    assert pad.any()
    lo_hi = adapter.embedding_range()
    explainers = {
        "ig2": (IG2(adapter, steps=31, clip=lo_hi), dict(references=q.x_train[:4])),
        "ig zero": (IntegratedGradients(adapter, baseline=np.zeros(adapter.input_shape, np.float32), steps=16), {}),
    }
    for name, (explainer, kw) in explainers.items():
        res = TextExplainer(explainer).explain(ids, **kw)
        assert np.all(res.attribution[pad] == 0) and np.all(res.token_scores[pad] == 0), name
        unmasked = TextExplainer(explainer, pad_id=None).explain(ids, **kw)
        assert np.abs(unmasked.attribution[pad]).max() > 0, name  # the mask, not the method, made them 0
        assert np.all(unmasked.padding_share == 0)
    # IG from the padding embedding leaves padding where it is: its share is 0 even before masking
    text = TextExplainer(IntegratedGradients(adapter, baseline=adapter.padding_embedding(), steps=16))
    np.testing.assert_array_equal(text.explain(ids).padding_share, np.zeros(len(ids)))


def eager_ig2(cnn, x, refs, target, steps, eta, lo, hi):
    "The project's slow reference (`ig2.speed.naive_ig2`) per reference, on the model after its embedding layer."
    emb = cnn.get_layer("embedding").output
    logits, features = keras.Model(emb, cnn.output), keras.Model(emb, cnn.get_layer("features").output)
    return np.stack([naive_ig2(logits, features, x, r[None], target, steps, eta, clip=(lo, hi))[0] for r in refs])


def eager_ig(cnn, x, baseline, target, steps):
    "IG, left Riemann sum, a Python loop over steps with tf.GradientTape on the model after its embedding."
    tail = keras.Model(cnn.get_layer("embedding").output, cnn.output)
    total = np.zeros_like(x)
    for k in range(1, steps + 1):
        p = tf.constant((baseline + k / steps * (x - baseline))[None])
        with tf.GradientTape() as tape:
            tape.watch(p)
            s = tail(p)[:, target]
        total += tape.gradient(s, p)[0].numpy() / steps
    return (x - baseline) * total


def test_agrees_with_an_eager_reference(q, cnn, adapter):
    lo, hi = adapter.embedding_range()
    ig2 = IG2(adapter, steps=25, step_size=0.05, clip=(lo, hi), batch_size=1)  # batch 1: the eager float order
    for i in (0, 7):
        x, t = adapter.embed(q.x_test[i:i + 1])[0], int(q.y_test[i])
        refs = adapter.embed(other_class_sentences(q.x_train, q.y_train, n=1 + (i == 0))(q.x_test[i], t))
        ours = ig2.explain_path(x, refs, target=t, keep_path=False).per_reference
        ref = eager_ig2(cnn, x, refs, t, 25, 0.05, lo, hi)
        print('IG2 vs eager, max |diff| / max |attr|:', np.abs(ours - ref).max() / np.abs(ref).max())
        np.testing.assert_allclose(ours, ref, atol=1e-5 * np.abs(ref).max())
    ig = IntegratedGradients(adapter, baseline=np.zeros(adapter.input_shape, np.float32), steps=20, rule="left")
    x, t = adapter.embed(q.x_test[3:4]), int(q.y_test[3])
    ref = eager_ig(cnn, x[0], np.zeros_like(x[0]), t, 20)
    ours = ig.explain(x, [t])[0]
    print('IG vs eager, max |diff| / max |attr|:', np.abs(ours - ref).max() / np.abs(ref).max())
    np.testing.assert_allclose(ours, ref, atol=1e-5 * np.abs(ref).max())


def test_deciding_word_ranks_first_far_above_chance(q, adapter):
    ids, deciding = q.x_test[:120], q.deciding_test[:120]
    chance = deciding_chance(ids, deciding)
    ig2 = TextExplainer(IG2(adapter, steps=101, clip=adapter.embedding_range()))
    ig = TextExplainer(IntegratedGradients(adapter, baseline=np.zeros(adapter.input_shape, np.float32),
                                           steps=32, rule="gausslegendre"))
    hits_ig2 = deciding_hits(ig2.explain(ids, references=other_class_sentences(q.x_train, q.y_train, n=4)), deciding).mean()
    hits_ig = deciding_hits(ig.explain(ids), deciding).mean()
    print(f"deciding word first: IG2 {hits_ig2:.3f}, IG {hits_ig:.3f}, chance {chance:.3f}")
    assert 0.1 < chance < 0.3
    assert hits_ig2 > 3 * chance and hits_ig > 3 * chance


def test_bad_input_raises_value_error(q, cnn, adapter):
    text = TextExplainer(IG2(adapter, steps=5, clip=adapter.embedding_range()))
    ok = q.x_test[:2]
    with pytest.raises(ValueError, match="vocabulary"): text.explain(ok + 1000, references=q.x_train[:2])
    with pytest.raises(ValueError, match="vocabulary"): text.explain(ok - 1, references=q.x_train[:2])
    with pytest.raises(ValueError, match="integer"): text.explain(ok.astype("float32"), references=q.x_train[:2])
    with pytest.raises(ValueError, match="references"): text.explain(ok, references=q.x_train[:2, :9])
    with pytest.raises(ValueError, match="references"):
        text.explain(ok, references=lambda row, t: q.x_train[:2, :9])
    with pytest.raises(ValueError, match="references"): text.explain(ok, references=q.x_train[:2] + 1000)
    with pytest.raises(ValueError, match="ids"): text.explain(q.x_test[:2, :5], references=q.x_train[:2])
    no_embedding = keras.Sequential([keras.Input((12,)), keras.layers.Dense(4), keras.layers.Dense(6)])
    with pytest.raises(ValueError, match="Embedding"): EmbeddingAdapter(no_embedding)
    with pytest.raises(ValueError, match="no layer named"): EmbeddingAdapter(cnn, embedding_layer="conv9")
    with pytest.raises(ValueError, match="EmbeddingAdapter"): TextExplainer(IG2(cnn))
    with pytest.raises(ValueError, match="pad_id"): TextExplainer(IG2(adapter), pad_id=-1)
    masked = keras.Sequential([keras.Input((12,), dtype="int32"), keras.layers.Embedding(40, 4, mask_zero=True),
                               keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="mask_zero"): EmbeddingAdapter(masked)
    res = TextExplainer(IntegratedGradients(adapter, baseline=np.zeros(adapter.input_shape, np.float32),
                                            steps=2)).explain(ok)
    with pytest.raises(ValueError, match="deciding"): deciding_hits(res, q.deciding_test[:3])


def test_callable_references_follow_each_input_and_target(q, adapter):
    "The same sentence explained for two classes gets the references picked for each class."
    seen = []
    def refs(row, target):
        seen.append(target)
        return q.x_train[q.y_train != target][:2]
    # batch_size=1: each (sentence, reference) row alone, so the rows' float order matches the runs below
    ig2 = IG2(adapter, steps=11, clip=adapter.embedding_range(), batch_size=1)
    ids, targets = np.repeat(q.x_test[:1], 2, axis=0), np.array([0, 5])
    res = TextExplainer(ig2).explain(ids, targets, references=refs)
    assert sorted(seen) == [0, 5]
    for i, t in enumerate(targets):
        alone = TextExplainer(ig2).explain(ids[:1], [t], references=q.x_train[q.y_train != t][:2])
        np.testing.assert_allclose(res.attribution[i], alone.attribution[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(res.token_scores[0], res.token_scores[1])


def test_explain_path_and_nearest_words(q, adapter):
    text = TextExplainer(IG2(adapter, steps=41, clip=adapter.embedding_range()))
    refs = q.x_train[q.y_train != q.y_test[2]][:3]
    path = text.explain_path(q.x_test[2], refs, target=int(q.y_test[2]), keep_path=4)
    assert path.path.shape[1:] == (3, 12, 32) and path.target == q.y_test[2]
    res = text.explain(q.x_test[2:3], q.y_test[2:3], references=refs)
    real = q.x_test[2] != 0
    np.testing.assert_allclose(res.attribution[0][real], path.attribution[real], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(adapter.nearest_ids(adapter.embed(q.x_test[:20])), q.x_test[:20])
    # a straight-line path explainer takes the reference sentences as its R baselines
    ig = IntegratedGradients(adapter, steps=16, rule="left")
    line = TextExplainer(ig).explain_path(q.x_test[2], refs, target=int(q.y_test[2]), keep_path=4)
    assert line.path.shape[1:] == (3, 12, 32) and line.per_reference.shape == (3, 12, 32)
    alone = ig.explain(adapter.embed(q.x_test[2:3]), q.y_test[2:3], baseline=adapter.embed(refs[:1])[0])
    # 3 paths in one batch vs 1: float32 summation order only (1e-5 of the largest entry is ~100x that)
    np.testing.assert_allclose(line.per_reference[0], alone[0], rtol=0, atol=1e-5 * np.abs(alone).max())
    with pytest.raises(ValueError, match="explain_path"):
        TextExplainer(VanillaGradient(adapter)).explain_path(q.x_test[0], refs)
