"""Draw nbs/images/offset_encoder.png (for 04): held-out faces through the W+ encoder and the offset encoder, and
the judge's part IoU along the offset encoder's training (`benchmarks/results/encoder_offset.jsonl`, then
`encoder_files.jsonl` rows of the CLI run's checkpoints, `runs/enc64s/offset/last.pt`).

    python tools/make_offset_encoder_figure.py [ENCODER]      # default data_samples/toyfaces_e64_offset.pt
"""
import json, sys
from pathlib import Path
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
import torch
from handsoff_nb.core import data_samples_dir, show_image
from handsoff_nb.data import SPLITS, render_toyfaces
from handsoff_nb.inversion import load_encoder, reconstruct, render
from handsoff_nb.stylegan2 import load_generator

ROOT = Path(__file__).resolve().parent.parent

def rows(name:str) -> list:
    "The JSON lines of `benchmarks/results/<name>`."
    return [json.loads(l) for l in (ROOT/'benchmarks'/'results'/name).read_text().splitlines()]

def curve(files:list) -> tuple:
    "(steps, part IoU) of the offset encoder's training: the diagnostic script's stops, then the CLI run's."
    pts = {r['step']: r['iou'] for r in rows('encoder_offset.jsonl')}
    for r in files:
        if r.get('step') and r.get('offset_layer') is not None: pts[r['step']] = r['iou']  # checkpoints of the CLI run
    s = sorted(pts); return s, [pts[k] for k in s]

def main(enc=None, n:int=6):
    torch.set_num_threads(1)
    G, _, _ = load_generator(data_samples_dir()/'toyfaces_g64.pt'); G.eval()
    E0 = load_encoder(data_samples_dir()/'toyfaces_e64.pt')
    E1 = load_encoder(enc or data_samples_dir()/'toyfaces_e64_offset.pt')
    x = render_toyfaces(SPLITS['test'][:n], G.size)['img']  # (n,3,H,W), held out
    with torch.no_grad():
        grid = [('real x', x), ('W+ encoder', reconstruct(E0, G, x)), ('offset encoder,\nW+ part alone', render(G, E1(x))),
                ('offset encoder,\nW+ and δ', reconstruct(E1, G, x))]
    fig = plt.figure(figsize=(11, 4.6), layout='constrained')
    left, right = fig.subfigures(1, 2, width_ratios=[1.3, 1])
    axs = left.subplots(len(grid), n)
    for r, (name, imgs) in enumerate(grid):
        for c in range(n):
            ax = axs[r, c]; show_image(imgs[c].clamp(-1, 1), ax)
            if c == 0: ax.axis('on'); ax.set_xticks([]); ax.set_yticks([]); ax.set_ylabel(name, fontsize=8)
    left.suptitle('held-out real faces and G(E(x)), no refinement', fontsize=9)
    ax = right.subplots()
    files = rows('encoder_files.jsonl')
    s, iou = curve(files)
    ax.plot([k / 1000 for k in s], iou, marker='.', label='offset encoder, eq. (6c)')
    base = [r['iou'] for r in files if r['encoder'].endswith('data_samples/toyfaces_e64.pt')][-1]
    ax.axhline(base, color='grey', ls=':', label='W+ encoder (shipped toyfaces_e64.pt)')
    shipped = data_samples_dir()/'toyfaces_e64_offset.pt'
    done = [r for r in files if r['encoder'].endswith('data_samples/toyfaces_e64_offset.pt')]
    if done and shipped.exists():
        ex = torch.load(shipped, weights_only=True)['extra']
        ax.scatter([ex['steps'] / 1000], [done[-1]['iou']], color='C2', marker='*', s=120, zorder=3,
                   label=f"shipped: last {ex.get('decay_steps', 0):,} steps ramp lr down")
    ax.axhline(0.70, color='C3', ls='--', lw=1, label='encoder bar 0.70')
    ax.set(xlabel='training steps of eq. (6c), thousands (batch 8)', ylabel='judge part IoU on G(E(x)), 100 held-out faces')
    ax.legend(fontsize=7); ax.grid(alpha=0.3)
    out = ROOT/'nbs'/'images'/'offset_encoder.png'
    fig.savefig(out, dpi=80); print(f"wrote {out}")

if __name__ == '__main__': main(*sys.argv[1:2])
