"""Widget latency: how long `LatentExplorer.update()` takes per slider move (goal ≤ 300 ms on 2 cores).

    python benchmarks/bench_widgets.py                 # shipped toy64 generator → results/widgets.json
    python benchmarks/bench_widgets.py --moves 60 --threads 1 2

Each case builds a `LatentExplorer` on the shipped 64² generator and replays the same `--moves` slider moves
(ψ, the PCA sliders, the seed and the layer toggle in turn), setting `widget.value` exactly as a mouse drag does;
the observer runs `update()` (eq. 2 latent → labeler or `G` → panels → PNG). We report the median and p90 of
`explorer.times` after 3 warm-up moves, without and with a labeler (an *untrained* label generator of
`--ensemble` MLPs: speed does not depend on its weights), at each thread count (`LatentExplorer(threads=...)`,
the torch threads used during an update). A case stops early after `--max-seconds` (then `updates` < `--moves`).
Not included: sending the PNG to a browser (a few kB over the kernel's websocket). The machine may be shared:
the 1-minute load average before and after each case is stored.
"""
import argparse, json, os, platform, statistics, time
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.core import data_samples_dir
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.hypercolumns import feature_channels
from handsoff_nb.label_generator import LGConfig, make_label_generator
from handsoff_nb.generate import LGLabeler
from handsoff_nb.widgets import LatentExplorer

ROOT = Path(__file__).resolve().parent.parent


def moves(ex:LatentExplorer, n:int, start:int=0) -> list:
    "`n` deterministic (widget, value) slider moves cycling through every control, each a real change."
    seq, i, cur = [], start, {}
    while len(seq) < n:
        k = i % (3 + len(ex.coeffs))
        if k == 0: w, v = ex.psi, round(0.4 + 0.05 * (i % 12), 2)
        elif k == 1: w, v = ex.seed, i
        elif k == 2: w, v = ex.layers, ('coarse', 'middle', 'fine', 'all')[i % 4]
        else: w, v = ex.coeffs[k - 3], round(-2.5 + 0.25 * (i % 21), 2)
        if cur.get(id(w), w.value) != v:  # an unchanged value fires nothing
            seq.append((w, v))
            cur[id(w)] = v
        i += 1
    return seq


def quantile(xs:list, q:float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def run_case(G, w_avg, labeler, threads:int, n_moves:int, n_pca:int, max_s:float) -> dict:
    "Replay `n_moves` slider moves (stopping after `max_s` seconds) → latency statistics in ms."
    load0 = os.getloadavg()[0]
    ex = LatentExplorer(G, w_avg, labeler, n_pca=n_pca, seed=0, threads=threads)
    ex.coeffs[0].value = 1.  # a non-zero edit, so the layer toggle changes the picture
    for w, v in moves(ex, 3, start=1000): w.value = v  # warm-up
    n0, sizes, t0 = len(ex.times), [], time.perf_counter()
    for w, v in moves(ex, n_moves):
        w.value = v
        sizes.append(len(ex.image.value))
        if time.perf_counter() - t0 > max_s: break
    t = [1000 * x for x in ex.times[n0:]]
    assert len(t) == len(sizes), "every move must trigger exactly one update"
    return dict(labeler=labeler is not None, threads=threads, updates=len(t),
                median_ms=round(statistics.median(t), 1), p90_ms=round(quantile(t, .9), 1),
                max_ms=round(max(t), 1), png_kb=round(statistics.mean(sizes) / 1024, 1),
                loadavg_1min=[round(load0, 2), round(os.getloadavg()[0], 2)])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--generator', default=None, help='default: data_samples/toyfaces_g64.pt')
    ap.add_argument('--moves', type=int, default=30)
    ap.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    ap.add_argument('--ensemble', type=int, default=3)
    ap.add_argument('--n-pca', type=int, default=4)
    ap.add_argument('--max-seconds', type=float, default=15., help='stop a case after this long')
    ap.add_argument('--out', default=None)
    a = ap.parse_args(argv)
    path = a.generator or data_samples_dir()/'toyfaces_g64.pt'
    G, w_avg, _ = load_generator(path)
    G = G.eval()
    cfg = LGConfig(channels=feature_channels(G), size=G.size, ensemble_size=a.ensemble)
    lg = make_label_generator(cfg, 0).eval()
    cases = [run_case(G, w_avg, lab, th, a.moves, a.n_pca, a.max_seconds)
             for th in a.threads for lab in (None, LGLabeler(G, lg))]
    res = dict(meta=dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
                         torch=torch.__version__, cpu=platform.machine(), cpu_count=os.cpu_count(),
                         generator=str(Path(path).name),
                         size=G.size, ensemble=a.ensemble, n_pca=a.n_pca, moves=a.moves,
                         command='python benchmarks/bench_widgets.py ' + ' '.join(argv or [])),
               goal_ms=300, cases=cases)
    print(f"{'labeler':>8} {'threads':>7} {'n':>3} {'median ms':>9} {'p90 ms':>7} {'max ms':>7} {'load1':>11}")
    for c in cases:
        print(f"{str(c['labeler']):>8} {c['threads']:>7} {c['updates']:>3} {c['median_ms']:>9} {c['p90_ms']:>7} "
              f"{c['max_ms']:>7} {c['loadavg_1min'][0]:>5}-{c['loadavg_1min'][1]:<5}")
    out = Path(a.out or ROOT/'benchmarks'/'results'/'widgets.json')
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {out}")
    return res


if __name__ == '__main__':
    main()
