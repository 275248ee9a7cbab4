"""Which refinement recipe (eq. 4 of 03) inverts held-out real faces best with the offline LPIPS trunk?

    python benchmarks/probes/bench_refine_recipe.py enc                  # the encoder alone
    python benchmarks/probes/bench_refine_recipe.py rw500_10_10_0.1      # refine_latents, 500 steps, λ_p/λ_m/λ_r = 10/10/0.1
    python benchmarks/probes/bench_refine_recipe.py msc1500_0.1          # pixel MSE alone, schedule (5), peak lr 0.1
    python benchmarks/probes/bench_refine_recipe.py mse1500_0.1          # pixel MSE alone, constant lr 0.1

Each variant starts from the shipped encoder's answer E(x) for the first `n` (default 32) faces of SPLITS['test']
(never seen by the GAN or the encoder) and scores the judge's part IoU (mean over the 8 classes, dataset-level)
between x's true mask and its mask on G(w+), as `bench_inversion.py`. One thread. Appends one JSON line per
variant to `benchmarks/results/refine_recipe.jsonl` (with the curve every 250 steps for the pixel-only variants).
"""
import json, os, sys, time
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.core import data_samples_dir
from handsoff_nb.data import SPLITS, render_toyfaces
from handsoff_nb.inversion import load_encoder, lr_schedule, refine_latents, render
from handsoff_nb.perceptual import PerceptualLoss
from handsoff_nb.quality import confusion, iou_from_confusion, judge_path, load_unet, predict_masks
from handsoff_nb.stylegan2 import load_generator

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/probes/ → the checkout


def pixel_fit(G, x, ws0, steps:int, lr:float, schedule:bool, score, t0) -> tuple:
    "Adam on a free W+ from `ws0` for pixel MSE alone (optionally with schedule (5)) → (ws, curve)."
    ws, curve = ws0.clone().requires_grad_(True), []
    opt = torch.optim.Adam([ws], lr=lr)
    for i in range(steps + 1):
        if schedule: opt.param_groups[0]['lr'] = lr_schedule((i + 1) / (steps + 1), lr, 0.05, 0.25)
        img = render(G, ws); loss = (img - x).pow(2).mean()
        if i % 250 == 0:
            with torch.no_grad(): curve.append(dict(step=i, mse=round(loss.item(), 5), part_iou=round(score(img), 4),
                                                    seconds=round(time.time() - t0)))
            print(curve[-1], flush=True)
        if i == steps: break
        opt.zero_grad(); loss.backward(); opt.step()
    return ws.detach(), curve


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    variant, n = argv[0], int(argv[1]) if len(argv) > 1 else 32
    torch.set_num_threads(1)
    G, _, _ = load_generator(data_samples_dir()/'toyfaces_g64.pt'); G = G.eval().requires_grad_(False)
    E = load_encoder(data_samples_dir()/'toyfaces_e64.pt')
    judge = load_unet(judge_path(), 'cpu').eval()
    d = render_toyfaces(SPLITS['test'][:n], G.size); x, m = d['img'], d['mask']  # (n,3,H,W), (n,H,W)
    per_class = lambda img: iou_from_confusion(confusion(predict_masks(judge, img.clamp(-1, 1)), m))
    score = lambda img: per_class(img).nanmean().item()
    t0, curve = time.time(), None
    with torch.no_grad(): ws0 = E(x)  # (n,n_latent,D)
    if variant.startswith('rw'):  # refine_latents with explicit weights: rw<steps>_<w_lpips>_<w_mse>_<w_reg>
        st, wl, wm, wr = variant[2:].split('_')
        ws, _ = refine_latents(x, E, G, PerceptualLoss(), int(st), ws_init=ws0,
                               w_lpips=float(wl), w_mse=float(wm), w_reg=float(wr))
    elif variant[:3] in ('mse', 'msc'):  # pixel MSE alone: mse = constant lr, msc = schedule (5)
        st, lr = variant[3:].split('_')
        ws, curve = pixel_fit(G, x, ws0, int(st), float(lr), variant.startswith('msc'), score, t0)
    elif variant == 'enc': ws = ws0
    else: raise SystemExit(f"unknown variant {variant!r}: enc, rw<steps>_<wl>_<wm>_<wr>, mse<steps>_<lr>, msc<steps>_<lr>")
    with torch.no_grad(): pc = per_class(render(G, ws))
    classes = ['background', 'skin', 'nose', 'eye', 'brow', 'ear', 'mouth', 'hair']
    row = dict(variant=variant, n=n, part_iou=round(pc.nanmean().item(), 4),
               per_class=dict(zip(classes, [round(v, 3) for v in pc.tolist()])), seconds=round(time.time() - t0),
               curve=curve, date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
               loadavg_1min=os.getloadavg()[0])
    print(json.dumps(row))
    out = ROOT/'benchmarks'/'results'/'refine_recipe.jsonl'
    with open(out, 'a') as f: f.write(json.dumps(row) + '\n')
    return row


if __name__ == '__main__': main()
