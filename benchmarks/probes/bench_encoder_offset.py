"""Diagnostic: can an encoder predict the feature offset of eq. (4c) of 03 too? (the encoder bar: part IoU 0.70)

    python benchmarks/probes/bench_encoder_offset.py runs/encoder_offset --steps 500,1500,3000     # resumes from OUT.pt
    python benchmarks/probes/bench_encoder_offset.py runs/encoder_offset --steps 6000,10000

Superseded by the library's `tune_encoder_offset` (eq. 6c of 04, `train-encoder --offset-layer 2`), which minimises
the same objective on the same data stream; kept because the first 13,000 steps of the shipped
`toyfaces_e64_offset.pt` came from it (`tools/offset_run_from_bench.py`). The shipped encoder gets a second head: a 3×3 conv (zero-initialised) from its 8×8
stage (128 channels) to an offset δ of G's block k = 2 (64 × 8 × 8). Encoder and head are trained together (Adam, lr
3e-4, batch 8) on 10 · pixel MSE of G(w⁺, δ) against unlabeled real ToyFaces (`real_batches`, the GAN's `gan_train`
split, no label) plus 0.1 · (the latent regression of eq. 3 on G's own samples + the mean δ² predicted for them,
whose true offset is 0). At each stop: the judge's part IoU and PSNR on 100 held-out real faces (`SPLITS['test']`),
with the predicted offset and without it. One thread; appends to `benchmarks/results/encoder_offset.jsonl`; checkpoint OUT.pt.
"""
import argparse, json, math, os, time, torch
import torch.nn as nn, torch.nn.functional as F
from pathlib import Path
import handsoff_nb.inversion as inv
from handsoff_nb.core import data_samples_dir
from handsoff_nb.data import SPLITS, render_toyfaces
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.quality import judge_path, load_unet, predict_masks
ap = argparse.ArgumentParser(); ap.add_argument('out'); ap.add_argument('--steps', default='1000,2000,4000')
ap.add_argument('--lr', type=float, default=3e-4); ap.add_argument('--lam', type=float, default=0.1)
ap.add_argument('--batch', type=int, default=8); ap.add_argument('--k', type=int, default=2)
a = ap.parse_args(); torch.set_num_threads(1)
if os.path.dirname(a.out): os.makedirs(os.path.dirname(a.out), exist_ok=True); torch.manual_seed(0)
G, _, _ = load_generator(str(data_samples_dir()/'toyfaces_g64.pt')); G.eval().requires_grad_(False)
E = inv.load_encoder(data_samples_dir()/'toyfaces_e64.pt')
c, r = G.feature_shapes()[a.k]
head = nn.Conv2d(E.cfg.channels[2], c, 3, padding=1); nn.init.zeros_(head.weight); nn.init.zeros_(head.bias)
def enc(x):
    h = F.leaky_relu(E.stem(x), 0.2)
    for b in E.blocks[:3]: h = b(h)
    d = head(h)  # (B,c,8,8)
    h = E.blocks[3](h)
    ws = E.w_avg[:, None] + E.w_std[:, None] * E.head(h).view(-1, E.cfg.n_latent, E.cfg.style_dim)
    return ws, d
judge = load_unet(judge_path(), 'cpu').eval()
te = render_toyfaces(SPLITS['test'][:100], 64)
real = inv.real_batches(None, a.batch, 64, 0)
opt = torch.optim.Adam(list(E.parameters()) + list(head.parameters()), lr=a.lr)
t0, step = time.time(), 0
if os.path.exists(f'{a.out}.pt'):
    ck = torch.load(f'{a.out}.pt'); E.load_state_dict(ck['E']); head.load_state_dict(ck['head'])
    if 'opt' in ck: opt.load_state_dict(ck['opt'])
    step = ck.get('step', 3000)
for stop in map(int, a.steps.split(',')):
    E.train()
    while step < stop:
        x = real(step)
        ws, d = enc(x)
        rec = G.synthesis(ws, randomize_noise=False, offset=(a.k, d))
        mse = ((rec - x) / 2).pow(2).mean()
        xg, wg = inv.regression_batch(G, a.batch, E.w_avg, inv.step_generator(0, step), (0.7, 1.), 0.9)
        wh, dg = enc(xg)
        reg = inv.regression_loss(wh, wg, E.w_std) + dg.pow(2).mean()
        loss = 10 * mse + a.lam * reg
        opt.zero_grad(); loss.backward(); opt.step(); step += 1
    E.eval()
    with torch.no_grad():
        ws, d = enc(te['img']); rec = G.synthesis(ws, randomize_noise=False, offset=(a.k, d)).clamp(-1, 1)
        rec0 = G.synthesis(ws, randomize_noise=False).clamp(-1, 1)
    m = ((rec - te['img']) / 2).pow(2).mean().item()
    row = dict(out=a.out, step=step, lr=a.lr, lam=a.lam, iou=round(inv.mask_iou(predict_masks(judge, rec), te['mask']), 4),
               iou_no_offset=round(inv.mask_iou(predict_masks(judge, rec0), te['mask']), 4), psnr=round(-10 * math.log10(m), 2),
               d_rms=round(d.pow(2).mean().sqrt().item(), 3), s=round(time.time() - t0))
    print(json.dumps(row), flush=True)
    with open(Path(__file__).resolve().parents[1]/'results'/'encoder_offset.jsonl', 'a') as f: f.write(json.dumps(row) + '\n')
    torch.save(dict(E=E.state_dict(), head=head.state_dict(), opt=opt.state_dict(), step=step), f'{a.out}.pt')
