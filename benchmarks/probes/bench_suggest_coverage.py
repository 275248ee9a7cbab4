"""Does covering the pool in the encoder's feature space (what k-centre and k-means aim at, 09a) predict a good
label set?

    OMP_NUM_THREADS=1 python benchmarks/probes/bench_suggest_coverage.py --n 8

Every distinct label set of size `--n` measured by `bench_suggest.py` (random draws, k-means, k-centre and the
second rounds, on both pools) with its agreement; for each, its coverage of its pool in `pool_features` (eq. 1 of
09a): the mean and the largest distance from a pool face to the nearest chosen one. No training: it reads the
result files → results/suggest_coverage.json (Spearman rank correlations with agreement).
"""
import argparse, json
from pathlib import Path
import torch
from scipy.stats import spearmanr
from handsoff_nb.core import shipped_path
from handsoff_nb.inversion import load_encoder
from handsoff_nb.suggest import read_pool, pool_features

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT/'runs'/'bench_suggest'
FILES = {'suggest.json': RUNS/'pool', 'suggest_pool200.json': RUNS/'pool200'/'pool',
         'suggest_uncertainty.json': RUNS/'pool', 'suggest_uncertainty_pool200.json': RUNS/'pool200'/'pool',
         'suggest_uncertainty_cw1.json': RUNS/'pool'}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=8)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'suggest_coverage.json'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    E, sets, seen = load_encoder(shipped_path('encoder')).eval(), [], set()
    for name, pool in FILES.items():
        f = ROOT/'benchmarks'/'results'/name
        if not f.exists(): continue
        img, names = read_pool(pool, 64)
        with torch.no_grad(): feat = pool_features(img, E)
        for r in json.loads(f.read_text())['rows']:
            key = (str(pool), tuple(sorted(r['names'])))
            if r['N'] != a.n or key in seen: continue  # random draws repeat across files
            seen.add(key)
            d = torch.cdist(feat, feat[[names.index(x) for x in r['names']]]).min(1).values
            sets.append(dict(file=name, method=r['method'], draw=r['draw'], agreement=r['agreement'],
                             mean_distance=float(d.mean()), max_distance=float(d.max())))
    ag = [s['agreement'] for s in sets]
    corr = {k: dict(zip(('rho', 'p'), map(float, spearmanr(ag, [s[k] for s in sets]))))
            for k in ('mean_distance', 'max_distance')}
    res = dict(N=a.n, n_sets=len(sets), spearman=corr, sets=sets)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(json.dumps(dict(N=a.n, n_sets=len(sets), spearman=corr)))


if __name__ == '__main__':
    main()
