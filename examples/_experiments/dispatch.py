"""Running a sweep: joblib's processes, or the workers of a dask cluster (--dask-scheduler,
--dask-local), with progress lines, skipping the fits the run log already holds."""

import contextlib
import hashlib
import tempfile
import time
import zipfile
from pathlib import Path

from sklearn.model_selection import ParameterGrid

from .fits import describe, fit_one, has_alpha
from .paper import DISPLAY


def _dask_client(args, stack):
    """A dask client of the named scheduler, or of a local cluster with ``--dask-local``, whose
    scheduler and workers can import this package of examples."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as error:
        raise SystemExit("The dask backend needs dask[distributed]: pip install 'sslvae-text[dask]'") from error
    if args.dask_scheduler:
        client = stack.enter_context(Client(args.dask_scheduler, timeout=args.dask_timeout))
    else:
        cluster = stack.enter_context(LocalCluster(
            n_workers=max(1, args.n_jobs), threads_per_worker=1, processes=True, dashboard_address=None))
        client = stack.enter_context(Client(cluster))
    # The cluster's processes import sslvae_text, but not this package, and the scheduler unpickles
    # each task: upload the package as a zip, which dask puts on their path (new workers too).
    folder = stack.enter_context(tempfile.TemporaryDirectory())
    client.upload_file(_zip_package(Path(folder)))
    return client


def _zip_package(folder):
    """This package's source in a zip, named by its content."""
    root = Path(__file__).resolve().parent
    sources = sorted(root.glob("*.py"))
    digest = hashlib.sha1(b"".join(path.read_bytes() for path in sources)).hexdigest()[:12]
    path = folder / f"sslvae_examples_{digest}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for source in sources:
            archive.write(source, f"{root.name}/{source.name}")
    return str(path)


def _on_dask(client, todo, timeout):
    """Records of the jobs run on the cluster's workers, as they finish.

    Every job is a task of its own (not joblib's dask backend, which runs everything in this
    process when the cluster reports one core). A task that fails, on a worker or because the
    cluster cannot deserialise it, ends the sweep with its error; so does a cluster left
    without workers for ``timeout`` seconds, instead of a sweep that waits forever.
    """
    from dask.distributed import as_completed

    futures = {client.submit(fit_one, job, pure=False, key=f"fit-{i}"): job for i, job in enumerate(todo)}
    # with_results: each record comes back as its fit ends, never later from a worker since lost
    pending = as_completed(futures, with_results=True, raise_errors=False)
    alone_since = None
    while not pending.is_empty():
        done = pending.next_batch(block=False)
        for future, result in done:
            if future.status == "finished":
                yield result
                continue
            client.cancel(list(futures))
            error = result[1] if isinstance(result, tuple) else result  # (type, error, traceback)
            cause = error.__cause__ or error.__context__
            raise SystemExit(
                f"dask: {describe(futures[future])} failed on the cluster: {type(error).__name__}: "
                f"{' '.join(str(error).split())}" + (f" ({type(cause).__name__}: {cause})" if cause else "")
            ) from error
        if done:
            continue
        workers = client.nthreads()  # asks the scheduler; scheduler_info() may be a cached copy
        alone_since = None if workers else alone_since or time.monotonic()
        if alone_since is not None and time.monotonic() - alone_since > timeout:
            client.cancel(list(futures))
            raise SystemExit(f"dask: the cluster at {client.scheduler.address} has had no worker for "
                             f"{timeout:g} s; {pending.count()} fits unfinished. Start workers, "
                             "then rerun: finished fits are kept.")
        time.sleep(0.2)


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
    with contextlib.ExitStack() as stack:
        if args.dask_scheduler or args.dask_local:
            client = _dask_client(args, stack)
            print(f"dask: {client}", flush=True)
            records = _on_dask(client, todo, args.dask_timeout)
        else:
            records = joblib.Parallel(n_jobs=args.n_jobs, return_as="generator_unordered",
                                      pre_dispatch="n_jobs")(joblib.delayed(fit_one)(job) for job in todo)
        for done, record in enumerate(records, 1):
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


def make_jobs(dataset, runs, objectives, alphas, settings, *, config, tests=None, test_sets=None):
    """One job per (run, objective, alpha), run-major: every objective of run 0 comes first.

    Every job carries the sweep's :class:`FitSettings`. ``tests`` names the test sets scored
    (default: the dataset's own), ``test_sets`` holds their documents when they are not the
    run's own test set.
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
                    data=data, settings=settings,
                ))
    return jobs
