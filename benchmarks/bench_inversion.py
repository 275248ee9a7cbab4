"""Inversion quality on held-out real ToyFaces: latent regression, capped LPIPS tuning, refinement.

    python benchmarks/bench_inversion.py --quick     # tiny random G, ~1 min on 2 CPU cores
    python benchmarks/bench_inversion.py             # data_samples/toyfaces_g64.pt, E trained
    python benchmarks/bench_inversion.py --device cuda --encoder-steps 20000 --caps 0,50,200,1000

Every method is scored on the SAME held-out images, `SPLITS['test'][:n_test]` rendered at the
generator's resolution (never seen by the GAN, the encoder or the tuning):

- `regression`: the encoder trained by latent regression (03_inversion, eq. 3) — cap 0;
- `lpips`: that encoder after `cap` steps of eq. (6) (04_lpips_tuning), for each λ in `--lams`
  (λ = 0: LPIPS only; λ > 0: plus λ · the regression term). One run to max(caps) per λ, evaluated
  at every cap (constant learning rate, so "cap c" = "a run of c steps");
- `refine`: per-image refinement (eq. 4, `--refine-steps` steps) from the regression encoder and
  from the `--refine-from` encoder.

Metrics: MSE and PSNR of [0,1] images, LPIPS (the backbone is printed and stored — offline it is
a RANDOM AlexNet trunk), and part IoU (mean over classes) between the true ToyFaces mask of x and
the judge's mask on G(E(x)), if a judge checkpoint is available (`--judge`); the judge's IoU on x
itself is reported as the ceiling. Refinement optimises LPIPS and MSE on the very images scored,
so its rows measure fit, not generalisation. The encoder is cached in `runs/bench_inversion/`
(resumable), and its training time is reported. Results: `benchmarks/results/inversion.json` and
`inversion.md` (`inversion_quick.*` with `--quick`).
"""
import argparse, copy, hashlib, json, math, os, platform, subprocess, sys, time, warnings
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.core import default_device, load_profile, set_seed
from handsoff_nb.data import SPLITS, render_toyfaces
from handsoff_nb.perceptual import make_lpips
from handsoff_nb.stylegan2 import GenConfig, load_generator, make_generator
from handsoff_nb.inversion import (EncConfig, REFINE_WEIGHTS, as_lpips_fn, invert, load_encoder, mask_iou,
                                   refine_weights, render, save_encoder, train_encoder, tune_encoder_lpips)

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv=None):
    prof = load_profile()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='tiny random G, few images and steps')
    ap.add_argument('--generator', default=None, help='default: data_samples/toyfaces_g64.pt')
    ap.add_argument('--encoder', default=None, help='a save_encoder file; default: train (cached)')
    ap.add_argument('--tuned', default=None, help='an already tuned encoder file (e.g. the shipped '
                    'toyfaces_e64.pt), scored and refined beside the others')
    ap.add_argument('--refine-weights', default='auto', choices=('auto', 'reference'),
                    help="eq. (4) weights: 'auto' = refine_weights(lpips), as invert does; 'reference' = "
                    "the official code's 10/1/1")
    ap.add_argument('--encoder-steps', type=int, default=None, help=f'default {prof.encoder_steps}')
    ap.add_argument('--encoder-batch', type=int, default=None, help=f'default {prof.batch_size}')
    ap.add_argument('--caps', default=None, help='LPIPS-tuning caps, default 0,50,200,1000')
    ap.add_argument('--lams', default='0,1', help='λ values of eq. (6) to compare')
    ap.add_argument('--tune-batch', type=int, default=8)
    ap.add_argument('--tune-lr', type=float, default=1e-4)
    ap.add_argument('--refine-steps', type=int, default=None, help='default 100 (quick: 5)')
    ap.add_argument('--refine-from', default=None,
                    help="'cap,lam' of the tuned encoder to refine from; default: profile cap, λ=1")
    ap.add_argument('--n-test', type=int, default=None, help='held-out images (default 100)')
    ap.add_argument('--judge', default=None, help='default: data_samples/judge_unet.pt if present')
    ap.add_argument('--lpips-net', default='alex')
    ap.add_argument('--lpips-backbone', default='auto', help="make_lpips backbone ('auto': "
                    'ImageNet if cached, else random); toyfaces needs --lpips-weights')
    ap.add_argument('--lpips-weights', default=None, help='trunk weights file for make_lpips')
    ap.add_argument('--device', default=None)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--cache', default=str(ROOT/'runs'/'bench_inversion'))
    ap.add_argument('--out', default=None, help='JSON (default results/inversion[_quick].json)')
    ap.add_argument('--progress', action='store_true')
    a = ap.parse_args(argv)
    q = a.quick
    a.encoder_steps = a.encoder_steps or (30 if q else prof.encoder_steps)
    a.encoder_batch = a.encoder_batch or (8 if q else prof.batch_size)
    a.caps = sorted({int(c) for c in (a.caps or ('0,5,20' if q else '0,50,200,1000')).split(',')})
    a.lams = [float(l) for l in a.lams.split(',')]
    a.refine_steps = 5 if q and a.refine_steps is None else (a.refine_steps or 100)
    a.n_test = a.n_test or (8 if q else 100)
    if a.refine_from is None:
        cap = min(a.caps, key=lambda c: abs(c - (10 if q else prof.lpips_steps)))
        a.refine_from = f'{cap},{a.lams[-1]:g}'
    return a


# ---------------------------------------------------------------- setup

def git_sha():
    try: return subprocess.check_output(['git', 'rev-parse', 'HEAD'], cwd=ROOT, text=True).strip()
    except Exception: return None

def get_generator(a, device):
    "→ (G, description). Quick mode without --generator: a random tiny G (plumbing only)."
    if a.quick and a.generator is None:
        set_seed(a.seed)
        return make_generator(GenConfig.tiny(), device).eval(), 'GenConfig.tiny(), RANDOM weights'
    path = Path(a.generator or ROOT/'data_samples'/'toyfaces_g64.pt')
    if not path.exists(): sys.exit(f'{path}: no generator checkpoint (use --quick or --generator)')
    G, _, cfg = load_generator(path, device)
    return G, f'{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ({cfg})'

def get_judge(a, device):
    "→ (judge callable img → mask, or None, description)."
    if a.quick and a.judge is None: return None, 'none (quick mode)'
    path = Path(a.judge) if a.judge else ROOT/'data_samples'/'judge_unet.pt'
    if not path.exists(): return None, f'none ({path.name} not found)'
    try:
        from handsoff_nb.quality import load_unet, predict_masks
        unet = load_unet(path, device=device)
        return (lambda img: predict_masks(unet, img)), str(path)
    except Exception as e:  # the judge API lives in another module; report, don't crash
        return None, f'none (could not load {path.name}: {type(e).__name__}: {e})'

def encoder_cache_dir(a, g_desc, G):
    key = json.dumps([g_desc, a.generator and os.path.getsize(a.generator), a.encoder_steps,
                      a.encoder_batch, a.seed, G.size, G.style_dim])
    return Path(a.cache)/f'enc_{hashlib.sha1(key.encode()).hexdigest()[:10]}'

def get_encoder(a, G, g_desc, device):
    "→ (E, info dict): a given encoder file, or one trained (and cached, resumable) now."
    if a.encoder:
        return load_encoder(a.encoder, device), dict(path=a.encoder, train_seconds=None)
    out = encoder_cache_dir(a, g_desc, G)
    E, run = train_encoder(G, EncConfig.for_generator(G), steps=a.encoder_steps,
                           batch=a.encoder_batch, out_dir=out, seed=a.seed, device=device,
                           progress=a.progress)
    return E, dict(path=str(out/'encoder.pt'), steps=run['step'], batch=a.encoder_batch,
                   train_seconds=run['seconds'], ms_per_step=1e3 * run['seconds'] / run['step'],
                   final_loss=sum(run['log']['loss'][-20:]) / len(run['log']['loss'][-20:]))


# ---------------------------------------------------------------- metrics

@torch.no_grad()
def score(ws, x, mask, G, dist, judge, chunk=25) -> dict:
    "MSE and PSNR of [0,1] images, LPIPS and part IoU of G(ws) against the real `x`."
    recs = torch.cat([render(G, w).clamp(-1, 1) for w in ws.split(chunk)])
    mse = ((recs - x) / 2).pow(2).flatten(1).mean(1)  # (N,), on the [0,1] scale
    lp = torch.cat([dist(r, xx) for r, xx in zip(recs.split(chunk), x.split(chunk))])
    out = dict(mse=mse.mean().item(), psnr=(-10 * torch.log10(mse.clamp_min(1e-10))).mean().item(),
               lpips=lp.mean().item(), iou=None)
    if judge is not None:
        pred = torch.cat([judge(r) for r in recs.split(chunk)])
        out['iou'] = mask_iou(pred, mask)
    return out


# ---------------------------------------------------------------- methods

def lpips_rows(a, E_reg, G, lp, x, mask, dist, judge, cache):
    "One tuning run to max(caps) per λ, scored at every cap; snapshots saved for refinement."
    rows, snaps = [], {}
    for lam in a.lams:
        out, calls = cache/f'tune_lam{lam:g}_b{a.tune_batch}_lr{a.tune_lr:g}', iter(a.caps)
        def eval_fn(E, lam=lam, out=out):  # called once per cap, in order (no resume here)
            cap = next(calls)
            snaps[cap, lam] = save_encoder(E, out/f'cap{cap}.pt')
            return score_E(E, x, mask, G, dist, judge)
        E, run = tune_encoder_lpips(copy.deepcopy(E_reg), G, lp, steps=max(a.caps),
                                    batch=a.tune_batch, lr=a.tune_lr, lam=lam, seed=a.seed,
                                    eval_fn=eval_fn, eval_steps=a.caps, progress=a.progress)
        ms = 1e3 * run['seconds'] / max(run['step'], 1)
        for e in run['evals']:
            cap = e['step']
            if cap == 0 and lam != a.lams[0]: continue  # the same regression encoder
            name = 'regression' if cap == 0 else 'regression + capped LPIPS'
            rows.append(dict(method=name, cap=cap, lam=lam, refine_steps=0,
                             seconds=cap * ms / 1e3, **{k: e.get(k) for k in
                             ('mse', 'psnr', 'lpips', 'iou')}))
    return rows, snaps

def score_E(E, x, mask, G, dist, judge, chunk=25):
    with torch.no_grad(): ws = torch.cat([E(xx) for xx in x.split(chunk)])
    return score(ws, x, mask, G, dist, judge)

def chosen_weights(a, lp) -> dict:
    "Eq. (4)'s weights for `--refine-weights`: the reference 10/1/1, or what `invert` picks for this LPIPS."
    return dict(REFINE_WEIGHTS['reference']) if a.refine_weights == 'reference' else refine_weights(lp)

def refine_rows(a, encoders, G, lp, x, mask, dist, judge):
    rows = []
    for label, (E, cap, lam) in encoders.items():
        t0 = time.perf_counter()
        w = chosen_weights(a, lp)
        ws = invert(x, E, G, refine_steps=a.refine_steps, lpips=lp, batch_size=25,
                    progress=a.progress, **w)
        secs = time.perf_counter() - t0
        rows.append(dict(method=f'{label} + refinement', cap=cap, lam=lam,
                         refine_steps=a.refine_steps, seconds=secs,
                         **score(ws, x, mask, G, dist, judge)))
    return rows


# ---------------------------------------------------------------- report

def markdown(meta, enc, rows) -> str:
    f = lambda v, p: '—' if v is None else f'{v:.{p}f}'
    lines = [f"# Inversion benchmark{' (quick)' if meta['quick'] else ''}", '',
             f"- generator: {meta['generator']}",
             f"- LPIPS (training and scoring): {meta['lpips']}",
             f"- judge for part IoU: {meta['judge']}",
             f"- held-out images: {meta['n_test']} of SPLITS['test'] at {meta['size']} px",
             f"- encoder: {enc.get('steps', '?')} steps, batch {enc.get('batch', '?')}, "
             f"training {f(enc.get('train_seconds'), 1)} s "
             f"({f(enc.get('ms_per_step'), 1)} ms/step) on {meta['device']}",
             f"- judge IoU on the real images themselves (ceiling): {f(meta['judge_iou_real'], 3)}",
             f"- refinement weights (eq. 4): {meta.get('refine_weights')}",
             '', '| method | cap | λ | refine | MSE | PSNR dB | LPIPS | part IoU | s |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for r in rows:
        lines.append(f"| {r['method']} | {'—' if r['cap'] is None else r['cap']} | "
                     f"{'—' if r['lam'] is None else format(r['lam'], 'g')} | {r['refine_steps']} | "
                     f"{f(r['mse'], 4)} | {f(r['psnr'], 2)} | {f(r['lpips'], 4)} | "
                     f"{f(r['iou'], 3)} | {f(r['seconds'], 1)} |")
    lines += ['', 'MSE/PSNR on [0,1] images. Refinement rows optimise eq. (4) with the weights above on '
              'the scored images themselves. `s`: tuning time to reach the cap, or refinement time for all '
              'images.']
    return '\n'.join(lines) + '\n'

def main(argv=None):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    device = torch.device(a.device) if a.device else default_device()
    warnings.filterwarnings('ignore', message='.*RANDOM.*')  # stated in the results instead
    G, g_desc = get_generator(a, device)
    lp, info = make_lpips(a.lpips_net, backbone=a.lpips_backbone, device=device,
                          backbone_weights=a.lpips_weights)
    dist, (judge, j_desc) = as_lpips_fn(lp), get_judge(a, device)
    data = render_toyfaces(SPLITS['test'][:a.n_test], size=G.size, device=device)
    x, mask = data['img'], data['mask']
    cache = encoder_cache_dir(a, g_desc, G)
    E, enc = get_encoder(a, G, g_desc, device)
    enc['params'] = sum(p.numel() for p in E.parameters())
    t0 = time.perf_counter()
    rows, snaps = lpips_rows(a, E, G, lp, x, mask, dist, judge, cache)
    cap, lam = a.refine_from.split(',')
    cap, lam = int(cap), float(lam)
    sources = {'regression': (E, 0, 0.)}
    if cap > 0:
        sources['regression + capped LPIPS'] = (load_encoder(snaps[cap, lam], device), cap, lam)
    if a.tuned:
        E_t = load_encoder(a.tuned, device)
        rows.append(dict(method=f'tuned ({Path(a.tuned).name})', cap=None, lam=None, refine_steps=0,
                         seconds=None, **score_E(E_t, x, mask, G, dist, judge)))
        sources[f'tuned ({Path(a.tuned).name})'] = (E_t, None, None)
    rows += refine_rows(a, sources, G, lp, x, mask, dist, judge)
    judge_iou = None
    if judge is not None:
        with torch.no_grad(): judge_iou = mask_iou(torch.cat([judge(v) for v in x.split(25)]), mask)
    meta = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), git_sha=git_sha(),
                quick=a.quick, generator=g_desc, size=G.size, lpips=str(info),
                lpips_backbone=info.backbone, judge=j_desc, judge_iou_real=judge_iou,
                n_test=a.n_test, split=f"SPLITS['test'][:{a.n_test}]", caps=a.caps, lams=a.lams,
                tune_batch=a.tune_batch, tune_lr=a.tune_lr, refine_from=a.refine_from,
                tuned=a.tuned, refine_weights=chosen_weights(a, lp),
                device=str(device), threads=torch.get_num_threads(), torch=torch.__version__,
                cpu=platform.processor() or platform.machine(), seed=a.seed,
                loadavg_1min=os.getloadavg()[0], eval_seconds=time.perf_counter() - t0,
                argv=sys.argv[1:] if argv is None else argv)
    out = Path(a.out) if a.out else ROOT/'benchmarks'/'results'/(
        'inversion_quick.json' if a.quick else 'inversion.json')
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(meta=meta, encoder=enc, rows=rows), indent=1) + '\n')
    md = markdown(meta, enc, rows)
    out.with_suffix('.md').write_text(md)
    print(md)
    print(f'wrote {out} and {out.with_suffix(".md")}')


if __name__ == '__main__': main()
