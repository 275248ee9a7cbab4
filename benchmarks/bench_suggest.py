"""Which images to label (09a): label-generator agreement with the judge when the N labeled images are chosen by
`suggest` vs at random from the same pool.

    OMP_NUM_THREADS=1 python benchmarks/bench_suggest.py            # → benchmarks/results/suggest.json (+ a table)
    OMP_NUM_THREADS=1 python benchmarks/bench_suggest.py --ns 4 8 --draws 5 --methods kmeans kcenter

Protocol: a pool of `--pool-size` ToyFaces from `suggest.POOL_SEEDS` (faces no model has seen). For each N, the
N images are chosen by each `--methods` entry (`suggest`, shipped encoder, k = 16 principal axes) and by
`--draws` random draws (`suggest(method='random', seed=d)`, d = 0..draws-1). The chosen faces' exact labels (`toyface_truth`) stand in for the
user's painting; `handsoff_dataset` (07) trains the label generator from them exactly as `handsoff-nb generate`
does (inversion with `--refine-steps` of refinement and the feature offset, trust weights, keypoint
calibration), with `--ensemble` members and its default label-generator steps (`lg_steps_for(N, 600)`), and the
score is `judge_agreement` (eq. 4 of 09a): mIoU of the label generator's masks vs the judge's on `--n-judge`
samples of G (ψ = 0.7). Runs are cached in `--work` (a finished label generator is reused), so the script resumes.

A second round (`--uncertainty-draws D`, eq. 6 of 09a), paired with the random draws: for draw d < D, the first
N/2 faces of random draw d are labeled, a label generator is trained on them, and the other N/2 are chosen by
`suggest(method='uncertainty')` among the rest; the gain is this agreement minus random draw d's (same first half,
a random second half).

    OMP_NUM_THREADS=1 python benchmarks/bench_suggest.py --ns 4 8 --methods --uncertainty-draws 5 \
        --out benchmarks/results/suggest_uncertainty.json

`--class-power γ` ranks the second round by the class-weighted uncertainty of eq. (5b) instead; its runs are named
`uncertainty-cw{γ}` (the random draws and first rounds are shared, and reused from `--work`):

    OMP_NUM_THREADS=1 python benchmarks/bench_suggest.py --ns 8 --methods --uncertainty-draws 5 --class-power 1 \
        --out benchmarks/results/suggest_uncertainty_cw1.json
"""
import argparse, json, os, platform, statistics, time
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.core import shipped_path
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.inversion import load_encoder
from handsoff_nb.generate import handsoff_dataset, load_label_generator
from handsoff_nb.quality import load_unet, judge_path
from handsoff_nb.suggest import POOL_SEEDS, write_pool, read_pool, toyface_truth, suggest, judge_agreement

ROOT = Path(__file__).resolve().parent.parent


def run_one(G, E, w_avg, judge, names, work:Path, a) -> dict:
    "Train a label generator from the true labels of `names` (via `handsoff_dataset`) → its agreement and time."
    t0 = time.time()
    handsoff_dataset(G, E, toyface_truth(names, G.size), work, n=1, ensemble_size=a.ensemble,
                     refine_steps=a.refine_steps, progress=False, shard_size=1)
    lg = load_label_generator(work/'label_generator.pt')
    return dict(agreement=judge_agreement(G, lg, a.n_judge, w_avg, judge=judge, seed=0)['miou'], seconds=round(time.time() - t0, 1))


def paired_table(rows:list, ns, unc:str='uncertainty') -> str:
    "Markdown table: per N, the second round's agreement and its gain over the random draw it is paired with."
    out = ['| N | random draws (paired) | uncertainty round 2 | gain (mean ± std, min..max) |', '|---|---|---|---|']
    for n in ns:
        u = sorted((x for x in rows if x['N'] == n and x['method'] == unc), key=lambda x: x['draw'])
        if not u: continue
        r = {x['draw']: x['agreement'] for x in rows if x['N'] == n and x['method'] == 'random'}
        g = [x['agreement'] - r[x['draw']] for x in u]
        sd = statistics.pstdev(g) if len(g) > 1 else 0.
        out.append(f"| {n} | {statistics.mean(r[x['draw']] for x in u):.3f} | "
                   f"{statistics.mean(x['agreement'] for x in u):.3f} | {statistics.mean(g):+.3f} ± {sd:.3f} "
                   f"({min(g):+.3f}..{max(g):+.3f}, {len(g)} draws) |")
    return '\n'.join(out)


def table(rows:list, ns, methods) -> str:
    "Markdown table: per N, random mean ± std (min..max) and each method's agreement and its gain."
    out = ['| N | random (mean ± std, min..max) | ' + ' | '.join(methods) + ' |',
           '|---|---|' + '---|' * len(methods)]
    for n in ns:
        r = [x['agreement'] for x in rows if x['N'] == n and x['method'] == 'random']
        if not r: continue
        m = statistics.mean(r)
        cells = [f"{x['agreement']:.3f} ({x['agreement'] - m:+.3f})" for meth in methods
                 for x in rows if x['N'] == n and x['method'] == meth]
        out.append(f"| {n} | {m:.3f} ± {statistics.pstdev(r):.3f} ({min(r):.3f}..{max(r):.3f}) | " + ' | '.join(cells) + ' |')
    return '\n'.join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--pool-size', type=int, default=200); ap.add_argument('--ns', type=int, nargs='+', default=[4, 8, 16])
    ap.add_argument('--pool-start', type=int, default=0, help='the pool is POOL_SEEDS[start:start + size] (another pool: '
                    'another check of the same method; its runs are cached in WORK/pool<start>)')
    ap.add_argument('--draws', type=int, default=5); ap.add_argument('--methods', nargs='*', default=['kmeans', 'kcenter'])
    ap.add_argument('--uncertainty-draws', type=int, default=0, help='second-round (eq. 6) runs, paired with random draws 0..D-1')
    ap.add_argument('--class-power', type=float, default=0., help='γ of eq. (5b) for the second round (0: eq. 5)')
    ap.add_argument('--refine-steps', type=int, default=200); ap.add_argument('--ensemble', type=int, default=2)
    ap.add_argument('--n-judge', type=int, default=128); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--work', default=str(ROOT/'runs'/'bench_suggest'))
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'suggest.json'))
    a = ap.parse_args(argv)
    unc = 'uncertainty' if not a.class_power else f'uncertainty-cw{a.class_power:g}'
    if a.uncertainty_draws > a.draws: ap.error('--uncertainty-draws pairs with random draws: it needs --draws at least as large')
    torch.set_num_threads(a.threads)
    G, w_avg, _ = load_generator(shipped_path('generator')); G.eval()
    E, judge = load_encoder(shipped_path('encoder')), load_unet(judge_path(), 'cpu')
    work = Path(a.work)/(f'pool{a.pool_start}' if a.pool_start else '')
    pool = write_pool(work/'pool', POOL_SEEDS[a.pool_start:a.pool_start + a.pool_size], G.size)
    img, names = read_pool(pool, G.size)
    rows, t_all, out = [], time.time(), Path(a.out)
    meta = dict(torch=torch.__version__, threads=a.threads, cpu=platform.machine(), pool=f"POOL_SEEDS[{a.pool_start}:{a.pool_start + a.pool_size}]",
                ns=a.ns, draws=a.draws, methods=a.methods, uncertainty_draws=a.uncertainty_draws, class_power=a.class_power, refine_steps=a.refine_steps, ensemble=a.ensemble,
                lg_steps='lg_steps_for(N, 600) (handsoff_dataset default)', n_judge=a.n_judge,
                encoder=shipped_path('encoder').name, k=16)
    out.parent.mkdir(parents=True, exist_ok=True)
    for n in a.ns:
        choices = {m: suggest((img, names), n, E, method=m) for m in a.methods}
        choices |= {('random', d): suggest((img, names), n, method='random', seed=d) for d in range(a.draws)}
        for d in range(a.uncertainty_draws):
            choices[(unc, d)] = None  # chosen after its first round is trained
        for key, picked in choices.items():
            meth, draw = key if isinstance(key, tuple) else (key, None)
            if meth == unc:  # round 1: the first half of random draw `draw`; round 2: eq. (6) of 09a
                first = choices[('random', draw)][:n // 2]
                run_one(G, E, w_avg, judge, first, work/f"N{n // 2}_round1_{draw}", a)
                lg = load_label_generator(work/f"N{n // 2}_round1_{draw}"/'label_generator.pt')
                picked = first + suggest((img, names), n - n // 2, E, method='uncertainty', exclude=first, lg=lg, G=G,
                                         class_power=a.class_power)
            r = run_one(G, E, w_avg, judge, picked, work/f"N{n}_{meth}{'' if draw is None else draw}", a)
            rows.append(dict(N=n, method=meth, draw=draw, names=picked, **r))
            print(json.dumps({k: v for k, v in rows[-1].items() if k != 'names'}), flush=True)
            done = [m for m in a.ns if any(r['N'] == m for r in rows)]
            res = dict(meta=dict(meta, date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
                                 seconds=round(time.time() - t_all), loadavg_1min=os.getloadavg()[0]),
                       rows=rows, table=table(rows, done, a.methods) if a.draws else '')
            if a.uncertainty_draws: res['paired_table'] = paired_table(rows, done, unc)
            out.write_text(json.dumps(res, indent=1) + '\n')  # after every run: an interrupted run keeps its rows
    print(res['table'])
    if a.uncertainty_draws: print(res['paired_table'])
    print(f"wrote {out}")
    return res


if __name__ == '__main__':
    main()
