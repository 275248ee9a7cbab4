"""ToyFaces rendering speed: images/s at 32, 64 and 128 px (median of a few repeats).

Usage: python benchmarks/bench_toyfaces.py [--repeats 5] [--batch 512] [--sizes 32 64 128]
Prints a table and writes benchmarks/results/toyfaces.json. The target is >= 500 images/s at 64x64
on 2 CPU cores. Each row is measured with torch's default thread count and with one thread: on a
shared machine, OpenMP threads that wait for each other can make 2 threads slower than 1, and the
load average (recorded) tells how busy the machine was.
"""
import argparse, datetime, json, os, platform, statistics, time
from pathlib import Path
import numpy as np
import torch
from handsoff_nb.data import render_toyfaces, TOYFACES_VERSION

TARGET = 500  # images/s at 64x64


def rate(size:int, batch:int, repeats:int, threads:int) -> list:
    "Images/s of `repeats` timed renders of `batch` fresh seeds (after one warm-up)."
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        render_toyfaces(range(batch), size)  # warm-up
        out = []
        for r in range(repeats):
            seeds = range((r + 1) * batch, (r + 2) * batch)
            t0 = time.perf_counter()
            render_toyfaces(seeds, size)
            out.append(batch / (time.perf_counter() - t0))
        return out
    finally: torch.set_num_threads(old)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--batch', type=int, default=512)
    ap.add_argument('--sizes', type=int, nargs='+', default=[32, 64, 128])
    ap.add_argument('--out', default=str(Path(__file__).parent/'results'/'toyfaces.json'))
    a = ap.parse_args()
    default_threads = torch.get_num_threads()
    load0 = os.getloadavg()
    rows = []
    for size in a.sizes:
        for th in sorted({default_threads, 1}, reverse=True):
            r = rate(size, a.batch, a.repeats, th)
            rows.append(dict(size=size, threads=th, batch=a.batch, median=round(statistics.median(r), 1),
                             min=round(min(r), 1), max=round(max(r), 1)))
    print(f"{'size':>5} {'threads':>7} {'batch':>6} {'median img/s':>13} {'min':>8} {'max':>8}")
    for r in rows:
        print(f"{r['size']:>5} {r['threads']:>7} {r['batch']:>6} {r['median']:>13.0f} "
              f"{r['min']:>8.0f} {r['max']:>8.0f}")
    best64 = max((r['median'] for r in rows if r['size'] == 64), default=None)
    res = dict(benchmark='toyfaces', date=datetime.datetime.now().isoformat(timespec='seconds'),
               torch=torch.__version__, numpy=np.__version__, python=platform.python_version(),
               machine=platform.machine(), processor=platform.processor(), cpu_count=os.cpu_count(),
               default_threads=default_threads, toyfaces_version=TOYFACES_VERSION,
               repeats=a.repeats, loadavg_before=[round(x, 2) for x in load0],
               loadavg_after=[round(x, 2) for x in os.getloadavg()], target_64=TARGET,
               meets_target_64=None if best64 is None else best64 >= TARGET, rows=rows)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + '\n')
    print(f"best median at 64x64: {best64} img/s (target {TARGET}); load average "
          f"{res['loadavg_before']} -> {res['loadavg_after']}; wrote {out}")


if __name__ == '__main__': main()
