"""Inversion with a feature offset (eq. 4c of 03): how well W+ plus an offset of one style block reconstructs held-out faces.

    python benchmarks/probes/bench_feature_offset.py                      # layers none,2 on 100 faces, 1,000 steps
    python benchmarks/probes/bench_feature_offset.py --layers none,0,2,4 --n 32

The shipped generator and encoder; `invert(refine_steps=steps, offset_layer=k)` with the offline recipe (pixel MSE
alone, `refine_weights`) on `SPLITS['test'][:n]` (never seen by G, E or the label generator). For each k: the judge's
part IoU (mean over 8 classes) between the true ToyFaces mask of x and the judge's mask on the reconstruction, PSNR
of the [0,1] images, the offset's RMS (the features of G's blocks have an RMS of about 0.3-0.4) and seconds. One
thread; appends one JSON line per k to `benchmarks/results/feature_offset.jsonl`.
"""
import argparse, json, math, os, time
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.core import data_samples_dir
from handsoff_nb.data import SPLITS, render_toyfaces
from handsoff_nb.inversion import invert, load_encoder, mask_iou, render
from handsoff_nb.perceptual import PerceptualLoss
from handsoff_nb.quality import judge_path, load_unet, predict_masks
from handsoff_nb.stylegan2 import load_generator

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/probes/ → the checkout


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--layers', default='none,2', help="comma-separated block indices k; 'none': W+ only")
    ap.add_argument('--n', type=int, default=100); ap.add_argument('--steps', type=int, default=1000)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'feature_offset.jsonl'))
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    G, _, _ = load_generator(data_samples_dir()/'toyfaces_g64.pt'); G.eval()
    E = load_encoder(data_samples_dir()/'toyfaces_e64.pt')
    judge, lp = load_unet(judge_path(), 'cpu').eval(), PerceptualLoss()
    d = render_toyfaces(SPLITS['test'][:a.n], G.size)
    rows = []
    for k in a.layers.split(','):
        k, t0 = None if k == 'none' else int(k), time.time()
        out = invert(d['img'], E, G, refine_steps=a.steps, lpips=lp, offset_layer=k, batch_size=50)
        ws, off = (out, None) if k is None else out
        with torch.no_grad(): rec = render(G, ws, offset=None if k is None else (k, off)).clamp(-1, 1)
        mse = ((rec - d['img']) / 2).pow(2).mean().item()
        row = dict(offset_layer=k, resolution=None if k is None else G.feature_shapes()[k][1], n=a.n, steps=a.steps,
                   part_iou=round(mask_iou(predict_masks(judge, rec), d['mask']), 4), psnr=round(-10 * math.log10(mse), 2),
                   offset_rms=None if off is None else round(off.pow(2).mean().sqrt().item(), 3),
                   seconds=round(time.time() - t0, 1), date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
                   loadavg_1min=os.getloadavg()[0])
        print(json.dumps(row), flush=True)
        with open(a.out, 'a') as f: f.write(json.dumps(row) + '\n')
        rows.append(row)
    return rows


if __name__ == '__main__': main()
