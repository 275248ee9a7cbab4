"""Draw nbs/images/refine_recipes.png: held-out faces inverted by the encoder, two refinement recipes and pixel
refinement with the feature offset of eq. (4c) of 03 (k = 2), and the
part-IoU curves of `benchmarks/results/refine_recipe.jsonl`.

    python tools/make_refine_figure.py
"""
import json
from pathlib import Path
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
import torch
from handsoff_nb.core import data_samples_dir, show_image
from handsoff_nb.data import SPLITS, render_toyfaces
from handsoff_nb.inversion import REFINE_WEIGHTS, load_encoder, refine_latents, render
from handsoff_nb.perceptual import PerceptualLoss
from handsoff_nb.stylegan2 import load_generator

ROOT = Path(__file__).resolve().parent.parent


def main(n:int=5):
    torch.set_num_threads(1)
    G, _, _ = load_generator(data_samples_dir()/'toyfaces_g64.pt'); G = G.eval().requires_grad_(False)
    E = load_encoder(data_samples_dir()/'toyfaces_e64.pt')
    x = render_toyfaces(SPLITS['test'][:n], G.size)['img']  # (n,3,H,W), held out
    lp = PerceptualLoss()
    with torch.no_grad(): ws0 = E(x)
    old = refine_latents(x, E, G, lp, 100, ws_init=ws0, w_lpips=10., w_mse=10., w_reg=0.1)[0]
    new = refine_latents(x, E, G, lp, 1000, ws_init=ws0, **REFINE_WEIGHTS['random_trunk'])[0]
    ws_o, info = refine_latents(x, E, G, lp, 1000, ws_init=ws0, offset_layer=2, **REFINE_WEIGHTS['random_trunk'])
    rows = [('real x', x), ('G(E(x))', render(G, ws0)), ('LPIPS+MSE, 100', render(G, old)),
            ('pixels, 1,000', render(G, new)), ('+ offset k=2', render(G, ws_o, offset=(2, info['offset'])))]
    fig = plt.figure(figsize=(11, 5.6), layout='constrained')
    left, right = fig.subfigures(1, 2, width_ratios=[1.25, 1])
    axs = left.subplots(len(rows), n)
    for r, (name, imgs) in enumerate(rows):
        for c in range(n):
            ax = axs[r, c]; show_image(imgs[c].detach().clamp(-1, 1), ax)
            if c == 0: ax.axis('on'); ax.set_xticks([]); ax.set_yticks([]); ax.set_ylabel(name, fontsize=8)
    left.suptitle('held-out real faces and their inversions', fontsize=9)
    ax = right.subplots()
    runs = [json.loads(l) for l in (ROOT/'benchmarks'/'results'/'refine_recipe.jsonl').read_text().splitlines()]
    names = {'mse1500_0.03': 'constant lr 0.03', 'mse1500_0.1': 'constant lr 0.1', 'msc500_0.1': 'schedule (5), lr 0.1',
             'msc3000_0.2': 'schedule (5), lr 0.2'}
    for r in runs:
        if r['curve'] and r['variant'] in names:
            ax.plot([p['step'] for p in r['curve']], [p['part_iou'] for p in r['curve']], marker='.',
                    label=names[r['variant']])
    base = {r['variant']: r['part_iou'] for r in runs}
    ax.axhline(base['enc'], color='grey', ls=':', label='encoder alone')
    ax.scatter([500], [base['rw500_10_10_0.1']], color='k', marker='x', zorder=3,
               label='LPIPS + MSE + anchor (10/10/0.1)')
    ax.set(xlabel='refinement steps', ylabel='judge part IoU on G(w+), 32 held-out faces',
           title='pixel MSE alone vs the earlier offline recipe')
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7); ax.grid(alpha=0.3)
    out = ROOT/'nbs'/'images'/'refine_recipes.png'
    fig.savefig(out, dpi=80); print(f"wrote {out}")


if __name__ == '__main__': main()
