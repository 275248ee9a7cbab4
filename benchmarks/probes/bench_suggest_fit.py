"""Does choosing faces the generator can show well (low reconstruction error of the encoder's inversion) give a
better label generator than random choice?

    OMP_NUM_THREADS=1 python benchmarks/probes/bench_suggest_fit.py --ns 4 8 --pool-starts 0 200

Why: the label generator learns from labels attached to inversions, and those labels fit their inversions only
at 0.81 mIoU (`bench_lg_augment.py`'s alignment); a face G cannot show teaches a wrong feature → label mapping.
The chooser: pixel MSE between each pool image and G(E(x)) (the encoder alone, as `pool_uncertainty` does), then
k-means (eq. 3 of 09a) among the `--top`·N best-reconstructed faces. Same protocol, pools and work folder as
`bench_suggest.py` (`run_one`: true labels, `handsoff_dataset`, refine 200, ensemble 2, agreement on 128 samples
of G), so its random draws (`suggest.json`, `suggest_pool200.json`) are the baseline → results/suggest_fit.jsonl.
"""
import argparse, json, os, sys, time
from pathlib import Path
import torch
from handsoff_nb.core import shipped_path
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.inversion import load_encoder
from handsoff_nb.quality import load_unet, judge_path
from handsoff_nb.suggest import POOL_SEEDS, write_pool, read_pool, pool_features, kmeans_picks

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT/'benchmarks'))
from bench_suggest import run_one  # noqa: E402


@torch.no_grad()
def reconstruction_error(img, E, G, batch:int=50):
    "Pixel MSE between each image (B,3,H,W) and G(E(x)) → (B,)."
    out = []
    for x in img.split(batch):
        ws, delta = E.encode(x)
        off = None if delta is None else (E.cfg.offset_layer, delta)
        out.append((G.synthesis(ws, randomize_noise=False, offset=off).clamp(-1, 1) - x).pow(2).flatten(1).mean(1))
    return torch.cat(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ns', type=int, nargs='+', default=[4, 8]); ap.add_argument('--pool-starts', type=int, nargs='+', default=[0, 200])
    ap.add_argument('--top', type=int, default=3); ap.add_argument('--pool-size', type=int, default=200)
    ap.add_argument('--refine-steps', type=int, default=200); ap.add_argument('--ensemble', type=int, default=2)
    ap.add_argument('--n-judge', type=int, default=128); ap.add_argument('--work', default=str(ROOT/'runs'/'bench_suggest'))
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'suggest_fit.jsonl'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    G, w_avg, _ = load_generator(shipped_path('generator')); G.eval()
    E, judge = load_encoder(shipped_path('encoder')).eval(), load_unet(judge_path(), 'cpu')
    for start in a.pool_starts:
        work = Path(a.work)/(f'pool{start}' if start else '')
        img, names = read_pool(write_pool(work/'pool', POOL_SEEDS[start:start + a.pool_size], G.size), G.size)
        err, f = reconstruction_error(img, E, G), pool_features(img, E)
        for n in a.ns:
            cand = err.argsort()[:a.top * n].tolist()
            picked = [names[cand[i]] for i in kmeans_picks(f[cand], n)]
            r = run_one(G, E, w_avg, judge, picked, work/f'N{n}_fit{a.top}', a)
            row = dict(N=n, pool_start=start, method=f'fit{a.top}', names=picked, **r,
                       err_picked=float(err[[names.index(p) for p in picked]].mean()), err_pool=float(err.mean()),
                       loadavg=os.getloadavg()[0], date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
            print(json.dumps({k: v for k, v in row.items() if k != 'names'}), flush=True)
            with open(a.out, 'a') as fh: fh.write(json.dumps(row) + '\n')


if __name__ == '__main__':
    main()
