"""Running a sweep: joblib dispatch (loky, or dask with --dask-scheduler/--dask-local) with
progress lines, skipping the fits the run log already holds."""

import contextlib
import sys
import time
from pathlib import Path

from sklearn.model_selection import ParameterGrid

from .fits import describe, fit_one, has_alpha
from .paper import DISPLAY


@contextlib.contextmanager
def _backend(args):
    """joblib's default (loky) backend, or dask's when a scheduler is named or ``--dask-local``."""
    if not (args.dask_scheduler or args.dask_local):
        yield
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as error:
        raise SystemExit("The dask backend needs dask[distributed]: pip install 'sslvae-text[dask]'") from error
    # Workers import sslvae_text but not this file: ship its functions by value.
    import cloudpickle
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with contextlib.ExitStack() as stack:
        if args.dask_scheduler:
            client = stack.enter_context(Client(args.dask_scheduler))
        else:
            cluster = stack.enter_context(LocalCluster(
                n_workers=max(1, args.n_jobs), threads_per_worker=1, processes=True,
                dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        print(f"dask: {client}", flush=True)
        import joblib
        with joblib.parallel_backend("dask"):
            yield


def sweep(jobs, log, args, report, table):
    """Run the jobs ``log`` lacks, run 0 of everything first, calling ``report()`` after each
    fit and at the end (``report(final=True)``); print the Markdown ``table`` it writes."""
    jobs.sort(key=lambda job: job["run"])
    n_fits = run_jobs(jobs, log, args, on_record=report)
    report(final=True)
    print((Path(args.results) / table).read_text())
    return n_fits


def run_jobs(jobs, log, args, on_record=None):
    """Run the jobs that ``log`` lacks through joblib, recording each one as it finishes.

    ``jobs`` are in priority order (e.g. run 0 of every objective and alpha first). Prints one
    line per finished fit: how many are done and left, and the elapsed time.
    Returns the number of fits run.
    """
    import joblib

    todo = [job for job in jobs if log.find(job, job["tests_needed"]) is None]
    print(f"{len(jobs)} fits in this sweep: {len(jobs) - len(todo)} already in {log.path}, "
          f"{len(todo)} " + ("not run (--report-only)." if args.report_only else "to run."), flush=True)
    if not todo or args.report_only:
        return 0
    start = time.perf_counter()
    with _backend(args):
        n_jobs = -1 if (args.dask_scheduler or args.dask_local) else args.n_jobs
        parallel = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered", pre_dispatch="n_jobs")
        for done, record in enumerate(parallel(joblib.delayed(fit_one)(job) for job in todo), 1):
            log.add(record)
            elapsed = time.perf_counter() - start
            rate = elapsed / done
            tests = " ".join(f"test[{DISPLAY[k]}]={v:.4f}" for k, v in record["accuracy"].items())
            val = "-" if record["val_accuracy"] is None else f"{record['val_accuracy']:.4f}"
            updates = "" if record["n_updates"] is None else f"{record['n_updates']} updates, "
            print(f"[{done}/{len(todo)} done, {len(todo) - done} left, {hms(elapsed)} elapsed, "
                  f"~{hms(rate * (len(todo) - done))} to go] {describe(record)}: "
                  f"val={val} {tests} ({updates}{record['seconds']:.0f} s)", flush=True)
            if on_record is not None:
                on_record()
    return len(todo)


def hms(seconds):
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def make_jobs(dataset, runs, objectives, alphas, args, *, config, tests=None, test_sets=None):
    """One job per (run, objective, alpha), run-major: every objective of run 0 comes first.

    ``tests`` names the test sets scored (default: the dataset's own), ``test_sets`` holds their
    documents when they are not the run's own test set.
    """
    tests = tests or [dataset]
    jobs = []
    for run in runs:
        data = dict(X_train=run.X_train, y_train=run.y_train, X_val=run.X_val, y_val=run.y_val,
                    X_unlabeled=run.X_unlabeled,
                    tests={t: (run.X_test, run.y_test) if t == dataset else test_sets[t] for t in tests})
        for objective in objectives:
            grid = ParameterGrid({"alpha": alphas}) if has_alpha(objective) else [{"alpha": None}]
            for params in grid:
                jobs.append(dict(
                    dataset=dataset, objective=objective, labeled_proportion=run.labeled_proportion,
                    run=run.run, alpha=params["alpha"], config=config, tests_needed=tests,
                    data=data, quick=args.quick, max_updates=args.max_updates, device=args.device,
                    embeddings=args.embeddings, freeze_embeddings=args.freeze_embeddings,
                    threads=args.threads, output_layer=args.output_layer,
                    shared_encoder=args.shared_encoder, paper_schedule=args.paper_schedule,
                ))
    return jobs
