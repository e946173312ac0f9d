"""Table 3 of Felhi et al. (2021): time of an optimisation iteration relative to standard SSVAE.

For each dataset, the four SSVAE variants train side by side in one process on the documents
of the protocol's run 0 (one labeled batch of 32 + one unlabeled batch of 32 per iteration,
truncated to the dataset's max length), taking turns on the same batches; the mean time of an
iteration (forward, backward and the AdamW step) over ``--iterations`` (200, as the paper)
is divided by SSVAE's. Both architectures are timed in the same round-robin: the paper's (a
BiLSTM for y and another for z, the default) and ``shared_encoder=True``. On ``--device``
(default the CPU; ``auto``: the CPU, then CUDA when torch finds it). The timing is ``Case.step`` of ``examples/benchmark_speed.py``.

    python examples/table3_speed.py --data-home ../shared/data --results results/table3
    python examples/table3_speed.py --quick --results /tmp/t3

Writes ``runs.jsonl`` (one line per finished (dataset, device), skipped by a rerun),
``table3.csv`` and ``table3.md`` into ``--results``. Parentheses: standard deviation of the
per-iteration ratio (variant's time / SSVAE's time on the same batch).
"""

import sys
import time
from pathlib import Path

import _experiments as ex

VARIANTS = ("SSVAE", "SSVAE-{KL}", "SSVAE-{z}", "SSVAE-{KL,z}")


def speed_job(dataset, device, args):
    iterations = ex.QUICK_SPEED_ITERATIONS if args.quick else args.iterations
    return dict(dataset=dataset, objective="speed", labeled_proportion=1.0, run=0, alpha=None,
                config=args.settings.fingerprint(extra=_extra(device, iterations)),
                kind="speed", device=device, iterations=iterations)


def _extra(device, iterations):
    return {"device": device, "iterations": iterations, "architectures": list(ex.ARCHITECTURES)}


def write_report(log, args, devices, notes):
    # the latest record of each (dataset, device) made with these settings, whatever its
    # number of iterations (the table says it)
    records = {(r["dataset"], r["device"]): r for r in log.records if r.get("kind") == "speed"
               and r["config"] == args.settings.fingerprint(extra=_extra(r["device"], r["iterations"]))}
    lines = ex.header_lines("Table 3: time of an iteration relative to SSVAE", args, notes)
    csv_rows = []
    for device in devices:
        rows = []
        for dataset in args.datasets:
            record = records.get((dataset, device))
            for architecture in ex.ARCHITECTURES:
                row = [ex.DISPLAY[dataset], architecture]
                variants = None if record is None else record["architectures"][architecture]
                for variant in VARIANTS[1:]:
                    if variants is None:
                        row.append("-")
                    else:
                        v = variants[variant]
                        row.append(f"{v['ratio']:.3f}({v['ratio_std']:.2f}) [{v['median_ratio']:.3f}]")
                    paper = ex.PAPER_TABLE3[dataset][variant]
                    row.append(f"{paper[0]:.3f}({paper[1]:.2f})")
                row += ["-", "-", "-"] if variants is None else [
                    f"{variants['SSVAE']['ms']:.0f}", record["iterations"], record["threads"]]
                rows.append(row)
                for variant, v in (variants or {}).items():
                    csv_rows.append(dict(dataset=dataset, device=device, architecture=architecture,
                                         objective=variant, run=0, alpha="",
                                         iterations=v["n_iterations"], ms_per_iteration=round(v["ms"], 3),
                                         std_ms=round(v["std_ms"], 3), relative_to_ssvae=round(v["ratio"], 4),
                                         relative_std=round(v["ratio_std"], 4),
                                         median_relative=round(v["median_ratio"], 4),
                                         seconds=round(v["ms"] * v["n_iterations"] / 1000, 2),
                                         threads=record["threads"]))
        header = ["Dataset", "Encoders"] + [f"{v} {w}" for v in VARIANTS[1:] for w in ("(ours)", "(paper)")] + [
            "SSVAE ms/iteration", "timed iterations", "torch threads"]
        lines += [f"## {device}", "",
                  ex.markdown_table(header, rows), ""]
    lines += ["Mean time of an iteration (one labeled + one unlabeled batch of 32, forward, "
              "backward, AdamW step) over the timed iterations, divided by SSVAE's; in parentheses "
              "the standard deviation of the per-iteration ratio, in brackets its median (robust to "
              "the machine's other load). Ratios are to the SSVAE of the same architecture: \"two "
              "encoders\" is the paper's (a BiLSTM for y and another for z), \"shared encoder\" is "
              "`shared_encoder=True`; without z the two are the same network. The paper's parentheses are "
              "printed as published (their unit is not stated).", ""]
    ex.write_text(Path(args.results) / "table3.md", "\n".join(lines))
    ex.write_csv(Path(args.results) / "table3.csv", csv_rows,
                 ["dataset", "device", "architecture", "objective", "run", "alpha", "iterations", "ms_per_iteration",
                  "std_ms", "relative_to_ssvae", "relative_std", "median_relative", "seconds", "threads"])


def main(argv=None):
    ap = ex.parser(__doc__, Path(__file__).name, alphas=False, peers=False, fits=False)
    ap.add_argument("--iterations", type=int, default=200, help="timed iterations per dataset and device")
    ap.add_argument("--warmup", type=int, default=5, help="untimed iterations first")
    args = ex.finish_args(ap.parse_args(argv), argv)
    import torch

    # Tiny quick-mode networks: one thread (two fight over a busy machine's cores).
    with ex.torch_threads(args.threads or (1 if args.quick else None)):
        return _main(args, torch)


def _main(args, torch):
    # --device auto: the CPU, and CUDA too when torch finds it
    devices = {"cpu": ["cpu"], "cuda": ["cuda"]}.get(args.device, ["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    log = ex.RunLog(args.results)
    notes, n_done, start = {}, 0, time.perf_counter()
    todo = [(d, dev) for d in args.datasets for dev in devices]
    for i, (dataset, device) in enumerate(todo, 1):
        job = speed_job(dataset, device, args)
        if log.find(job) is not None:
            print(f"[{i}/{len(todo)}] {ex.DISPLAY[dataset]} {device}: already in {log.path}, skipped")
            if dataset not in notes:
                notes[dataset] = log.find(job).get("note", "")
            continue
        if args.report_only:
            continue
        runs, notes[dataset] = ex.load_runs(dataset, args.data_home, quick=args.quick,
                                            train_file=args.train_files.get(dataset), cache=args.cache)
        print(f"[{i}/{len(todo)}, {ex.hms(time.perf_counter() - start)} elapsed] timing "
              f"{ex.DISPLAY[dataset]} on {device}: {job['iterations']} iterations x {len(VARIANTS)} variants "
              f"x {len(ex.ARCHITECTURES)} architectures ...",
              flush=True)
        t0 = time.perf_counter()
        architectures = ex.time_iterations(dataset, runs[0], args.settings, device=device,
                                           n_iterations=job["iterations"], warmup=args.warmup)
        log.add(dict(job, architectures=architectures, threads=torch.get_num_threads(), note=notes[dataset],
                     seconds=round(time.perf_counter() - t0, 1), finished=time.strftime("%Y-%m-%d %H:%M:%S")))
        n_done += 1
        for architecture, variants in architectures.items():
            print(f"    {architecture}: " + ", ".join(
                f"{k} {v['ms']:.0f} ms ({v['ratio']:.3f})" for k, v in variants.items()), flush=True)
        write_report(log, args, devices, notes)
    write_report(log, args, devices, notes)
    print((Path(args.results) / "table3.md").read_text())
    return n_done


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
