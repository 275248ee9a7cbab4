"""Does a better choice of the N labeled images (09a) also give a better segmenter downstream?

    OMP_NUM_THREADS=1 python benchmarks/probes/bench_suggest_downstream.py --n 8 --runs uncertainty3 random2

For each run of the top-level `bench_suggest.py` named here (its folder `runs/bench_suggest/N{n}_{run}` holds the
label generator trained on that run's chosen faces; the names come from `results/suggest_uncertainty.json`), the
label generator makes a HandsOff dataset of `--generate` images (about 2,000 kept) (`handsoff_dataset`, reusing it), and
`train_handsoff_segmenter` trains the curve's `handsoff+ft` path on it (1,000 steps, then fine-tuned on the N chosen
faces with their true labels) and scores it on the 500 held-out test faces → `results/suggest_downstream.jsonl`.
"""
import argparse, json, os, shutil, time
from pathlib import Path
import torch
from handsoff_nb.core import shipped_path
from handsoff_nb.data import save_labeled_folder
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.inversion import load_encoder
from handsoff_nb.generate import handsoff_dataset
from handsoff_nb.suggest import toyface_truth
from handsoff_nb.segmenter import train_handsoff_segmenter, load_segmenter

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=8); ap.add_argument('--runs', nargs='+', default=['uncertainty3', 'random2'])
    ap.add_argument('--generate', type=int, default=2222); ap.add_argument('--work', default=str(ROOT/'runs'/'bench_suggest'))
    ap.add_argument('--rows', default=str(ROOT/'benchmarks'/'results'/'suggest_uncertainty.json'))
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'suggest_downstream.jsonl'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    G, w_avg, _ = load_generator(shipped_path('generator')); G.eval()
    E = load_encoder(shipped_path('encoder'))
    rows = json.loads(Path(a.rows).read_text())['rows']
    for run in a.runs:
        meth, draw = run.rstrip('0123456789'), int(run[len(run.rstrip('0123456789')):])
        row = next(r for r in rows if r['N'] == a.n and r['method'] == meth and r['draw'] == draw)
        t0, src, d = time.time(), Path(a.work)/f'N{a.n}_{run}', Path(a.work)/'downstream'/f'N{a.n}_{run}'
        truth = toyface_truth(row['names'], G.size)
        if not (d/'label_generator.pt').exists():
            d.mkdir(parents=True, exist_ok=True); shutil.copy(src/'label_generator.pt', d/'label_generator.pt')
        handsoff_dataset(G, E, truth, d, n=a.generate, ensemble_size=2, refine_steps=200, w_avg=w_avg, progress=False)
        save_labeled_folder(truth, d/'labeled')
        seg = train_handsoff_segmenter(d/'dataset', d/'seg', labeled=d/'labeled', test='toyfaces', progress=False)
        info = load_segmenter(seg, 'cpu')[1]
        out = dict(N=a.n, run=run, agreement=row['agreement'], names=row['names'], scores=info['scores'],
                   ft_steps=info['ft_steps'], ft_lr=info['ft_lr'], seconds=round(time.time() - t0, 1),
                   loadavg=os.getloadavg()[0], date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        print(json.dumps({k: v for k, v in out.items() if k != 'names'}))
        with open(a.out, 'a') as f: f.write(json.dumps(out) + '\n')


if __name__ == '__main__':
    main()
