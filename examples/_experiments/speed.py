"""The time of one optimisation iteration of every SSVAE variant, side by side (Table 3)."""

import numpy as np

from .paper import OBJECTIVES


ARCHITECTURES = {"two encoders": False, "shared encoder": True}  # name: shared_encoder


def time_iterations(dataset, run, settings, *, device="cpu", n_iterations=200, warmup=5, seed=0):
    """Time of one optimisation iteration of every SSVAE variant, side by side, on real documents,
    with the sweep's :class:`FitSettings` (its vectors set the embeddings' size).

    An iteration is one labeled + one unlabeled batch of the run's documents (length-bucketed as
    ``fit`` forms them, truncated to the dataset's max length), forward, backward and the AdamW
    step. The timing itself is ``benchmark_speed.Case.step`` (examples/benchmark_speed.py), which
    builds the package's module and loss as the estimator does. Both architectures are timed:
    the paper's two encoders (one BiLSTM for y, one for z) and ``shared_encoder=True``; without
    z they are the same network, timed once. Every configuration takes its turn on the same
    batch (round-robin), so a busy machine slows them alike.

    Returns {architecture: {objective: dict(ms=mean, std_ms, ratio=mean time / the SSVAE's of
    the same architecture, ratio_std=std of the per-iteration ratios, median_ratio,
    n_iterations, times_ms=[...])}}.
    """
    import torch
    from benchmark_speed import Case

    from sslvae_text import recipe
    from sslvae_text.text import tokenize
    from sslvae_text.training import BatchCycle

    params = settings.estimator("SSVAE", dataset, run=0).get_params()
    rng = np.random.RandomState(seed)
    torch.manual_seed(seed)
    tokenized_l = [tokenize(x) for x in run.X_train]
    tokenized_u = [tokenize(x) for x in run.X_unlabeled]
    vocabulary = recipe.vocabulary(params, tokenized_l + tokenized_u)
    ids_l, ids_u = recipe.encode(params, vocabulary, tokenized_l), recipe.encode(params, vocabulary, tokenized_u)
    # the vectors' size ("auto"): only the layers that read the embeddings change
    params["embedding_dim"] = recipe.embedding_matrix(params, vocabulary, tokenized_l + tokenized_u, seed=seed)[2]
    classes, y = np.unique(run.y_train, return_inverse=True)
    batch_size = params["batch_size"]

    def cycle(ids):  # full batches only, so that every iteration times the same amount of work
        batches = BatchCycle([len(s) for s in ids], batch_size, rng)
        return (rows for rows in batches if len(rows) == batch_size)

    threads = torch.get_num_threads()
    cases = {}
    for architecture, shared in ARCHITECTURES.items():
        for name, (_, _, flags) in OBJECTIVES.items():
            if not flags:
                continue  # the supervised baseline is not in Table 3
            first = next(iter(ARCHITECTURES))
            if not flags["use_z"] and architecture != first:
                cases[architecture, name] = cases[first, name]  # no z: one network
                continue
            cases[architecture, name] = Case(
                objective=OBJECTIVES[name][0], n_classes=len(classes), vocab=len(vocabulary),
                device=device, threads=threads, output_layer=params["output_layer"],
                autocast="none", adamw="default", compiled=False, params=params,
                shared_encoder=shared)
    labeled, unlabeled = cycle(ids_l), cycle(ids_u)
    order = list(dict.fromkeys(cases.values()))
    for i in range(warmup + n_iterations):
        rows_l, rows_u = next(labeled), next(unlabeled)
        batch = ([ids_l[r] for r in rows_l] + [ids_u[r] for r in rows_u],
                 y[rows_l].tolist() + [-1] * len(rows_u))
        order = order[1:] + order[:1]  # who goes first changes every iteration
        for case in order:
            case.step(batch, timed=i >= warmup)
    out = {}
    for (architecture, name), case in cases.items():
        base = np.asarray(cases[architecture, "SSVAE"].times)
        times = np.asarray(case.times)
        ratios = times / base
        out.setdefault(architecture, {})[name] = dict(
            ms=1000 * times.mean(), std_ms=1000 * times.std(ddof=1),
            ratio=float(times.mean() / base.mean()), ratio_std=float(ratios.std(ddof=1)),
            median_ratio=float(np.median(ratios)), n_iterations=len(times),
            times_ms=[round(1000 * t, 3) for t in times])
    return out
