"""A shared CPU: label-generator training and HandsOff generation, alone and beside a busy loop.

    python benchmarks/bench_contention.py                  # → results/contention.json and a table
    python benchmarks/bench_contention.py --seconds 10 --settings before after --load "what else runs"

Each *setting* is a torch thread count and an OpenMP wait policy, measured in a fresh worker process (the policy
is read when torch loads OpenMP, so it cannot change inside one process):
- `before`: what `handsoff-nb` did before 2026-11-30: torch's defaults (one thread per core, the OpenMP default
  wait policy, which spins before sleeping);
- `after`: what `handsoff-nb` does now: the worker imports `handsoff_nb.cli` before torch (that sets the wait
  policy) and calls `handsoff_nb.core.cpu_defaults()` as the command does;
- `t1`, `t2`, `t2-passive`, `t2-active`, `t1-passive`: the choices behind `after`.

Each worker runs two workloads for `--seconds` each, after a warm-up: label-generator training steps
(`handsoff_nb.label_generator.lg_step` on the shipped generator, the labeled few's latents from the shipped
encoder, the course profile's ensemble size, batch 4 × 1,024 pixels, as `handsoff-nb generate` trains it) and
generation (`predict_labels` on batches of 16 truncated latents: image + mask, keypoints, depth, uncertainty).
Every setting runs twice: alone, and with a busy-loop process (`while True: pass`) pinned to the last core.
The two runs of a setting are interleaved and repeated `--repeats` times; we report the median rate and the
slowdown = alone ÷ busy. The machine may be shared: the 1-minute load average is stored with each run, and
`--load` records, in words, what else was running. On a busy machine, `--nice -20` (as root) runs the worker and
the busy loop at the highest priority, so that other processes get about 1 % of a core each (CFS weights 88761 vs
1024) and the two conditions approach an idle machine with and without one busy core.
"""
import argparse, json, os, platform, statistics, subprocess, sys, time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {  # name → (torch threads or None for torch's default, OMP_WAIT_POLICY or None for the default)
    'before': (None, None), 'after': ('cli', 'cli'),
    't1': (1, None), 't2': (2, None), 't2-passive': (2, 'PASSIVE'), 't2-active': (2, 'ACTIVE'),
    't1-passive': (1, 'PASSIVE'),
}


def worker(setting:str, seconds:float) -> dict:
    "Run both workloads in this process under `setting` → rates (it/s, images/s)."
    threads, policy = SETTINGS[setting]
    if setting == 'after':
        import handsoff_nb.cli  # noqa: F401  (sets the OpenMP wait policy before torch loads)
        from handsoff_nb.core import cpu_defaults
        import torch
        cpu_defaults()
    else:
        import torch
        if threads: torch.set_num_threads(threads)
    from handsoff_nb.core import load_profile
    from handsoff_nb.data import shipped_labeled
    from handsoff_nb.stylegan2 import shipped_generator
    from handsoff_nb.inversion import shipped_encoder
    from handsoff_nb.label_generator import LGConfig, make_label_generator, lg_step, predict_labels
    from handsoff_nb.inversion import frozen, step_generator
    from handsoff_nb.generate import latents_for
    torch.manual_seed(0)
    G, w_avg, _ = shipped_generator()
    lab = shipped_labeled(size=G.size)
    N = load_profile('cpu').n_labeled
    with torch.no_grad(): ws = shipped_encoder()(lab['img'][:N])
    labels = {k: lab[k][:N] for k in ('mask', 'kps', 'depth')}
    lg = make_label_generator(LGConfig.for_generator(G, labels, ensemble_size=load_profile('cpu').ensemble_size))
    opt = torch.optim.Adam(lg.parameters(), lr=1e-3)
    res = dict(threads=torch.get_num_threads(), omp_wait_policy=os.environ.get('OMP_WAIT_POLICY'))

    def rate(step, warmup:int, unit:int=1) -> float:
        for i in range(warmup): step(i)
        n, t0 = 0, time.perf_counter()
        while n < 2 or time.perf_counter() - t0 < seconds: step(warmup + n); n += 1
        return n * unit / (time.perf_counter() - t0)

    with frozen(G):
        res['lg_it_s'] = rate(lambda t: lg_step(G, lg.train(), ws, labels, opt, step_generator(0, t)), 3)
    lg.eval()
    res['gen_img_s'] = rate(lambda b: predict_labels(G, lg, latents_for(G, range(16 * b, 16 * b + 16), w_avg), 16),
                            1, 16)
    return res


def _niced(nice:int):
    "A `preexec_fn` that changes the child's niceness by `nice`."
    return (lambda: os.nice(nice)) if nice else None


def busy_loop(cpu:int, nice:int=0) -> subprocess.Popen:
    "A process that keeps core `cpu` busy until killed."
    return subprocess.Popen([sys.executable, '-c', f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"],
                            preexec_fn=_niced(nice))


def measure(setting:str, busy:bool, seconds:float, nice:int=0) -> dict:
    "One worker process under `setting`, with or without the busy loop → its rates and the load average."
    threads, policy = SETTINGS[setting]
    env = {k: v for k, v in os.environ.items() if k not in ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'MKL_NUM_THREADS')}
    if policy and policy != 'cli': env['OMP_WAIT_POLICY'] = policy
    hog = busy_loop(max(os.sched_getaffinity(0)), nice) if busy else None
    try:
        time.sleep(0.5 if busy else 0)
        load0 = os.getloadavg()[0]
        r = subprocess.run([sys.executable, __file__, '--worker', setting, '--seconds', str(seconds)], env=env,
                           capture_output=True, text=True, timeout=60 * seconds + 600, preexec_fn=_niced(nice))
    finally:
        if hog: hog.kill(); hog.wait()
    if r.returncode: raise RuntimeError(f"worker {setting} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1]) | dict(busy=busy, loadavg=round(load0, 2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--settings', nargs='+', default=['before', 'after', 't1', 't2-passive', 't2-active'],
                    choices=list(SETTINGS))
    ap.add_argument('--seconds', type=float, default=8., help='seconds per workload and run')
    ap.add_argument('--repeats', type=int, default=1)
    ap.add_argument('--load', default='', help='what else ran on the machine, in words')
    ap.add_argument('--nice', type=int, default=0, help='niceness change of the worker and the busy loop (root may '
                    'give -20: other work on the machine then gets ~1%% of a core, which emulates an idle machine)')
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'contention.json'))
    ap.add_argument('--worker', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker: print(json.dumps(worker(a.worker, a.seconds))); return
    if a.seconds <= 0 or a.repeats <= 0: ap.error('--seconds and --repeats must be positive')
    t0, runs = time.time(), []
    for rep in range(a.repeats):
        for s in a.settings:
            for busy in (False, True):
                runs.append(dict(setting=s, repeat=rep, **measure(s, busy, a.seconds, a.nice)))
                r = runs[-1]
                print(f"{s:11s} {'busy' if busy else 'alone':5s} threads {r['threads']} policy "
                      f"{r['omp_wait_policy'] or 'default':8s} lg {r['lg_it_s']:7.2f} it/s  gen {r['gen_img_s']:7.1f} img/s"
                      f"  (load {r['loadavg']})", flush=True)
    summary = {}
    for s in a.settings:
        row = {}
        for busy in (False, True):
            rs = [r for r in runs if r['setting'] == s and r['busy'] == busy]
            tag = 'busy' if busy else 'alone'
            row[f'lg_it_s_{tag}'] = round(statistics.median(r['lg_it_s'] for r in rs), 3)
            row[f'gen_img_s_{tag}'] = round(statistics.median(r['gen_img_s'] for r in rs), 2)
            row['threads'], row['omp_wait_policy'] = rs[0]['threads'], rs[0]['omp_wait_policy'] or 'default'
        row['lg_slowdown'] = round(row['lg_it_s_alone'] / row['lg_it_s_busy'], 2)
        row['gen_slowdown'] = round(row['gen_img_s_alone'] / row['gen_img_s_busy'], 2)
        summary[s] = row
    lines = ['| setting | threads | OMP wait policy | lg it/s alone | lg it/s, 1 core busy | slowdown | '
             'gen img/s alone | gen img/s, 1 core busy | slowdown |', '|---|---|---|---|---|---|---|---|---|']
    for s, r in summary.items():
        lines.append(f"| {s} | {r['threads']} | {r['omp_wait_policy']} | {r['lg_it_s_alone']:.2f} | "
                     f"{r['lg_it_s_busy']:.2f} | {r['lg_slowdown']:.1f}× | {r['gen_img_s_alone']:.1f} | "
                     f"{r['gen_img_s_busy']:.1f} | {r['gen_slowdown']:.1f}× |")
    table = '\n'.join(lines)
    print(table)
    import torch
    res = dict(date=datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
               command=' '.join(['python', 'benchmarks/bench_contention.py', *sys.argv[1:]]),
               cpus=len(os.sched_getaffinity(0)), load=a.load or 'not stated', nice=a.nice, seconds=a.seconds,
               repeats=a.repeats, python=platform.python_version(), torch=torch.__version__,
               wall_s=round(time.time() - t0, 1), summary=summary, table=table, runs=runs)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {out}")


if __name__ == '__main__':
    main()
