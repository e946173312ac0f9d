"""The paper's sampling protocol: folds, sizes, seeding, disjointness, labeled proportions."""

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch

from sslvae_text.datasets import nested_stratified_subset, paper_protocol


def _pool(n, n_classes=4, subset="train", prefix="doc"):
    texts = [f"{prefix} {i}" for i in range(n)]
    return Bunch(data=texts, target=np.arange(n) % n_classes, subset=subset)


@pytest.fixture(scope="module")
def paper_runs():
    """The paper's sizes: 5,000 labeled and 10,000 unlabeled from one pool of 16,000."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a training split must not warn
        return paper_protocol(_pool(16000), test=_pool(500, prefix="test"), random_state=0)


def test_paper_sizes_and_folds(paper_runs):
    assert len(paper_runs) == 5
    for run in paper_runs:
        assert (len(run.X_train), len(run.X_val), len(run.X_unlabeled)) == (4000, 1000, 10000)
        assert len(run.X_test) == 500 and len(run.y_test) == 500
        assert len(run.y_train) == 4000 and len(run.y_val) == 1000
    # Each labeled document validates exactly once and trains in the 4 other runs.
    vals = [set(run.val_index) for run in paper_runs]
    labeled = set().union(*vals)
    assert len(labeled) == 5000 and sum(len(v) for v in vals) == 5000
    for run, val in zip(paper_runs, vals):
        assert set(run.train_index) == labeled - val
    pool = _pool(16000)
    run = paper_runs[0]
    assert run.X_train == [pool.data[i] for i in run.train_index]
    assert run.y_train.tolist() == pool.target[run.train_index].tolist()


def test_labeled_unlabeled_and_test_are_disjoint(paper_runs):
    for run in paper_runs:
        labeled = set(run.X_train) | set(run.X_val)
        assert not labeled & set(run.X_unlabeled)
        assert not set(run.X_train) & set(run.X_val)
    assert paper_runs[0].X_unlabeled is paper_runs[4].X_unlabeled  # drawn once for all runs
    assert "'train' split" in paper_runs[0].source_note


def test_seeded():
    pool = _pool(400)
    a = paper_protocol(pool, n_labeled=100, n_unlabeled=200, random_state=3)
    b = paper_protocol(pool, n_labeled=100, n_unlabeled=200, random_state=3)
    c = paper_protocol(pool, n_labeled=100, n_unlabeled=200, random_state=4)
    assert a[2].X_train == b[2].X_train and a[2].X_unlabeled == b[2].X_unlabeled
    assert a[2].X_train != c[2].X_train
    rng = np.random.RandomState(3)
    from_rng = paper_protocol(pool, n_labeled=100, n_unlabeled=200, random_state=rng)
    assert from_rng[2].X_val == a[2].X_val


def test_labeled_proportion_is_stratified_nested_and_keeps_the_rest():
    pool = Bunch(data=[f"d{i}" for i in range(6000)],
                 target=np.array(["a"] * 3000 + ["b"] * 2000 + ["c"] * 1000), subset="train")
    full = paper_protocol(pool, n_unlabeled=1000, random_state=0)
    previous = None
    for proportion in (0.01, 0.03, 0.1, 0.3):
        runs = paper_protocol(pool, n_unlabeled=1000, labeled_proportion=proportion, random_state=0)
        for run, reference in zip(runs, full):
            assert len(run.X_train) == round(4000 * proportion)
            assert set(run.train_index) <= set(reference.train_index)
            assert run.X_val == reference.X_val and run.X_unlabeled == reference.X_unlabeled
            # Each class keeps its share of the 4,000 to within one document.
            for label in "abc":
                expected = proportion * np.sum(reference.y_train == label)
                assert abs(np.sum(run.y_train == label) - expected) <= 1
        if previous is not None:
            for run, smaller in zip(runs, previous):
                assert set(smaller.train_index) <= set(run.train_index)
        previous = runs


def test_separate_unlabeled_pool_like_imdb_unsup():
    labeled = _pool(300, n_classes=2)
    unsup = Bunch(data=[f"unsup {i}" for i in range(500)] + ["doc 1", "doc 2"],
                  target=np.full(502, -1), subset="unsup")
    runs = paper_protocol(labeled, unlabeled=unsup, n_labeled=250, n_unlabeled=500)
    run = runs[0]
    assert len(run.X_unlabeled) == 500
    assert all(text.startswith("unsup") or text not in set(run.X_train + run.X_val)
               for text in run.X_unlabeled)
    assert not set(run.X_unlabeled) & (set(run.X_train) | set(run.X_val))
    assert "the 'unsup' split" in run.source_note
    # A plain list of texts works as an unlabeled pool too.
    runs = paper_protocol(labeled, unlabeled=[f"u{i}" for i in range(50)], n_labeled=100,
                          n_unlabeled=50)
    assert sorted(runs[0].X_unlabeled) == sorted(f"u{i}" for i in range(50))


def test_other_split_warns_and_says_so():
    with pytest.warns(UserWarning, match="'dev' stands in for it"):
        runs = paper_protocol(_pool(300, subset="dev"), n_labeled=100, n_unlabeled=100)
    assert "'dev' split" in runs[0].source_note and "training split" in runs[0].source_note
    X, y = _pool(300).data, _pool(300).target
    with pytest.warns(UserWarning, match="'test' split"):
        paper_protocol((X, y), n_labeled=100, n_unlabeled=100, pool_split="test")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runs = paper_protocol((X, y), n_labeled=100, n_unlabeled=100)
    assert "an unnamed split" in runs[0].source_note


def test_test_documents_are_removed_from_the_pools():
    pool = _pool(300)
    test = Bunch(data=[f"doc {i}" for i in range(0, 300, 3)], target=np.zeros(100, dtype=int))
    runs = paper_protocol(pool, test=test, n_labeled=100, n_unlabeled=100)
    used = set(runs[0].X_train + runs[0].X_val + runs[0].X_unlabeled)
    assert not used & set(test.data) and runs[0].n_test_overlap == 100
    kept = paper_protocol(pool, test=test, n_labeled=100, n_unlabeled=100, exclude_test=False)
    assert kept[0].n_test_overlap == 0
    # 200 usable documents cannot give 100 labeled + 150 unlabeled.
    message = "200 usable documents .100 removed as test.* 250 are needed"
    with pytest.raises(ValueError, match=message):
        paper_protocol(pool, test=test, n_labeled=100, n_unlabeled=150)


def test_pool_too_small_and_bad_input():
    with pytest.raises(ValueError, match="has 14999 usable documents .* 15000 are needed"):
        paper_protocol(_pool(14999))
    with pytest.raises(ValueError, match="unlabeled pool has 10 usable documents"):
        paper_protocol(_pool(100), unlabeled=[f"u{i}" for i in range(10)], n_labeled=50,
                       n_unlabeled=20)
    with pytest.raises(ValueError, match="target -1"):
        paper_protocol(Bunch(data=["a", "b"], target=[0, -1]), n_labeled=2, n_runs=2)
    with pytest.raises(ValueError, match="labeled_proportion"):
        paper_protocol(_pool(300), n_labeled=100, n_unlabeled=0, labeled_proportion=0)
    with pytest.raises(ValueError, match="n_labeled"):
        paper_protocol(_pool(300), n_labeled=3, n_runs=5)
    with pytest.raises(TypeError, match="not a single str"):
        paper_protocol(Bunch(data="abc", target=[0, 1, 2]))
    with pytest.raises(ValueError, match="3 texts but a target of shape"):
        paper_protocol(Bunch(data=["a", "b", "c"], target=[0, 1]))


def test_nested_stratified_subset():
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    orders = {p: nested_stratified_subset(y, p, random_state=1) for p in (0.05, 0.1, 0.5, 1.0)}
    assert len(orders[0.1]) == 10 and np.bincount(y[orders[0.1]]).tolist() == [5, 3, 2]
    assert sorted(orders[1.0]) == list(range(100))
    assert set(orders[0.05]) <= set(orders[0.1]) <= set(orders[0.5])
    assert len(nested_stratified_subset(y, 0.001, random_state=0)) == 1


@pytest.mark.parametrize("sizes", [[80, 20], [50, 30, 7], [3, 3, 3, 1]])
def test_every_proportion_keeps_each_class_share_to_within_one_row(sizes):
    y = np.repeat(np.arange(len(sizes)), sizes)
    for proportion in np.linspace(0.01, 1, 60):
        kept = y[nested_stratified_subset(y, proportion, random_state=1)]
        counts = np.bincount(kept, minlength=len(sizes))
        assert np.all(np.abs(counts - proportion * np.array(sizes)) <= 1), (proportion, counts)


def test_nested_stratified_subset_edges():
    assert nested_stratified_subset(np.array([], dtype=int), 0.5).tolist() == []
    assert len(nested_stratified_subset([0, 1, 1], 1.0)) == 3
    for proportion in (0, 1.5):
        with pytest.raises(ValueError, match="^proportion == "):
            nested_stratified_subset([0, 1], proportion)


def test_the_source_note_says_where_each_sample_comes_from():
    def note(labeled, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return paper_protocol(labeled, n_runs=2, n_labeled=4, n_unlabeled=kwargs.pop("n", 2),
                                  **kwargs)[0].source_note

    train = _pool(20)
    assert note(train) == ("Labeled samples drawn from the 'train' split, unlabeled samples from "
                           "the rest of it.")
    assert note(train, n=0) == "Labeled samples drawn from the 'train' split."
    assert note((train.data, train.target)) == ("Labeled samples drawn from an unnamed split, "
                                                "unlabeled samples from the rest of it.")
    assert note(train, unlabeled=_pool(5, subset="unsup", prefix="u")) == (
        "Labeled samples drawn from the 'train' split, unlabeled samples from the 'unsup' split.")
    assert note(train, unlabeled=[f"u {i}" for i in range(5)]) == (
        "Labeled samples drawn from the 'train' split, unlabeled samples from a separate pool.")
    assert note(_pool(20, subset="test")) == (
        "Labeled samples drawn from the 'test' split, unlabeled samples from the rest of it. "
        "The paper samples from the training split; 'test' stands in for it because this copy "
        "of the corpus has none.")


def test_pools_are_read_as_bunches_pairs_or_lists_of_texts():
    train = _pool(20)
    three = ("u 1", "u 2", "u 3")  # a tuple of texts, not a pair (X, y)
    run = paper_protocol(train, unlabeled=three, n_runs=2, n_labeled=4, n_unlabeled=3)[0]
    assert sorted(run.X_unlabeled) == list(three)
    with pytest.raises(TypeError, match=r"^unlabeled\.data must contain only str; "
                                        r"unlabeled\.data\[1\] is int"):
        paper_protocol(train, unlabeled=["u 1", 3, "u 3"], n_runs=2, n_labeled=4, n_unlabeled=1)
    with pytest.raises(TypeError, match=r"^labeled must be a Bunch with data and target, or a "
                                        r"tuple \(X, y\)\.$"):
        paper_protocol(train.data, n_runs=2, n_labeled=4)
    with pytest.raises(ValueError, match=r"^labeled has no target\.$"):
        paper_protocol(Bunch(data=train.data), n_runs=2, n_labeled=4)


@pytest.mark.parametrize("options, message", [
    (dict(n_runs=1), r"^n_runs == 1, must be >= 2\.$"),
    (dict(n_runs=5, n_labeled=3), r"^n_labeled == 3, must be >= 5\.$"),
    (dict(n_unlabeled=-1), r"^n_unlabeled == -1, must be >= 0\.$"),
    (dict(labeled_proportion=0), r"^labeled_proportion == 0, must be > 0\.$"),
    (dict(labeled_proportion=1.5), r"^labeled_proportion == 1\.5, must be <= 1\.$"),
])
def test_sizes_are_checked_by_name(options, message):
    with pytest.raises(ValueError, match=message):
        paper_protocol(_pool(100), **{"n_labeled": 10, "n_unlabeled": 10, **options})


def test_each_run_says_which_it_is_and_where_its_documents_come_from():
    pool, unlabeled = _pool(40), _pool(30, prefix="u", subset="unsup")
    test = (["u 0", "u 1", "doc 39"], [0, 1, 3])  # two of them in the unlabeled pool, one labeled
    runs = paper_protocol(pool, unlabeled=unlabeled, test=test, n_runs=2, n_labeled=10,
                          n_unlabeled=5, labeled_proportion=1)
    for i, run in enumerate(runs):
        assert run.run == i and run.labeled_proportion == 1 and run.n_test_overlap == 3
        assert run.X_unlabeled == [unlabeled.data[j] for j in run.unlabeled_index]
        # all of the other fold, in its order: a proportion of 1 keeps everything as drawn
        assert run.train_index.tolist() == runs[1 - i].val_index.tolist()
        assert run.X_test == test[0] and run.y_test.tolist() == [0, 1, 3]


def test_a_pool_from_another_split_warns_the_caller():
    with pytest.warns(UserWarning, match="stands in for it") as record:
        paper_protocol(_pool(20, subset="dev"), n_runs=2, n_labeled=4, n_unlabeled=2)
    # it names the caller's line, not one of the protocol's own (under mutmut, a wrapper's)
    assert "sslvae_text" not in Path(record[0].filename).parts


@pytest.mark.parametrize("options, error, message", [
    (dict(labeled=Bunch(data=["a", "b"], target=[0, -1])), ValueError,
     r"^labeled contains documents with target -1; pass unlabeled documents as unlabeled\.$"),
    (dict(test=Bunch(data=["a"])), ValueError, r"^test has no target\.$"),
    (dict(test=["a", "b", "c"]), TypeError, r"^test must be a Bunch with data and target"),
    (dict(n_labeled=15, n_unlabeled=10), ValueError,
     r"^The labeled pool has 20 usable documents \(0 removed as test documents\) but 25 are "
     r"needed \(n_labeled=15 \+ n_unlabeled=10 drawn from the same pool\)\.$"),
    (dict(n_labeled=21, unlabeled=["u"] * 3, n_unlabeled=1), ValueError,
     r"^The labeled pool has 20 usable documents \(0 removed as test documents\) but 21 are "
     r"needed \(n_labeled=21\)\.$"),
    (dict(unlabeled=["u 1", "u 2"], n_unlabeled=3), ValueError,
     r"^The unlabeled pool has 2 usable documents once the labeled and test documents are left "
     r"out, fewer than n_unlabeled=3\.$"),
])
def test_protocol_errors_say_what_is_wrong(options, error, message):
    kwargs = {"labeled": _pool(20), "n_runs": 2, "n_labeled": 4, "n_unlabeled": 2, **options}
    with pytest.raises(error, match=message):
        paper_protocol(kwargs.pop("labeled"), **kwargs)


def test_without_a_test_set_the_runs_hold_none():
    run = paper_protocol(_pool(20), n_runs=2, n_labeled=4, n_unlabeled=2)[0]
    assert run.X_test is None and run.y_test is None and run.n_test_overlap == 0


def test_a_separate_pool_needs_only_the_labeled_documents_from_the_labeled_pool():
    runs = paper_protocol(_pool(20), unlabeled=["u 1", "u 2"], n_runs=2, n_labeled=20,
                          n_unlabeled=2)
    assert len(runs[0].X_train) + len(runs[0].X_val) == 20
