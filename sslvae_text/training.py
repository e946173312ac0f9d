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


def cycle_batches(lengths, batch_size, rng):
    """Length-bucketed batches of indices forever, reshuffled at every pass."""
    while True:
        yield from bucketed_batches(lengths, batch_size, rng)


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


class TrainingResult:
    """What a training run leaves: the per-check history and why it stopped."""

    def __init__(self):
        self.history, self.n_updates = [], 0
        self.best_iteration, self.best_accuracy, self.best_log_loss = None, None, None
        self.termination = "max_updates"


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


def train(
    module, loss_fn, *, ids_train, y_train, ids_unlabeled, ids_val, y_val, n_classes, batch_size,
    learning_rate, interval, lr_patience, n_iter_no_change, max_updates, mixed_precision, rng,
    history_terms=(), verbose=0, result=None,
):
    """Train ``module`` in place; returns a :class:`TrainingResult`.

    Parameters
    ----------
    module : SSVAE
        On the device it trains on.
    loss_fn : callable
        ``loss_fn(module, tokens, lengths, labels, step) -> (loss, {name: tensor or float})``;
        ``labels`` are -1 on unlabeled rows, ``step`` counts updates from 0. A term is the
        mean over the rows of the pass that it concerns.
    ids_train, y_train : list of arrays, ndarray
        Encoded labeled documents and their class indices.
    ids_unlabeled : list of arrays
        Encoded unlabeled documents; each update adds a batch of them when there are any.
    ids_val, y_val : list of arrays or None, ndarray or None
        Validation documents; None trains ``max_updates`` updates and keeps the last weights.
    interval : int
        Updates between validation checks (one history entry per check).
    result : TrainingResult or None
        Filled in place (a new one if None): after a ``KeyboardInterrupt``, which propagates
        once the best weights are restored, it still tells how far training went.
    """
    optimizer = make_optimizer(module, learning_rate)
    labeled = cycle_batches(np.array([len(s) for s in ids_train]), batch_size, rng)
    unlabeled = (cycle_batches(np.array([len(s) for s in ids_unlabeled]), batch_size, rng)
                 if ids_unlabeled else None)
    result = TrainingResult() if result is None else result
    best_state, n_bad = None, 0
    # Short enough for an 80-column terminal at 5-digit update counts and hour-long fits.
    progress = tqdm(total=max_updates, disable=not verbose, leave=False, dynamic_ncols=True,
                    bar_format="{n_fmt}/{total_fmt} updates |{bar:10}| {elapsed}<{remaining}{postfix}")
    try:
        while result.n_updates < max_updates:
            check = len(result.history) + 1
            start = time.perf_counter()
            module.train()
            sums = defaultdict(float)
            n_steps = min(interval, max_updates - result.n_updates)
            for _ in range(n_steps):
                rows = next(labeled)
                extra = [] if unlabeled is None else [ids_unlabeled[i] for i in next(unlabeled)]
                terms = update(module, optimizer, loss_fn, ([ids_train[i] for i in rows], y_train[rows].tolist()),
                               extra, step=result.n_updates, mixed_precision=mixed_precision)
                result.n_updates += 1
                for name, value in terms.items():
                    sums[name] += value
                progress.update()
            record = {"iteration": check, "updates": result.n_updates}
            record.update({name: None for name in history_terms})
            record.update({name: total / n_steps for name, total in sums.items()})
            accuracy = log_loss = None
            if ids_val is not None:
                accuracy, log_loss = validation_scores(predict_logits(module, ids_val, n_classes), y_val)
            record.update(valid_accuracy=accuracy, valid_log_loss=log_loss,
                          learning_rate=optimizer.param_groups[0]["lr"],
                          seconds=time.perf_counter() - start)
            result.history.append(record)
            if verbose:
                progress.set_postfix_str(f"check {check}" + (
                    "" if accuracy is None else f", valid {accuracy:.3f}"), refresh=False)
                progress.write(f"check {check}: " + ", ".join(
                    f"{k}={v:.3g}" for k, v in record.items() if k != "iteration" and v is not None))
            if accuracy is None:
                continue
            if best_state is None or (accuracy, -log_loss) > (result.best_accuracy, -result.best_log_loss):
                result.best_iteration, result.best_accuracy, result.best_log_loss = check, accuracy, log_loss
                best_state, n_bad = copy.deepcopy(module.state_dict()), 0
                continue
            n_bad += 1
            if n_bad >= n_iter_no_change:
                result.termination = "no_change"
                break
            if n_bad % lr_patience == 0:
                for group in optimizer.param_groups:
                    group["lr"] *= 0.25
    except KeyboardInterrupt:
        result.termination = "interrupted"
        raise
    finally:
        progress.close()
        if best_state is None:
            result.best_iteration = len(result.history)
        else:
            module.load_state_dict(best_state)
        module.eval()
    if (best_state is not None and result.termination == "max_updates"
            and result.best_iteration == len(result.history)):
        warnings.warn(
            f"Stopped at max_updates={max_updates} while the validation score was still "
            "improving; consider raising max_updates.", ConvergenceWarning,
        )
    return result
