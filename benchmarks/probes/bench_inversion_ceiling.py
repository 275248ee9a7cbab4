"""How well can the generator itself represent held-out real faces? An encoder-free upper bound for inversion.

    python benchmarks/probes/bench_inversion_ceiling.py            # shipped G → benchmarks/results/inversion_ceiling.json

For each of `--n` held-out real faces x (SPLITS['test'], never seen by the GAN): start from the best of `--init`
truncated (ψ = 0.7) samples of W by pixel MSE, then optimise a free W+ latent for `--steps` Adam steps of pure
pixel MSE (no prior, no anchor, lr `--lr`). Report the judge's part IoU between x's true mask and its mask on G(w)
along the way. No encoder, LPIPS or labels are involved, so this bounds what any inversion of this generator
reaches on this measure at this budget; if it is far below a target, the generator is what limits it.
"""
import argparse, json, os, time
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.core import data_samples_dir
from handsoff_nb.data import SPLITS, render_toyfaces
from handsoff_nb.inversion import latent_stats, render
from handsoff_nb.quality import confusion, iou_from_confusion, judge_path, load_unet, predict_masks
from handsoff_nb.stylegan2 import load_generator

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/probes/ → the checkout


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--generator', default=str(data_samples_dir()/'toyfaces_g64.pt'))
    ap.add_argument('--n', type=int, default=100); ap.add_argument('--init', type=int, default=256)
    ap.add_argument('--steps', type=int, default=400); ap.add_argument('--lr', type=float, default=0.03)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'inversion_ceiling.json'))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    G, _, _ = load_generator(a.generator); G = G.eval().requires_grad_(False)
    judge = load_unet(judge_path(), 'cpu').eval()
    d = render_toyfaces(SPLITS['test'][:a.n], G.size)
    x, m = d['img'], d['mask']  # (n,3,H,W), (n,H,W)
    iou = lambda img: iou_from_confusion(confusion(predict_masks(judge, img.clamp(-1, 1)), m))
    w_avg = latent_stats(G)[0]
    t0 = time.time()
    with torch.no_grad():  # init: the closest of `init` truncated samples, per image
        z = torch.randn(a.init, G.style_dim, generator=torch.Generator().manual_seed(0))
        w = w_avg + 0.7 * (G.mapping(z) - w_avg)  # (init,D)
        imgs = torch.cat([render(G, wb[:, None].expand(-1, G.n_latent, -1)) for wb in w.split(64)])
        err = torch.stack([((imgs - xi).pow(2)).mean((1, 2, 3)) for xi in x])  # (n,init)
        ws = w[err.argmin(1)][:, None].expand(-1, G.n_latent, -1).clone()  # (n,n_latent,D)
    ws.requires_grad_(True)
    opt = torch.optim.Adam([ws], lr=a.lr)
    curve = []
    for i in range(a.steps + 1):
        img = render(G, ws)
        loss = (img - x).pow(2).mean()
        if i % 100 == 0 or i == a.steps:
            with torch.no_grad(): pc = iou(img)
            curve.append(dict(step=i, mse=round(loss.item(), 5), part_iou=round(pc.nanmean().item(), 4),
                              seconds=round(time.time() - t0, 1)))
            print(curve[-1], flush=True)
        if i == a.steps: break
        opt.zero_grad(); loss.backward(); opt.step()
    classes = ['background', 'skin', 'nose', 'eye', 'brow', 'ear', 'mouth', 'hair']
    res = dict(meta=dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), generator=a.generator,
                         n=a.n, init=a.init, steps=a.steps, lr=a.lr, threads=a.threads,
                         loadavg_1min=os.getloadavg()[0], mse_on='[-1,1] images',
                         judge_on_real=round(iou(x).nanmean().item(), 4)),
               curve=curve, per_class_last=dict(zip(classes, [round(v, 3) for v in pc.tolist()])))
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {a.out}")
    return res


if __name__ == '__main__': main()
