"""What a new user runs into: odd input containers, long documents, Ctrl-C, devices, threads,
the progress bar, mixed precision, pickling, and the README's own code."""

import ast
import builtins
import configparser
import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn import set_config
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

import sslvae_text.estimator as estimator_module
from sslvae_text import SemiSupervisedKFold, SSVAETextClassifier, SupervisedTextClassifier
from sslvae_text.model import SSVAE
from sslvae_text.text import pad_batch, token_bounded
from sslvae_text.training import update_pieces

from conftest import ssvae_loss, tiny_ssvae, tiny_supervised

ROOT = Path(__file__).resolve().parents[1]
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


# -- mixed precision and pickling (found on a GPU; checked on the CPU where there is none) ----

def test_the_adaptive_softmax_runs_in_float32_under_autocast():
    # Under CUDA autocast it failed on half inputs (index_copy_ dtype error).
    torch.manual_seed(0)
    model = SSVAE(vocabulary_size=60, n_classes=2, embedding_dim=8, hidden_size=8, z_dim=4, y_dim=4,
                  decoder_size=64, output_layer="adaptive", dropout=0.5, generative=True, use_z=True,
                  shared_encoder=False)
    seen = []
    model.p_x.output.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].dtype))
    tokens, lengths = pad_batch([np.array([5, 6, 7, 8]), np.array([9, 10])])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, _ = ssvae_loss(model, tokens, lengths, torch.tensor([0, -1]), alpha=1.0, beta=1.0,
                             use_kl=True)
    assert seen == [torch.float32]
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


@CUDA
@pytest.mark.parametrize("output_layer", ["adaptive", "full"])
def test_mixed_precision_fits_on_cuda(corpus, output_layer):
    X, y, X_u, X_test, _ = corpus
    clf = tiny_ssvae(mixed_precision=True, device="cuda", output_layer=output_layer, decoder_size=64)
    clf.fit(X, y, X_unlabeled=X_u)
    assert np.isfinite(clf.history_[-1]["reconstruction"])
    assert clf.predict(X_test).shape == (len(X_test),)


def test_pickling_does_not_touch_the_live_estimator(fitted):
    state = fitted.__getstate__()
    assert state is not fitted.__dict__
    state["module_"] = None  # what __getstate__ does to a network on a GPU
    assert fitted.module_ is not None


@CUDA
def test_pickling_a_cuda_fit_keeps_its_network_on_the_gpu(corpus):
    X, y, X_u, X_test, _ = corpus
    clf = tiny_ssvae(device="cuda").fit(X, y, X_unlabeled=X_u)
    module = clf.module_
    restored = pickle.loads(pickle.dumps(clf))
    assert clf.module_ is module and next(module.parameters()).is_cuda
    np.testing.assert_allclose(restored.predict_proba(X_test), clf.predict_proba(X_test), atol=1e-5)


# -- long documents -----------------------------------------------------------------------

def test_max_length_defaults_to_400_tokens(corpus):
    X, y, X_u, _, _ = corpus
    assert SSVAETextClassifier().max_length == SupervisedTextClassifier().max_length == 400
    clf = tiny_supervised().fit(X, y)
    assert len(clf._encode([" ".join(["word"] * 1000)])[0]) == 400


def test_token_bounded_pieces_cover_the_batch_within_the_bound():
    lengths = np.array([3, 50, 4, 1000, 5, 60, 2])
    rows = np.arange(len(lengths))
    np.testing.assert_array_equal(token_bounded(rows, lengths, max_tokens=7000)[0], rows)
    pieces = token_bounded(rows, lengths, max_tokens=120)
    assert sorted(np.concatenate(pieces).tolist()) == rows.tolist()
    for piece in pieces:
        assert len(piece) * lengths[piece].max() <= 120 or len(piece) == 1
    assert [3] in [piece.tolist() for piece in pieces]  # longer than the bound: alone


def test_update_pieces_add_up_to_the_whole_batch_loss():
    torch.manual_seed(0)
    model = SSVAE(vocabulary_size=40, n_classes=2, embedding_dim=8, hidden_size=8, use_z=False, y_dim=4,
                  decoder_size=8, dropout=0.0, generative=True, output_layer="adaptive")
    rng = np.random.default_rng(0)
    labeled = [rng.integers(2, 40, n) for n in (3, 9, 4, 12)]
    unlabeled = [rng.integers(2, 40, n) for n in (5, 2, 11)]
    labels = [0, 1, 1, 0]

    def gradient(pieces):
        model.zero_grad()
        for sequences, piece_labels, weight in pieces:
            tokens, lengths = pad_batch(sequences)
            loss, _ = ssvae_loss(model, tokens, lengths, torch.tensor(piece_labels), alpha=3.0,
                                 beta=0.0, use_kl=False, unlabeled_y="enumerate")
            (loss * weight).backward()
        return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])

    whole = update_pieces((labeled, labels), unlabeled)
    assert len(whole) == 1
    split = update_pieces((labeled, labels), unlabeled, max_tokens=20)
    assert len(split) > 2 and all(len(set(piece_labels) & {-1}) == 0 or set(piece_labels) == {-1}
                                  for _, piece_labels, _ in split)
    torch.testing.assert_close(gradient(split), gradient(whole), rtol=1e-4, atol=1e-6)


def test_a_100000_word_document_fits_in_bounded_memory():
    # A subprocess, for its own peak memory. Padding a batch to the long document took 7.4 GB.
    script = textwrap.dedent("""
        import resource
        import torch
        from sslvae_text import SSVAETextClassifier
        from sslvae_text.datasets import make_text_classification
        torch.set_num_threads(1)
        X, y = make_text_classification(60, n_classes=2, vocabulary_size=300, n_informative=20,
                                        mean_length=10, random_state=0)
        X = list(X)
        X[0] = " ".join("w%d" % (i % 50) for i in range(100_000))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        clf = SSVAETextClassifier(embedding_dim=8, hidden_size=8, y_dim=4, decoder_size=8,
                                  use_z=False, max_length=None, max_updates=1,
                                  validation_fraction=None, random_state=0, device="cpu")
        clf.fit(X[:30], y[:30], X_unlabeled=X[30:])
        assert clf.predict(X[:5]).shape == (5,)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                         timeout=300, check=True)
    assert int(out.stdout.split()[-1]) < 1024  # MB on top of the imports; about 350 measured


# -- containers and labels ----------------------------------------------------------------

def test_a_one_column_dataframe_is_read_as_its_column(corpus):
    pd = pytest.importorskip("pandas")
    X, y, X_u, X_test, _ = corpus
    from_list = tiny_ssvae().fit(X, y, X_unlabeled=X_u)
    from_frame = tiny_ssvae().fit(pd.DataFrame({"text": X}), pd.Series(y),
                                  X_unlabeled=pd.DataFrame({"text": X_u}))
    assert from_frame.n_labeled_ == from_list.n_labeled_
    predicted = from_frame.predict(pd.DataFrame({"text": X_test}))
    assert predicted.shape == (len(X_test),)
    np.testing.assert_array_equal(predicted, from_list.predict(X_test))
    np.testing.assert_array_equal(from_list.predict(pd.Series(X_test)), predicted)
    with pytest.raises(ValueError, match=r"one column of documents; got a DataFrame of shape \(30, 2\)"):
        from_list.predict(pd.DataFrame({"text": X_test, "other": X_test}))


def test_arrays_of_one_column_are_read_and_wider_ones_refused(corpus, fitted):
    X, y, X_u, X_test, _ = corpus
    column = np.asarray(X_test, dtype=object).reshape(-1, 1)
    np.testing.assert_array_equal(fitted.predict(column), fitted.predict(X_test))
    with pytest.raises(ValueError, match=r"shape \(30, 2\)"):
        fitted.predict(np.hstack([column, column]))
    with pytest.raises(ValueError, match="one column"):
        tiny_ssvae().fit(np.array([X, X]), y)


@pytest.mark.parametrize("container", [list, lambda v: np.asarray(v, dtype=object), np.asarray])
def test_the_string_minus_one_marks_unlabeled_rows(corpus, container):
    X, y, _, _, _ = corpus
    y = [str(label) for label in y[:40]] + ["-1"] * 20  # e.g. read from a CSV
    clf = tiny_supervised().fit(X, container(y))
    assert "-1" not in clf.classes_.tolist() and len(clf.classes_) == 3
    assert clf.n_labeled_ + int(np.ceil(0.1 * 40)) == 40
    ssvae = tiny_ssvae().fit(X, container(y))
    assert ssvae.n_unlabeled_ == 20
    folds = list(SemiSupervisedKFold(n_splits=2).split(X, container(y)))
    assert all(set(range(40, 60)) <= set(train) and max(test) < 40 for train, test in folds)


def test_cross_validation_with_semi_supervised_folds_scores_labeled_rows_only(corpus):
    X, y, X_u, _, _ = corpus
    X_all, y_all = list(X) + list(X_u), list(y) + [-1] * len(X_u)
    scores = cross_val_score(tiny_supervised(), X_all, y_all, cv=SemiSupervisedKFold(n_splits=2),
                             scoring="f1_macro")
    # With -1 rows in a test fold, f1_macro would count "-1" as a fourth, never-predicted class.
    assert len(scores) == 2 and np.all(scores > 0)
    for train, test in SemiSupervisedKFold(n_splits=2).split(X_all, y_all):
        assert -1 not in [y_all[i] for i in test]


# -- Ctrl-C ---------------------------------------------------------------------------------

def test_ctrl_c_restores_the_best_weights_then_propagates():
    script = textwrap.dedent("""
        import json, sys
        from sslvae_text import SSVAETextClassifier
        from sslvae_text.datasets import make_text_classification
        X, y = make_text_classification(200, n_classes=2, vocabulary_size=300, n_informative=20,
                                        mean_length=10, random_state=0)
        clf = SSVAETextClassifier(embedding_dim=8, hidden_size=8, z_dim=4, y_dim=4, decoder_size=8,
                                  validation_interval=5, max_updates=10**6, n_iter_no_change=10**6,
                                  random_state=0, device="cpu", n_threads=1, verbose=1)
        try:
            clf.fit(X[:100], y[:100], X_unlabeled=X[100:])
        except KeyboardInterrupt:
            print(json.dumps({"termination": clf.termination_condition_,
                              "best": clf.best_iteration_, "checks": clf.n_iter_,
                              "predictions": len(clf.predict(X[:7]))}), flush=True)
            sys.exit(0)
        sys.exit("fit returned")
    """)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", PYTHONUNBUFFERED="1")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        for line in child.stdout:  # the per-check lines: training is under way
            if line.startswith("check 2:"):
                break
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 0, out
    report = __import__("json").loads(out.strip().splitlines()[-1])
    assert report["termination"] == "interrupted"
    assert report["checks"] >= 2 and 1 <= report["best"] <= report["checks"]
    assert report["predictions"] == 7


# -- messages ---------------------------------------------------------------------------------

def test_validation_data_that_is_not_a_pair_is_named(corpus):
    X, y, _, _, _ = corpus
    with pytest.raises(TypeError, match=r"validation_data must be a pair \(X_val, y_val\).*list of length 5"):
        tiny_ssvae().fit(X, y, validation_data=list(X[:5]))


def test_scoring_rows_that_are_all_unlabeled_is_refused(fitted, corpus):
    _, _, _, X_test, _ = corpus
    with pytest.raises(ValueError, match="no labeled row to score"):
        fitted.score(X_test, [-1] * len(X_test))


def test_a_wrong_keyword_names_the_supervised_class():
    with pytest.raises(TypeError, match=r"SupervisedTextClassifier\.__init__\(\) got an unexpected keyword argument 'alpha'"):
        SupervisedTextClassifier(alpha=1)


def test_documents_without_a_single_word_are_refused():
    with pytest.raises(ValueError, match="contain no word"):
        tiny_supervised().fit(["", "  ", "\n", "\t"], [0, 1, 0, 1])


def test_a_validation_split_that_leaves_a_class_untrained_warns(corpus):
    with pytest.warns(UserWarning, match=r"leaves 1 to train on, and 1 of the 2 classes have none"):
        clf = tiny_supervised().fit(["good film", "bad film"], ["pos", "neg"])
    assert clf.n_labeled_ == 1


# -- devices and threads -----------------------------------------------------------------------

@pytest.mark.parametrize("device", [torch.device("cpu"), "cpu:0"])
def test_torch_device_objects_and_strings_are_accepted(corpus, device):
    X, y, _, X_test, _ = corpus
    clf = tiny_supervised(device=device).fit(X, y)
    assert torch.device(clf.device_).type == "cpu"
    assert next(clf.module_.parameters()).device.type == "cpu"
    assert clf.predict(X_test).shape == (len(X_test),)


def test_unknown_or_absent_devices_are_named(corpus):
    X, y, _, _, _ = corpus
    with pytest.raises(InvalidParameterError, match="'device' parameter .* Got 'gpu0'"):
        tiny_supervised(device="gpu0").fit(X, y)
    with pytest.raises(ValueError, match=r"device='cuda:7'"):
        tiny_supervised(device="cuda:7").fit(X, y)


def test_n_threads_holds_during_fit_and_predict_then_is_restored(corpus, monkeypatch):
    X, y, _, X_test, _ = corpus
    seen = []
    for name in ("train", "predict_logits"):
        real = getattr(estimator_module, name)
        monkeypatch.setattr(estimator_module, name,
                            lambda *a, _real=real, **k: seen.append(torch.get_num_threads()) or _real(*a, **k))
    before = torch.get_num_threads()
    wanted = 1 if before != 1 else 2
    clf = tiny_supervised(n_threads=wanted).fit(X, y)
    clf.predict(X_test)
    assert seen == [wanted, wanted]
    assert torch.get_num_threads() == before


# -- progress bar -------------------------------------------------------------------------------

def test_the_progress_bar_counts_updates_and_fits_80_columns(corpus, capsys):
    X, y, X_u, _, _ = corpus
    tiny_ssvae(verbose=1, max_updates=12, validation_interval=4).fit(X, y, X_unlabeled=X_u)
    out, err = capsys.readouterr()
    frames = [f for f in re.split(r"[\r\n]", err) if "updates |" in f]
    assert frames and any("12/12 updates" in f for f in frames)
    assert max(len(f.strip()) for f in frames) <= 80
    assert [line.split(":")[0] for line in out.splitlines()] == ["check 1", "check 2", "check 3"]


# -- README and packaging ---------------------------------------------------------------------

def _python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_snippets_define_every_name_they_use():
    defined = set(dir(builtins))
    for block in _python_blocks((ROOT / "README.md").read_text()):
        tree = ast.parse(block)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                defined.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        assert used <= defined, f"undefined in a README snippet: {sorted(used - defined)}"


def test_readme_routing_advice_works(corpus):
    text = " ".join((ROOT / "README.md").read_text().split())
    assert "enable_metadata_routing=True)`, `X_unlabeled`" in text
    assert "pipe.fit(X, y, X_unlabeled=X_unlabeled)" in text
    assert "Without routing, scikit-learn's older `clf__X_unlabeled=...`" in text
    X, y, X_u, X_test, _ = corpus
    pipe = Pipeline([("identity", FunctionTransformer()), ("clf", tiny_ssvae())])
    pipe.fit(X, y, clf__X_unlabeled=X_u)
    assert pipe[-1].n_unlabeled_ == len(X_u)
    set_config(enable_metadata_routing=True)
    try:
        pipe.fit(X, y, X_unlabeled=X_u[:10])
        assert pipe[-1].n_unlabeled_ == 10
        with pytest.raises(TypeError):
            pipe.fit(X, y, clf__X_unlabeled=X_u)
    finally:
        set_config(enable_metadata_routing=False)


def test_readme_warns_about_the_torch_build_before_the_install_commands():
    text = (ROOT / "README.md").read_text()
    assert text.index("CPU build") < text.index("```bash")
    assert "this project's machines" not in text


def test_package_metadata_is_complete():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    metadata = config["metadata"]
    assert (ROOT / "LICENSE").read_text().startswith("BSD 3-Clause License")
    assert metadata["license_files"].strip() == "LICENSE"
    assert metadata.get("author", "").strip()
    classifiers = metadata["classifiers"]
    assert "License :: OSI Approved :: BSD License" in classifiers
    assert re.search(r"Programming Language :: Python :: 3\.1[0-9]", classifiers)


def test_the_speed_benchmark_times_the_estimators_output_layer():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import benchmark_speed
    finally:
        sys.path.remove(str(ROOT / "examples"))
    default = SSVAETextClassifier().output_layer
    assert benchmark_speed.parse_args([]).output_layer == default == "adaptive"


# -- fuzzing ------------------------------------------------------------------------------------

_TEXTS = st.one_of(st.text(max_size=40), st.sampled_from(
    ["", "   ", "\n\t", "héllo wörld ✓ 文字", "good film", "bad film", "word " * 3000]))
_NOT_TEXTS = st.one_of(st.none(), st.just(float("nan")), st.binary(max_size=6), st.integers(), st.floats())
# Mostly inputs that should fit, so that both outcomes are exercised.
_DOCUMENT_LISTS = st.one_of(st.lists(_TEXTS, max_size=12), st.lists(_TEXTS, max_size=12),
                            st.lists(st.one_of(_TEXTS, _NOT_TEXTS), max_size=12))
_LABEL_SETS = st.sampled_from([[0, 1, -1], [1, 2, "-1"], ["a", "b", "-1"], ["a", "b", -1],
                               [0, 1, "a", -1], [0.5, 1.0, -1], [True, False]])


def _wrap(values, container, column=False):
    if container == "list":
        return list(values)
    if container == "array":
        return np.array(values, dtype=object)
    pd = pytest.importorskip("pandas")
    if container == "frame" and column:
        return pd.DataFrame({"text": pd.Series(values, dtype=object)})
    return pd.Series(values, dtype=object)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data(), container=st.sampled_from(["list", "array", "series", "frame"]),
       make=st.sampled_from([tiny_supervised, tiny_ssvae]))
def test_any_input_fits_correctly_or_is_refused_by_name(data, container, make):
    documents = data.draw(_DOCUMENT_LISTS, label="documents")
    label_set = data.draw(_LABEL_SETS, label="label set")
    labels = data.draw(st.lists(st.sampled_from(label_set), min_size=len(documents),
                                max_size=len(documents)), label="labels")
    X, y = _wrap(documents, container, column=True), _wrap(labels, container)
    clf = make(max_updates=2, validation_interval=1, n_threads=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)
    except (TypeError, ValueError) as error:
        event(f"refused: {type(error).__name__}")
        message = str(error)
        if not all(isinstance(d, str) for d in documents):
            assert isinstance(error, TypeError) and "must contain only str" in message
        else:
            assert re.search(r"\by\b|label|class|word|validation_fraction", message), message
        return
    event("fitted")
    # A fit that succeeds has read every document as text and every label as given.
    assert all(isinstance(d, str) for d in documents)
    labeled = [v for v in labels if not (v == -1 or v == "-1")]
    assert sorted(map(str, clf.classes_.tolist())) == sorted(map(str, set(labeled)))
    assert {type(v) for v in clf.classes_.tolist()} <= {int, float, str}
    predicted = clf.predict(X)
    assert len(predicted) == len(documents) and set(predicted.tolist()) <= set(clf.classes_.tolist())
