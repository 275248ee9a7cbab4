"""P2: what labels cost on top of sampling the generator (the README's P2 figure).

    python benchmarks/bench_generate.py                    # CPU, toy64, batch 16 → results/generate_p2.json
    python benchmarks/bench_generate.py --device cuda --config 256   # on a GPU, a 256² config
    python benchmarks/bench_generate.py --config f256 --batch 4 --n 8  # StyleGAN2 config-f widths at 256² (CPU)

Three rates, in images per second, same latents, same batch:
- `generator`: `G.synthesis(ws)` alone (fixed noise), no features kept — what sampling a GAN costs;
- `labels`: `predict_labels(G, lg, ws)` — image, hypercolumn features, the factorised first layer of every
  ensemble member, the rest of the MLPs, the segmentation, keypoints, depth and uncertainty heads;
- `write`: the same plus PNG/JSON writing through `generate_dataset` (one shard of `--n` images).

The ratio `labels / generator` is the P2 number (goal ≥ 0.8). Each rate is the median of `--repeats` timed
runs after a warm-up, alternating the two so that a shared machine's load hits both alike; the 1-minute load
average is stored. Weights are random (speed does not depend on them) unless `--generator` is given.

The JSON also counts the floating-point operations of one batch (torch's FlopCounterMode): the generator's
synthesis and the label generator's model in its dense pass (`lg(feats)`: the first layer at each block's native
resolution and the MLP layers after it; the bilinear resizing, an implementation detail, is left out).
`flop_bound_ratio` = G / (G + LG) is the ratio that equal arithmetic efficiency would give: the ceiling a faster
implementation of the same two models can approach. `--recount FILE` recomputes these fields of a stored JSON.
"""
import argparse, json, os, platform, statistics, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.stylegan2 import GenConfig, make_generator, load_generator
from handsoff_nb.hypercolumns import feature_channels
from handsoff_nb.label_generator import LGConfig, make_label_generator, predict_labels
from handsoff_nb.generate import generate_dataset, latents_for, image_seed, LGLabeler

ROOT = Path(__file__).resolve().parent.parent


def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()


def config(name:str) -> GenConfig:
    "`toy64`, `tiny`, or a size such as `256` (toy64's widths, more blocks)."
    if name in ('toy64', 'tiny'): return getattr(GenConfig, name)()
    if name == 'f256':  # rosinality config-f (channel_multiplier 2) at 256 px
        return GenConfig(size=256, style_dim=512, n_mlp=8,
                         channels={4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128})
    size = int(name)
    chans = {4: 128, 8: 128, 16: 96, 32: 48, 64: 24, 128: 16, 256: 8, 512: 8, 1024: 8}
    return GenConfig(size=size, style_dim=128, n_mlp=4, channels={k: v for k, v in chans.items() if k <= size})


def count_flops(G, lg, ws) -> dict:
    "Floating-point operations of one batch: G's synthesis, and the label generator's model (resizing excluded)."
    from torch.utils.flop_counter import FlopCounterMode
    from handsoff_nb.hypercolumns import generate_features
    with torch.no_grad():
        with FlopCounterMode(display=False) as fc: G.synthesis(ws, randomize_noise=False)
        f_g = fc.get_total_flops()
        _, feats = generate_features(G, ws)
        with FlopCounterMode(display=False) as fc: lg(feats)
    ops = {str(k): v for k, v in fc.get_flop_counts()['Global'].items()}
    resize = sum(v for k, v in ops.items() if 'bmm' in k)  # `resize_add_`'s batched products
    return dict(generator=f_g, label_generator=sum(ops.values()) - resize)


def build(a, dev) -> tuple:
    "The generator, its mean latent and a label generator with random weights, as `a` asks."
    if a.generator: G, w_avg, cfg = load_generator(a.generator); G = G.to(dev).eval()
    else: cfg = config(a.config); G = make_generator(cfg, dev).eval(); w_avg = None
    with torch.no_grad(): w_avg = (G.mean_latent(4096) if w_avg is None else w_avg).to(dev)
    lg = make_label_generator(LGConfig(channels=feature_channels(G), size=G.size, ensemble_size=a.ensemble,
                                       hidden=tuple(a.hidden)), 0, dev).eval()
    return G, w_avg, lg


def recount(path:str):
    "Recount the FLOPs of a stored result (same generator, label generator and batch) and rewrite its bound."
    res = json.loads(Path(path).read_text())
    m = res['meta']
    a = argparse.Namespace(generator=None if m['generator'] == 'random weights' else m['generator'],
                           config=m['config'], ensemble=m['ensemble'], hidden=m.get('hidden', (128, 32)))
    torch.manual_seed(0)
    G, w_avg, lg = build(a, torch.device('cpu'))
    flops = count_flops(G, lg, latents_for(G, [image_seed(0, i) for i in range(m['batch'])], w_avg))
    res['gflop_per_batch'] = {k: round(v / 1e9, 3) for k, v in flops.items()}
    res['flop_bound_ratio'] = round(flops['generator'] / (flops['generator'] + flops['label_generator']), 3)
    Path(path).write_text(json.dumps(res, indent=1) + '\n')
    print(path, res['gflop_per_batch'], res['flop_bound_ratio'])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--config', default='toy64'); ap.add_argument('--generator', default=None)
    ap.add_argument('--batch', type=int, default=16); ap.add_argument('--ensemble', type=int, default=3)
    ap.add_argument('--repeats', type=int, default=7); ap.add_argument('--n', type=int, default=64)
    ap.add_argument('--threads', type=int, default=2); ap.add_argument('--device', default='cpu')
    ap.add_argument('--hidden', type=int, nargs=2, default=(128, 32), help='label-generator MLP widths')
    ap.add_argument('--out', default=None)
    ap.add_argument('--recount', default=None, help='only recount the FLOPs of this stored JSON')
    a = ap.parse_args(argv)
    if a.recount: return recount(a.recount)
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    dev = torch.device(a.device)
    G, w_avg, lg = build(a, dev)
    ws = latents_for(G, [image_seed(0, i) for i in range(a.batch)], w_avg)
    def gen():
        with torch.no_grad(): G.synthesis(ws, randomize_noise=False)
    def lab(): predict_labels(G, lg, ws, batch_size=a.batch)
    for f in (gen, lab): f(); f()  # warm-up
    times = {'generator': [], 'labels': []}
    for _ in range(a.repeats):
        for k, f in (('generator', gen), ('labels', lab)):
            _sync(dev); t = time.perf_counter(); f(); _sync(dev); times[k].append(time.perf_counter() - t)
    rates = {k: a.batch / statistics.median(v) for k, v in times.items()}
    flops = count_flops(G, lg, ws)
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        generate_dataset(G, LGLabeler(G, lg, a.batch), d, n=a.n, w_avg=w_avg, shard_size=a.n, batch_size=a.batch,
                         progress=False)
        rates['write'] = a.n / (time.perf_counter() - t)
    res = dict(meta=dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), torch=torch.__version__,
                         device=str(dev), threads=a.threads, cpu=platform.machine(), config=a.config,
                         generator=a.generator or 'random weights', size=G.size, batch=a.batch,
                         ensemble=a.ensemble, hidden=list(a.hidden), hypercolumn_channels=sum(feature_channels(G)), repeats=a.repeats,
                         loadavg_1min=os.getloadavg()[0],
                         gpu=torch.cuda.get_device_name() if dev.type == 'cuda' else None),
               images_per_s={k: round(v, 1) for k, v in rates.items()},
               p2_ratio=round(rates['labels'] / rates['generator'], 3),
               p2_ratio_with_writing=round(rates['write'] / rates['generator'], 3), goal=0.8,
               gflop_per_batch={k: round(v / 1e9, 3) for k, v in flops.items()},
               flop_bound_ratio=round(flops['generator'] / (flops['generator'] + flops['label_generator']), 3))
    print(json.dumps(res, indent=1))
    tag = ('' if a.config == 'toy64' else '_' + a.config) + ('' if dev.type == 'cpu' else '_' + dev.type) + \
          ('' if tuple(a.hidden) == (128, 32) else '_h{}_{}'.format(*a.hidden))
    out = Path(a.out or ROOT/'benchmarks'/'results'/f"generate_p2{tag}.json")
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {out}")
    return res


if __name__ == '__main__':
    main()
