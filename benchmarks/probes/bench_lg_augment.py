"""Label-generator agreement with the judge on G's own samples (eq. 2 of 08a), and what raises it.

    python benchmarks/probes/bench_lg_augment.py --n-labeled 16 --variants base,mix6x4    # → results/lg_augment.jsonl

The labeled few (the first N shipped ToyFaces) are inverted as `handsoff_dataset` inverts them (the shipped
encoder, 1,000 refinement steps with the feature offset of eq. 4c of 03, cached in --work), and a label
generator is trained as it trains one (ensemble 3, `lg_steps_for(N, 600)` steps, trusted pixels). Each variant
changes one thing and is scored by `segmenter.judge_agreement` on 500 fresh samples of G.

Variants (comma-separated; `base` is `handsoff_dataset`'s recipe):
- `betaB`: the class-prior shift of eq. (3a) of 06 at β = B instead of 0.5 (0: keep the balanced sampler's prior).
- `mixKxC`: latent augmentation. Each labeled latent gets C copies whose layers K.. (the fine, colour/texture
  layers of W+) come from random latents; the copies keep the labels and the feature offset. Before training,
  the judge's masks of the copies are compared with those of the originals (`mask_kept`): the labels may only be
  reused if the geometry stays.
- `stepsF`: F times `lg_steps_for(N, 600)` training steps (the MLPs' budget).
- `hidA-B`: hidden widths (A, B) instead of `LGConfig.hidden` (128, 32); the official faces config is 256-32.
- `invKrR`: the labeled few inverted with the feature offset at block K and R refinement steps (base: inv2r1000);
  every row also reports `alignment`, the judge's masks of the inversions G(ws, δ) against the true masks.
- `plainR`: the labeled few inverted in W+ alone (no feature offset), R refinement steps: G's own features, labels
  that fit less.
- `notrust`: every pixel of the labeled inversions trusted (no reconstruction-error weighting).
- `judge`: the labeled few's masks replaced by the judge's masks of their inversions G(ws, δ): labels that fit the
  features exactly, so what is left of the gap to `bench_lg_ceiling.py` is the inversions' features, not their labels.
- `judge0`: the same without the offset (masks of G(ws), δ = 0): the inversions used as if they were G's own samples.
- `real0`: the true labels on the inversions without the offset (δ = 0).
- `scaleL`: the true labels, the offset scaled by L (0 < L < 1): features nearer G's own, labels fitting less.
- `real0tD`: the true labels without the offset, trusting only the 1 − D of each image's pixels where G(ws) is
  closest to the real image (eq. 3c of 06 on G(ws) instead of G(ws, δ)).
- `bothD`: both pairs per labeled image: (ws, δ) as in `base` and (ws, 0) trusted as in `real0tD`.
- `inorm`: every style block's feature map standardised per image and channel (instance normalisation) before the
  label generator sees it, in training and in labeling: a per-image shift of the features' statistics (such as
  the offset's) is removed.
- `selfT`: self-training. The base label generator labels T fresh samples of G; pixels whose ensemble
  uncertainty is in the lowest 80 % are kept (trust 1), the rest left out, and a new label generator is trained on
  the labeled few plus those samples.
"""
import argparse, json, os, time
from dataclasses import replace
from pathlib import Path
import torch
from handsoff_nb.core import shipped_path, set_seed
from handsoff_nb.data import load_labeled_folder
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.inversion import load_encoder, invert, refine_lpips
from handsoff_nb.label_generator import (LGConfig, train_label_generator, reconstruction_trust, lg_steps_for,
                                         predict_labels)
from handsoff_nb.generate import latents_for, image_seed, OFFSET_LAYER
from handsoff_nb.quality import load_unet, judge_path, predict_masks, confusion
from handsoff_nb.evaluate import seg_metrics
from handsoff_nb.segmenter import judge_agreement

ROOT = Path(__file__).resolve().parents[2]


def inversions(G, E, lab, N, work:Path, layer:int=OFFSET_LAYER, steps:int=1000) -> dict:
    "`ws`, `delta`, `trust` of the first N labeled images, as `handsoff_dataset` makes them (cached)."
    f = work/(f'inv_N{N}.pt' if (layer, steps) == (OFFSET_LAYER, 1000) else f'inv_N{N}_L{layer}_R{steps}.pt')
    if f.exists(): return {**torch.load(f, weights_only=True), 'layer': OFFSET_LAYER if layer is None else layer}
    if layer is None:  # W+ alone: a zero offset at the usual block stands for none
        ws = invert(lab['img'][:N], E, G, refine_steps=steps, lpips=refine_lpips(), progress=True)
        with torch.no_grad(): _, fs = G.synthesis(ws[:1], randomize_noise=False, return_features=True)
        delta = torch.zeros(N, *fs[OFFSET_LAYER].shape[1:])
    else:
        ws, delta = invert(lab['img'][:N], E, G, refine_steps=steps, lpips=refine_lpips(), progress=True,
                           offset_layer=layer)
    layer = OFFSET_LAYER if layer is None else layer
    with torch.no_grad(): rec = G.synthesis(ws, randomize_noise=False, offset=(layer, delta)).clamp(-1, 1)
    d = dict(ws=ws, delta=delta, trust=reconstruction_trust(rec, lab['img'][:N], 0.1))
    work.mkdir(parents=True, exist_ok=True); torch.save(d, f)
    return {**d, 'layer': layer}


@torch.no_grad()
def alignment(G, judge, inv, mask) -> float:
    "How well the labels fit the inversions: mIoU of the judge's masks of G(ws, δ) against the true masks."
    return seg_metrics(confusion(judge_masks(G, judge, inv['ws'], inv['delta'], inv['layer']), mask))['miou']


@torch.no_grad()
def mix_latents(G, ws, k:int, copies:int, seed:int=0) -> torch.Tensor:
    "`copies` copies of each `ws` (N,L,D) whose layers k.. come from random latents → (N*copies,L,D), image-major."
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(len(ws) * copies, G.style_dim, generator=gen)
    w = G.mapping(z)                                      # (N*C,D)
    out = ws.repeat_interleave(copies, 0).clone()
    out[:, k:] = w[:, None]
    return out


@torch.no_grad()
def judge_masks(G, judge, ws, delta, layer:int=OFFSET_LAYER) -> torch.Tensor:
    "The judge's masks of G(ws, δ) at the offset layer."
    img = torch.cat([G.synthesis(ws[i:i + 16], randomize_noise=False, offset=(layer, delta[i:i + 16]))
                     for i in range(0, len(ws), 16)]).clamp(-1, 1)
    return predict_masks(judge, img)


def with_instance_norm():
    "Make label_generator's features instance-normalised (per image and channel), for this process."
    import handsoff_nb.label_generator as lgm
    gf = lgm.generate_features
    def features(G, ws, offset=None):
        img, fs = gf(G, ws, offset)
        return img, [(f - f.mean((2, 3), keepdim=True)) / (f.std((2, 3), keepdim=True) + 1e-5) for f in fs]
    lgm.generate_features = features


def train(G, ws, labels, trust, delta, N, ens, steps=None, seed=0, beta=0.5, hidden=None, layer=OFFSET_LAYER):
    cfg = LGConfig.for_generator(G, labels, ensemble_size=ens)
    if hidden: cfg = replace(cfg, hidden=hidden)
    return train_label_generator(G, ws, labels, cfg, steps=steps or lg_steps_for(N, 600), trust=trust,
                                 offset=(layer, delta), seed=seed, prior_strength=beta)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n-labeled', type=int, default=16); ap.add_argument('--variants', default='base')
    ap.add_argument('--ensemble', type=int, default=3); ap.add_argument('--agreement-n', type=int, default=500)
    ap.add_argument('--work', default='runs/lg_augment'); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'lg_augment.jsonl'))
    a = ap.parse_args()
    torch.set_num_threads(a.threads); set_seed(0)
    G, w_avg, _ = load_generator(shipped_path('generator'), 'cpu'); G.eval()
    E = load_encoder(shipped_path('encoder'), 'cpu')
    lab, N = load_labeled_folder(shipped_path('labeled')), a.n_labeled
    judge = load_unet(judge_path(), 'cpu')
    labels = {k: lab[k][:N] for k in ('mask', 'kps', 'depth')}
    if 'inorm' in a.variants.split(',')[:-1]:  # its patch of the features would carry into the variants after it
        raise SystemExit("--variants: put inorm last")
    for v in a.variants.split(','):
        t0, row = time.time(), dict(variant=v, N=N, ensemble=a.ensemble, seed=a.seed)
        layer, rsteps = OFFSET_LAYER, 1000
        if v.startswith('inv'): layer, rsteps = (int(x) for x in v[3:].split('r'))
        if v.startswith('plain'): layer, rsteps = None, int(v[5:])
        inv = inversions(G, E, lab, N, Path(a.work), layer, rsteps)
        layer = inv['layer']
        row['alignment'] = alignment(G, judge, inv, labels['mask'])
        jm = judge_masks(G, judge, inv['ws'], inv['delta'], inv['layer'])
        row['alignment_iou'] = {c: round(x, 4) for c, x in seg_metrics(confusion(jm, labels['mask']))['iou'].items()}
        ws, delta, trust, lbl, steps, beta, hidden = inv['ws'], inv['delta'], inv['trust'], labels, None, 0.5, None
        if v.startswith('beta'): beta = float(v[4:])  # the class-prior shift β of eq. (3a) of 06
        elif v.startswith('steps'): steps = round(float(v[5:]) * lg_steps_for(N, 600))
        elif v.startswith('hid'): hidden = tuple(int(x) for x in v[3:].split('-'))
        elif v == 'notrust': trust = torch.ones_like(trust)
        elif v.startswith(('inv', 'plain')): pass  # the inversion above: offset layer K (or none), R refinement steps
        elif v in ('judge', 'judge0', 'real0'):
            if v.endswith('0'): delta = torch.zeros_like(delta)
            if v.startswith('judge'): lbl = dict(labels, mask=judge_masks(G, judge, ws, delta, layer))
        elif v.startswith('scale'): delta = delta * float(v[5:])
        elif v == 'inorm': with_instance_norm()  # always the last variant (checked above): the patch stays
        elif v.startswith(('real0t', 'both')):
            with torch.no_grad(): rec0 = G.synthesis(ws, randomize_noise=False).clamp(-1, 1)
            t0_ = reconstruction_trust(rec0, lab['img'][:N], float(v[6:] if v.startswith('real0t') else v[4:]))
            if v.startswith('real0t'): delta, trust = torch.zeros_like(delta), t0_
            else:
                ws, delta, trust = torch.cat([ws, ws]), torch.cat([delta, torch.zeros_like(delta)]), torch.cat([trust, t0_])
                lbl = {key: torch.cat([x, x]) for key, x in labels.items()}
        elif v.startswith('mix'):
            k, c = map(int, v[3:].split('x'))
            mixed = mix_latents(G, ws, k, c, a.seed)
            rep = lambda x: x.repeat_interleave(c, 0)
            ref, got = judge_masks(G, judge, ws, delta), judge_masks(G, judge, mixed, rep(delta))
            row['mask_kept'] = seg_metrics(confusion(got, rep(ref)))['miou']  # geometry kept under mixing?
            ws, delta, trust = torch.cat([ws, mixed]), torch.cat([delta, rep(delta)]), torch.cat([trust, rep(trust)])
            lbl = {key: torch.cat([x, rep(x)]) for key, x in labels.items()}
        elif v.startswith('self'):
            T = int(v[4:])
            base = train(G, ws, labels, trust, delta, N, a.ensemble, seed=a.seed)
            sw = latents_for(G, [image_seed(11, i) for i in range(T)], w_avg.reshape(1, -1), 0.7)
            p = predict_labels(G, base, sw)
            thr = p['unc'].flatten().quantile(0.8)
            z = torch.zeros(T, *delta.shape[1:])  # G's own samples need no offset
            ws, delta = torch.cat([ws, sw]), torch.cat([delta, z])
            trust = torch.cat([trust, (p['unc'] <= thr).float()])
            lbl = dict(mask=torch.cat([labels['mask'], p['mask']]), kps=torch.cat([labels['kps'], p['kps']]),
                       depth=torch.cat([labels['depth'], p['depth']]))
            steps = lg_steps_for(N, 600) * 2
        elif v != 'base': raise SystemExit(f"unknown variant {v!r}")
        lg = train(G, ws, lbl, trust, delta, N, a.ensemble, steps, a.seed, beta, hidden, layer)
        ag = judge_agreement(G, lg, a.agreement_n, w_avg, judge=judge)
        row.update(agreement=ag['miou'], iou={c: round(x, 4) for c, x in ag['iou'].items()},
                   n_pairs=len(ws), seconds=round(time.time() - t0, 1), loadavg=os.getloadavg()[0],
                   date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        print(json.dumps(row))
        with open(a.out, 'a') as f: f.write(json.dumps(row) + '\n')


if __name__ == '__main__':
    main()
