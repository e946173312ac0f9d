import numpy as np
import pytest

from sslvae_text.datasets import make_text_classification


def test_same_seed_same_corpus_and_balanced_classes():
    X1, y1 = make_text_classification(90, n_classes=3, random_state=4)
    X2, y2 = make_text_classification(90, n_classes=3, random_state=4)
    assert X1 == X2 and np.array_equal(y1, y2)
    assert np.bincount(y1).tolist() == [30, 30, 30]
    assert X1 != make_text_classification(90, n_classes=3, random_state=5)[0]


def test_each_class_has_words_of_its_own_and_shares_the_rest():
    X, y = make_text_classification(600, n_classes=2, vocabulary_size=300, n_informative=20,
                                    random_state=0)
    words = [set(" ".join(x for x, c in zip(X, y) if c == k).split()) for k in (0, 1)]
    assert len(words[0] - words[1]) >= 10 and len(words[1] - words[0]) >= 10
    assert len(words[0] & words[1]) > 100


def test_impossible_sizes_are_refused():
    with pytest.raises(ValueError, match="n_informative"):
        make_text_classification(10, n_classes=2, vocabulary_size=100, n_informative=60)
