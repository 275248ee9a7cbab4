"""The downstream baselines at a benchmark profile, through the library's own path.

    OMP_NUM_THREADS=1 python benchmarks/probes/bench_downstream_baselines.py                 # cpu profile, seed 0
    OMP_NUM_THREADS=1 python benchmarks/probes/bench_downstream_baselines.py --methods oracle --seeds 0 1 2

Trains and scores the methods that need no generator (oracle, few-shot, transfer) exactly as
`handsoff-nb benchmark <profile>` does (`evaluate.make_methods` + `run_benchmark`, the profile's
`BenchConfig`: model, budget, class weights, test set), one thread. Finished runs are appended to a
JSONL log and skipped on a rerun (resumable); the results go to
`benchmarks/results/downstream_<profile>_baselines.json` with timings and the machine's load.
"""
import argparse, json, os, platform, time
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.evaluate import BenchConfig, make_methods, run_benchmark

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/probes/ → the checkout


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--profile', default='cpu', choices=('quick', 'cpu', 'full'))
    ap.add_argument('--methods', nargs='+', default=['oracle', 'few-shot'])
    ap.add_argument('--Ns', nargs='+', type=int, default=[16]); ap.add_argument('--seeds', nargs='+', type=int, default=[0])
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--log', default=None); ap.add_argument('--out', default=None)
    ap.add_argument('--keep', default=str(ROOT/'runs'/'baselines_models'), help='folder for the trained models')
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    cfg = getattr(BenchConfig, a.profile)()
    log = Path(a.log or ROOT/'runs'/f'baselines_{a.profile}.jsonl'); log.parent.mkdir(parents=True, exist_ok=True)
    out = Path(a.out or ROOT/'benchmarks'/'results'/f'downstream_{a.profile}_baselines.json')
    ms = make_methods(None, None, cfg.oracle_n, cfg.size, cfg.pretrain_steps, cfg.width, cfg.levels, 'cpu')
    ms = {k: v for k, v in ms.items() if k in a.methods}
    keep = Path(a.keep); keep.mkdir(parents=True, exist_ok=True)
    save = lambda m, N, s, net: torch.save(net.state_dict(), keep/f'{a.profile}_{m}_N{N}_s{s}.pt')
    t0 = time.time()
    res = run_benchmark(ms, tuple(a.Ns), tuple(a.seeds), cfg.steps, cfg.batch, cfg.test_n, cfg.size, cfg.width,
                        cfg.levels, class_power=cfg.class_power, lr=cfg.lr, device='cpu', progress=True,
                        on_model=save, log=log)
    res['meta'] = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), profile=a.profile,
                       command='python benchmarks/probes/bench_downstream_baselines.py ' + ' '.join(argv or os.sys.argv[1:]),
                       threads=a.threads, loadavg_1min=os.getloadavg()[0], wall_s=round(time.time() - t0, 1),
                       torch=torch.__version__, python=platform.python_version(), config=vars(cfg),
                       note='seconds per run include the machine load at the time (see loadavg)')
    out.write_text(json.dumps(res, indent=1) + '\n')
    for r in res['runs']:
        m = r['metrics']
        print(f"{r['method']:>9} N={r['N']!s:>3} seed={r['seed']}: mIoU {m['miou']:.3f} PCK {m['pck']:.3f} "
              f"AbsRel {m['absrel']:.3f}  ({r['seconds']:.0f} s)")
    print(f"wrote {out}")


if __name__ == '__main__':
    main()
