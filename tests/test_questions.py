"Tests of ig2.questions: the offline question set, TREC files, the question CNN and IG² reference sentences."
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import pytest
from ig2.questions import (Vocabulary, load_questions, load_question_cnn, read_trec, other_class_sentences,
                           generate_questions)


@pytest.fixture(scope="module")
def q(): return load_questions()


@pytest.fixture(scope="module")
def cnn(): return load_question_cnn()


def test_the_question_cnn_is_accurate(q, cnn):
    assert (cnn.predict(q.x_test, verbose=0).argmax(1) == q.y_test).mean() >= 0.95


def test_other_class_sentences_pick_other_classes(q):
    pick = other_class_sentences(q.x_train, q.y_train, n=8, seed=3)
    lookup = {row.tobytes(): y for row, y in zip(q.x_train, q.y_train)}
    for i in range(5):
        refs = pick(q.x_test[i], int(q.y_test[i]))
        assert refs.shape == (8, 12)
        assert all(lookup[r.tobytes()] != q.y_test[i] for r in refs)
        np.testing.assert_array_equal(refs, pick(q.x_test[i], int(q.y_test[i])))  # seeded


def test_question_set_is_seeded_and_marks_the_deciding_words():
    a, b, c = load_questions(seed=0), load_questions(seed=0), load_questions(seed=1)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_train, c.x_train)
    assert set(a.deciding_test.sum(1)) == {1, 2}  # a word, or the phrases "stand for" / "short for"
    words = a.vocab.decode(a.x_test)
    for row, mask in zip(words[:80], a.deciding_test[:80]):
        marked = [w for w, m in zip(row, mask) if m]
        if len(marked) == 2: assert marked in (["stand", "for"], ["short", "for"])
        assert marked[0] in {"stand", "abbreviation", "short", "acronym", "why", "definition", "mean",
                                           "meaning", "explain", "describe", "color", "kind", "instrument", "language",
                                           "food", "sport", "who", "scientist", "inventor", "where", "city", "country",
                                           "continent", "many", "much", "when", "year", "old", "far", "population"}


def test_read_trec(tmp_path):
    train = tmp_path / "train.label"
    train.write_text("NUM:date When did Hawaii become a state ?\nHUM:ind Who wrote Hamlet ?\n\n"
                     "LOC:city What city is the Eiffel tower in ?\n", encoding="latin-1")
    ids, y, fine, vocab = read_trec(train)
    assert ids.shape == (3, 8) and list(y) == [5, 3, 4] and fine == ["date", "ind", "city"]
    assert vocab.decode(ids)[2] == ["what", "city", "is", "the", "eiffel", "tower", "in", "?"]
    test = tmp_path / "test.label"
    test.write_text("ENTY:animal What animal wrote caf\xe9 music ?\n", encoding="latin-1")
    ids_te, y_te, _, _ = read_trec(test, vocab=vocab, length=8)
    assert ids_te.shape == (1, 8) and y_te[0] == 2
    assert (ids_te[0, :6] == Vocabulary.unk_id).sum() == 3  # animal, café, music: unknown to the training vocabulary
    test.write_text("num:date when ?\n")
    with pytest.raises(ValueError, match="line 1"): read_trec(test)
    test.write_text("\n\n")
    with pytest.raises(ValueError, match="no questions"): read_trec(test)


def test_generate_questions_only_deciding_words_tell_the_class():
    sentences, labels, flags = generate_questions(600, seed=5)
    by_word = {}
    for s, c, f in zip(sentences, labels, flags):
        for w, d in zip(s, f):
            if not d: by_word.setdefault(w, set()).add(int(c))
    # every non-deciding word that occurs often is seen in more than one class
    counts = {w: sum(w in s for s in sentences) for w in by_word}
    assert [w for w, cs in by_word.items() if len(cs) == 1 and counts[w] >= 20] == []


def test_bad_input_raises_value_error(q):
    with pytest.raises(ValueError, match="pool_labels"): other_class_sentences(q.x_train, q.y_train[:5])
    with pytest.raises(ValueError, match="test_size"): load_questions(test_size=1.5)
