"""How much of the spread between random draws (09a) is the label generator's own training noise?

    OMP_NUM_THREADS=1 python benchmarks/probes/bench_suggest_noise.py --n 8 --draw 2 --seeds 1 2 3 4

The faces of one random draw of `bench_suggest.py` (same pool, same protocol: true labels, `handsoff_dataset`,
refine 200, ensemble 2, agreement on 128 samples of G), trained again with other training seeds (`seed` of
`handsoff_dataset`: the label generator's initialisation and batches). Seed 0 is the draw's own run in
`results/suggest.json`. If the same faces already spread as much as different faces do, no chooser can show a
reliable gain with a handful of draws → results/suggest_noise.jsonl.
"""
import argparse, json, os, time
from pathlib import Path
import torch
from handsoff_nb.core import shipped_path
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.inversion import load_encoder
from handsoff_nb.quality import load_unet, judge_path
from handsoff_nb.generate import handsoff_dataset, load_label_generator
from handsoff_nb.suggest import toyface_truth, judge_agreement

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=8); ap.add_argument('--draw', type=int, default=2)
    ap.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3, 4])
    ap.add_argument('--work', default=str(ROOT/'runs'/'bench_suggest'))
    ap.add_argument('--rows', default=str(ROOT/'benchmarks'/'results'/'suggest_uncertainty.json'))
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'suggest_noise.jsonl'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    G, w_avg, _ = load_generator(shipped_path('generator')); G.eval()
    E, judge = load_encoder(shipped_path('encoder')), load_unet(judge_path(), 'cpu')
    row = next(r for r in json.loads(Path(a.rows).read_text())['rows']
               if r['N'] == a.n and r['method'] == 'random' and r['draw'] == a.draw)
    for s in a.seeds:
        t, d = time.time(), Path(a.work)/'noise'/f'N{a.n}_random{a.draw}_seed{s}'
        handsoff_dataset(G, E, toyface_truth(row['names'], G.size), d, n=1, ensemble_size=2, refine_steps=200,
                         seed=s, progress=False, shard_size=1)
        ag = judge_agreement(G, load_label_generator(d/'label_generator.pt'), 128, w_avg, judge=judge, seed=0)['miou']
        out = dict(N=a.n, draw=a.draw, seed=s, agreement=ag, seed0_agreement=row['agreement'],
                   seconds=round(time.time() - t, 1), loadavg=os.getloadavg()[0],
                   date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        print(json.dumps(out), flush=True)
        with open(a.out, 'a') as fh: fh.write(json.dumps(out) + '\n')


if __name__ == '__main__':
    main()
