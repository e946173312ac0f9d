"""The training loop shared by the estimators: updates, validation checks, early stopping.

Training is counted in updates, not in passes over the labeled documents. Labeled and
unlabeled batches are both drawn from endless, reshuffled cycles, so a handful of labels
still gets as many updates as the unlabeled documents need. The model is checked on the
validation set every ``interval`` updates; a check improves on the best one when its accuracy
is higher, or equal with a lower log-loss (on a small validation set accuracy ties often, and
the loss still tells the checks apart). The learning rate is divided by 4 after
``lr_patience`` checks without improvement, training stops after ``n_iter_no_change``, and the
weights of the best check are kept.

With ``interval`` equal to :func:`batches_per_pass` of the labeled documents, this is the
authors' schedule, one check per pass over the labeled set, except that they compared checks
by accuracy alone (with a validation set of 1,000 documents, an exact tie is rare).
"""

import copy
import dataclasses
import functools
import math
import time
import warnings
from collections import defaultdict
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from tqdm.auto import tqdm

from .model import make_optimizer
from .text import BUCKET_SIZE, MAX_BATCH_TOKENS, bucketed_batches, pad_batch, sorted_batches, token_bounded

__all__ = [
    "BatchCycle", "Diverged", "EarlyStopping", "TrainingData", "TrainingSettings", "TrainingState",
    "bfloat16_autocast_works", "predict_logits", "resolve_interval", "torch_threads", "train", "update",
    "update_pieces",
]

#: Fewest updates between two validation checks with ``validation_interval="auto"``.
MIN_AUTO_INTERVAL = 100
_INFERENCE_BATCH_SIZE = 256


def batches_per_pass(n_documents, batch_size):
    """Number of batches :func:`~sslvae_text.text.bucketed_batches` makes of ``n_documents``."""
    span = batch_size * BUCKET_SIZE
    full, rest = divmod(n_documents, span)
    return full * BUCKET_SIZE + -(-rest // batch_size)


def resolve_interval(validation_interval, n_labeled, n_unlabeled, batch_size):
    """Updates between validation checks: an int, one labeled pass ("epoch"), or "auto".

    "auto" is one pass over the larger of the labeled and unlabeled sets, and at least
    :data:`MIN_AUTO_INTERVAL` updates: between two checks the model sees every document, and
    a few labels still get enough training for a check to mean something.
    """
    if validation_interval == "epoch":
        return batches_per_pass(n_labeled, batch_size)
    if validation_interval == "auto":
        return max(batches_per_pass(max(n_labeled, n_unlabeled), batch_size), MIN_AUTO_INTERVAL)
    return int(validation_interval)


@contextmanager
def torch_threads(n_threads):
    """torch's intra-op threads set to ``n_threads`` inside the block (None: left as they are)."""
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def bfloat16_autocast_works(device):
    """Whether an LSTM trains under bfloat16 autocast on ``device`` (a str or torch.device).

    Tried once per device and process, forward and backward, on a tiny LSTM: the capability
    depends on the kernels torch finds, not on the CPU's name. CPUs without native bfloat16
    (AVX2 alone) have no oneDNN kernel for a bfloat16 LSTM, and torch raises from inside oneDNN.
    """
    return _bfloat16_probe(str(torch.device(device)))


@functools.lru_cache(maxsize=None)
def _bfloat16_probe(device):
    # The caller's random streams are left as they are: the probe's initialisation is forked off.
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lstm = torch.nn.LSTM(4, 4, batch_first=True, bidirectional=True).to(device)
        try:
            with torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
                output, _ = lstm(torch.ones(2, 3, 4, device=device))
            output.float().sum().backward()
        except (RuntimeError, NotImplementedError):
            return False
    return True


def predict_logits(module, ids, n_classes):
    """Logits of q(y|x) for encoded documents, batched by length; no decoder runs."""
    device = next(module.parameters()).device
    logits = np.empty((len(ids), n_classes), dtype=np.float64)
    was_training = module.training
    module.eval()
    lengths = np.array([len(s) for s in ids])
    with torch.no_grad():
        for batch in sorted_batches(lengths, _INFERENCE_BATCH_SIZE):
            for rows in token_bounded(batch, lengths):
                tokens, piece_lengths = pad_batch([ids[i] for i in rows])
                logits[rows] = module.classify(tokens.to(device), piece_lengths).double().cpu().numpy()
    module.train(was_training)
    return logits


def log_probabilities(logits):
    """Row-wise log-softmax of a logits array, computed stably."""
    log_p = logits - logits.max(axis=1, keepdims=True)
    return log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))


def validation_scores(logits, y):
    """Accuracy and mean log-loss of the predicted distributions against labels ``y``."""
    log_p = log_probabilities(logits)
    return float(np.mean(log_p.argmax(1) == y)), float(-np.mean(log_p[np.arange(len(y)), y]))


def update_pieces(labeled, unlabeled, max_tokens=MAX_BATCH_TOKENS):
    """The forward passes of one update: ``[(sequences, labels, weight), ...]``.

    ``labeled`` is ``(sequences, labels)``; ``unlabeled`` a list of sequences (maybe empty).
    A batch within ``max_tokens`` padded tokens is one pass of weight 1. A larger one is cut
    into pieces that each hold one kind of row (:func:`~sslvae_text.text.token_bounded`), of
    weight ``rows in the piece / rows of that kind``: the objectives average each kind over
    its own rows, so the weighted sum of the pieces' losses is the whole batch's loss.
    """
    sequences, labels = labeled
    everything = list(sequences) + list(unlabeled)
    if len(everything) * max(len(s) for s in everything) <= max_tokens:
        return [(everything, list(labels) + [-1] * len(unlabeled), 1.0)]
    pieces = []
    for kind, kind_labels in ((sequences, list(labels)), (unlabeled, [-1] * len(unlabeled))):
        if not len(kind):
            continue
        lengths = np.array([len(s) for s in kind])
        for rows in token_bounded(np.arange(len(kind)), lengths, max_tokens):
            pieces.append(([kind[i] for i in rows], [kind_labels[i] for i in rows], len(rows) / len(kind)))
    return pieces


def update(module, optimizer, loss_fn, labeled, unlabeled, *, step, mixed_precision=False,
           max_tokens=MAX_BATCH_TOKENS):
    """One optimisation update, as ``fit`` runs it; returns the terms of the objective.

    ``labeled`` is ``(sequences, class indices)``, ``unlabeled`` a list of sequences (empty for
    the supervised baseline); see :func:`update_pieces`. ``step`` counts updates from 0 (the KL
    annealing reads it). A term is the mean over the rows it concerns, as a float.
    """
    device = next(module.parameters()).device
    optimizer.zero_grad(set_to_none=True)
    totals, rows = defaultdict(float), defaultdict(int)
    for sequences, labels, weight in update_pieces(labeled, unlabeled, max_tokens):
        tokens, lengths = pad_batch(sequences)
        labels = torch.tensor(labels, device=device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=mixed_precision):
            loss, terms = loss_fn(module, tokens.to(device), lengths, labels, step)
        (loss * weight if weight != 1.0 else loss).backward()
        for name, value in terms.items():
            totals[name] += float(value) * len(sequences)
            rows[name] += len(sequences)
    optimizer.step()
    return {name: total / rows[name] for name, total in totals.items()}


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """How to train, besides the network, the objective and the documents.

    ``interval`` is the number of updates between validation checks (one history entry per
    check) and ``max_updates`` the number of updates of one call of :func:`train`.
    ``history_terms`` are the names of the objective's terms, recorded at every check.
    """

    n_classes: int
    batch_size: int
    learning_rate: float
    interval: int
    lr_patience: int
    n_iter_no_change: int
    max_updates: int
    mixed_precision: bool = False
    history_terms: tuple = ()
    verbose: int = 0


@dataclasses.dataclass
class TrainingData:
    """Encoded documents: labeled ones with their class indices, unlabeled ones, validation ones.

    ``ids_val`` None trains without validation: the last weights are kept.
    """

    ids_train: list
    y_train: np.ndarray
    ids_unlabeled: list
    ids_val: list = None
    y_val: np.ndarray = None


class BatchCycle:
    """Length-bucketed batches of indices forever, reshuffled at every pass.

    An object rather than a generator, so that a training state that holds it pickles and a
    warm start continues the same stream of batches.
    """

    def __init__(self, lengths, batch_size, rng):
        self.lengths, self.batch_size, self.rng = np.asarray(lengths), batch_size, rng
        self._pass = []  # the batches of the current pass still to come, last first

    def __iter__(self):
        return self

    def __next__(self):
        if not self._pass:
            self._pass = bucketed_batches(self.lengths, self.batch_size, self.rng)[::-1]
        return self._pass.pop()


class EarlyStopping:
    """The best validation check so far, its weights, and the checks since without a better one.

    A check is better when its accuracy is higher, or equal with a lower log-loss: on a small
    validation set accuracy ties often, and the loss still tells the checks apart.
    """

    def __init__(self, patience):
        self.patience = patience
        self.iteration = self.accuracy = self.log_loss = None
        self.n_bad = 0
        self._weights = None

    def update(self, iteration, accuracy, log_loss, module):
        """Record a check's scores; keep a copy of the weights if it is the best so far."""
        if self.iteration is None or (accuracy, -log_loss) > (self.accuracy, -self.log_loss):
            self.iteration, self.accuracy, self.log_loss, self.n_bad = iteration, accuracy, log_loss, 0
            self._weights = copy.deepcopy(module.state_dict())
            return True
        self.n_bad += 1
        return False

    @property
    def should_stop(self):
        return self.n_bad >= self.patience

    def restore(self, module):
        """Put the best check's weights back into ``module`` (nothing if no check scored)."""
        if self._weights is not None:
            module.load_state_dict(self._weights)

    def resume(self, module):
        """At the start of a warm start ``module`` holds the best check's weights, restored by
        the previous call: take them back if a pickled state left its copy out."""
        if self.iteration is not None and self._weights is None:
            self._weights = copy.deepcopy(module.state_dict())

    def __getstate__(self):
        # The weights are the module's own once restored: a pickled state does not copy them.
        return {**self.__dict__, "_weights": None}


def cut_learning_rate(optimizer, n_bad, patience, factor=0.25):
    """Multiply the learning rate by ``factor`` after every ``patience`` checks without a better one.

    Not :class:`torch.optim.lr_scheduler.ReduceLROnPlateau`: that compares one number per
    check, and a better check here is an ordered pair (accuracy, then log-loss).
    """
    if n_bad and n_bad % patience == 0:
        for group in optimizer.param_groups:
            group["lr"] *= factor


class TrainingState:
    """Everything a warm start continues from: optimizer, batch streams, update count (the KL
    annealing's step), early-stopping counters, history, and torch's random state."""

    def __init__(self, module, data, settings, rng):
        self.optimizer = make_optimizer(module, settings.learning_rate)
        self.labeled = BatchCycle([len(s) for s in data.ids_train], settings.batch_size, rng)
        self.unlabeled = (BatchCycle([len(s) for s in data.ids_unlabeled], settings.batch_size, rng)
                          if data.ids_unlabeled else None)
        self.early_stopping = EarlyStopping(settings.n_iter_no_change)
        self.history, self.n_updates, self.termination = [], 0, None
        self.torch_rng = None  # saved at the end of a call, restored by the next
        self.documents = None  # the caller's record of the documents a warm start must match

    def next_batch(self, data):
        rows = next(self.labeled)
        unlabeled = [] if self.unlabeled is None else [data.ids_unlabeled[i] for i in next(self.unlabeled)]
        return ([data.ids_train[i] for i in rows], data.y_train[rows].tolist()), unlabeled

    def to(self, device):
        """Move the optimizer's moments to ``device`` (its step counts stay on the CPU, as
        torch's AdamW keeps them); returns the state."""
        for moments in self.optimizer.state.values():
            for name, value in moments.items():
                if torch.is_tensor(value) and name != "step":
                    moments[name] = value.to(device)
        return self

    def save_torch_rng(self):
        self.torch_rng = (torch.get_rng_state(),
                          torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None)

    def restore_torch_rng(self):
        if self.torch_rng is not None:
            cpu, cuda = self.torch_rng
            torch.set_rng_state(cpu)
            if cuda is not None:
                torch.cuda.set_rng_state_all(cuda)


class Progress:
    """The progress bar of updates (``verbose >= 1``) and one line per check."""

    def __init__(self, settings):
        # Short enough for an 80-column terminal at 5-digit update counts and hour-long fits.
        self.bar = tqdm(total=settings.max_updates, disable=not settings.verbose, leave=False,
                        dynamic_ncols=True,
                        bar_format="{n_fmt}/{total_fmt} updates |{bar:10}| {elapsed}<{remaining}{postfix}")
        self.verbose = settings.verbose

    def update(self):
        self.bar.update()

    def check(self, record):
        if not self.verbose:
            return
        accuracy = record["valid_accuracy"]
        self.bar.set_postfix_str(f"check {record['iteration']}" + (
            "" if accuracy is None else f", valid {accuracy:.3f}"), refresh=False)
        self.bar.write(f"check {record['iteration']}: " + ", ".join(
            f"{k}={v:.3g}" for k, v in record.items() if k != "iteration" and v is not None))

    def close(self):
        self.bar.close()


def check_record(state, settings, sums, n_steps, scores, seconds):
    """The history entry of a check: updates so far, mean terms since the last check, scores."""
    record = {"iteration": len(state.history) + 1, "updates": state.n_updates}
    record.update({name: None for name in settings.history_terms})
    record.update({name: total / n_steps for name, total in sums.items()})
    accuracy, log_loss = scores
    record.update(valid_accuracy=accuracy, valid_log_loss=log_loss,
                  learning_rate=state.optimizer.param_groups[0]["lr"], seconds=seconds)
    return record


class Diverged(ArithmeticError):
    """A loss or a weight became NaN or infinite."""


def _check_terms(terms, step):
    bad = [name for name, value in terms.items() if not math.isfinite(value)]
    if bad:
        raise Diverged(f"{', '.join(bad)} not finite at update {step}")


def _check_weights(module, step):
    # at checks only: every update would synchronise a GPU once per weight
    bad = [name for name, weight in module.named_parameters() if not torch.isfinite(weight).all()]
    if bad:
        raise Diverged(f"weight {bad[0]} not finite after update {step}")


def train(module, loss_fn, data, settings, state):
    """Train ``module`` in place for ``settings.max_updates`` more updates, or until early stopping.

    Parameters
    ----------
    module : SSVAE
        On the device it trains on.
    loss_fn : callable
        ``loss_fn(module, tokens, lengths, labels, step) -> (loss, {name: tensor or float})``;
        ``labels`` are -1 on unlabeled rows, ``step`` counts updates from 0. A term is the
        mean over the rows of the pass that it concerns.
    data : TrainingData
    settings : TrainingSettings
    state : TrainingState
        Updated in place, and left ready for another call (a warm start). After a
        ``KeyboardInterrupt``, which propagates once the best weights are restored, it still
        tells how far training went.

    Raises
    ------
    ValueError
        If a loss or a weight becomes non-finite before any validation check has scored.
        After one, the best check's weights are restored, ``state.termination`` is
        "diverged" and a :class:`~sklearn.exceptions.ConvergenceWarning` is issued.
    """
    stopping, progress = state.early_stopping, Progress(settings)
    last_update = state.n_updates + settings.max_updates
    state.termination = "max_updates"
    state.restore_torch_rng()
    stopping.resume(module)
    module.train()
    try:
        while state.n_updates < last_update:
            start, sums = time.perf_counter(), defaultdict(float)
            n_steps = min(settings.interval, last_update - state.n_updates)
            for _ in range(n_steps):
                terms = update(module, state.optimizer, loss_fn, *state.next_batch(data),
                               step=state.n_updates, mixed_precision=settings.mixed_precision)
                state.n_updates += 1
                _check_terms(terms, state.n_updates)
                for name, value in terms.items():
                    sums[name] += value
                progress.update()
            _check_weights(module, state.n_updates)
            scores = (None, None)
            if data.ids_val is not None:
                scores = validation_scores(predict_logits(module, data.ids_val, settings.n_classes), data.y_val)
            record = check_record(state, settings, sums, n_steps, scores, time.perf_counter() - start)
            state.history.append(record)
            progress.check(record)
            if scores[0] is None or stopping.update(record["iteration"], *scores, module):
                continue
            if stopping.should_stop:
                state.termination = "no_change"
                break
            cut_learning_rate(state.optimizer, stopping.n_bad, settings.lr_patience)
    except Diverged as error:
        if stopping.iteration is None:
            raise ValueError(
                f"Training diverged ({error}) before any validation check: lower the "
                f"learning_rate (now {settings.learning_rate:g})."
            ) from error
        state.termination = "diverged"
        warnings.warn(
            f"Training diverged ({error}); the weights of check {stopping.iteration} are kept. "
            f"The learning rate ({settings.learning_rate:g}) is the likely cause: lower it.",
            ConvergenceWarning,
        )
    except KeyboardInterrupt:
        state.termination = "interrupted"
        raise
    finally:
        progress.close()
        state.save_torch_rng()
        stopping.restore(module)
        module.eval()
    if state.termination == "max_updates" and stopping.iteration == len(state.history):
        warnings.warn(
            f"Stopped at max_updates={settings.max_updates} while the validation score was still "
            "improving; consider raising max_updates.", ConvergenceWarning,
        )
    return state
