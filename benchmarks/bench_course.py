"""Whole-course time: every notebook top to bottom as a student runs it, quick profile, on this CPU.

    python benchmarks/bench_course.py                  # all notebooks, 2 at a time → results/course.json
    python benchmarks/bench_course.py --workers 1 nbs/00_core.ipynb

Unlike `nbdev-test`, which sets IN_TEST and so runs the test sizes, this runs the notebooks with IN_TEST unset and
HANDSOFF_PROFILE=cpu (the `[cpu]` course profile): the sizes a student gets in JupyterLab. Cells marked
`#| eval: false` or `#| gpu` are skipped, as a student on a CPU would skip them; `#| slow` cells run. Outputs are
not saved. Each notebook runs in its own process (a fresh kernel, as in JupyterLab); `--workers` run at once.
Goal: ≤ 15 min for the whole course on 2 CPU cores.
"""
import argparse, json, os, platform, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_ONE = """
import sys, nbdev.test as t
t.in_notebook = lambda: True  # keeps test_nb from setting IN_TEST: the student's sizes, not the test sizes
ok, secs = t.test_nb(sys.argv[1], skip_flags=['gpu', 'notest'], cell_timeout=None, basepath=sys.argv[2])
print(f'{secs:.1f}'); sys.exit(0 if ok else 1)
"""


def run_notebook(nb:Path) -> dict:
    "Execute `nb` in a fresh process with the student's settings → name, ok, seconds, error tail."
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}
    env.update(HANDSOFF_PROFILE='cpu', MPLBACKEND='Agg')
    t = time.time()
    p = subprocess.run([sys.executable, '-c', RUN_ONE, str(nb), str(ROOT)], capture_output=True, text=True, env=env)
    res = dict(notebook=nb.name, ok=p.returncode == 0, seconds=round(time.time() - t, 1))
    if p.returncode: res['error'] = (p.stderr or p.stdout)[-1500:]
    print(f"{nb.name:32s} {'ok ' if res['ok'] else 'FAIL'} {res['seconds']:7.1f} s", flush=True)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('notebooks', nargs='*', help='default: every nbs/*.ipynb')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'course.json'))
    a = ap.parse_args(argv)
    nbs = [Path(x) for x in a.notebooks] or sorted((ROOT/'nbs').glob('*.ipynb'))
    nbs = sorted(nbs, key=lambda p: -p.stat().st_size)  # big ones first: better packing on the workers
    t0, load0 = time.time(), os.getloadavg()[0]
    with ThreadPoolExecutor(a.workers) as ex: rows = list(ex.map(run_notebook, nbs))
    wall = time.time() - t0
    res = dict(meta=dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), workers=a.workers,
                         cpus=os.cpu_count(), profile='cpu', in_test=False, loadavg_start=load0,
                         loadavg_end=os.getloadavg()[0], python=platform.python_version(),
                         command='python benchmarks/bench_course.py ' + ' '.join(argv or sys.argv[1:])),
               wall_s=round(wall, 1), sum_s=round(sum(r['seconds'] for r in rows), 1), goal_s=15 * 60,
               all_ok=all(r['ok'] for r in rows), notebooks=sorted(rows, key=lambda r: r['notebook']))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(f"{len(rows)} notebooks, {'all ok' if res['all_ok'] else 'FAILURES'}: wall {wall / 60:.1f} min with "
          f"{a.workers} workers (sum {res['sum_s'] / 60:.1f} min); goal ≤ 15 min; wrote {a.out}")
    return res


if __name__ == '__main__':
    main()
