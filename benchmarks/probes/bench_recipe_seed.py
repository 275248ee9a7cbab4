"""Is a downstream difference between two refinement recipes the recipe, or one label generator's luck?

    python benchmarks/probes/bench_recipe_seed.py new 1     # pixel MSE alone, 1,000 steps (today's offline recipe)
    python benchmarks/probes/bench_recipe_seed.py old 1     # LPIPS 10 + MSE 10 + anchor 0.1, 500 steps (the previous one)

Both refine with `handsoff_dataset`'s feature offset (eq. 4c of 03, `OFFSET_LAYER`, recorded as `offset_layer`;
rows without the field were made before it existed, W+ alone).

`handsoff-nb benchmark` makes each N's dataset once (label generator and generation seed 0); its seeds vary only
the downstream U-Net. This script makes one more N = 16 dataset with `handsoff_dataset(seed=SEED)` (another
label-generator initialisation and pixel sampling, other generated images), with the `cpu` profile's settings
(2,223 generated, 10 % dropped, label generator 600 steps, ensemble 3, trusted pixels δ = 0.1), trains the `cpu`
U-Net on it (1,000 × 16, width 16, lr 5e-3, γ = 0.5, seed 0) and scores it on 500 held-out real faces. For `old`
the previous offline weights are put back into `REFINE_WEIGHTS['random_trunk']` for this process only. Work
folder `runs/recipe_seed/<recipe>_<seed>_k<OFFSET_LAYER>` (resumable); appends one JSON line to `benchmarks/results/recipe_seed.jsonl`.
One thread.
"""
import json, math, sys, time
from datetime import datetime, timezone
from pathlib import Path
import torch
import handsoff_nb.inversion as inv
from handsoff_nb.core import data_samples_dir
from handsoff_nb.data import load_labeled_folder
from handsoff_nb.evaluate import evaluate_model, heldout_set, load_generated, train_downstream
from handsoff_nb.generate import handsoff_dataset, OFFSET_LAYER
from handsoff_nb.inversion import load_encoder
from handsoff_nb.stylegan2 import load_generator

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/probes/ → the checkout
RECIPES = dict(new=(None, 1000), old=(dict(w_lpips=10., w_mse=10., w_reg=0.1), 500))  # (random-trunk weights, steps)


def main(argv=None):
    recipe, seed = (sys.argv[1:] if argv is None else argv)[:2]
    seed, (weights, steps) = int(seed), RECIPES[recipe]
    torch.set_num_threads(1)
    if weights: inv.REFINE_WEIGHTS['random_trunk'] = weights  # read by `refine_weights` inside handsoff_dataset
    t0 = time.time()
    G, w_avg, _ = load_generator(data_samples_dir()/'toyfaces_g64.pt'); G.eval()
    E = load_encoder(data_samples_dir()/'toyfaces_e64.pt')
    lab = load_labeled_folder(data_samples_dir()/'toyfaces_labeled', size=G.size)
    out = ROOT/'runs'/'recipe_seed'/f'{recipe}_{seed}_k{OFFSET_LAYER}'
    handsoff_dataset(G, E, lab, out, math.ceil(2000 / 0.9), n_labeled=16, lg_steps=600, ensemble_size=3,
                     refine_steps=steps, trust_drop=0.1, drop_frac=0.1, w_avg=w_avg, seed=seed, progress=False)
    net = train_downstream(load_generated(out), 1000, 16, 0, width=16, levels=3, lr=5e-3, class_power=0.5)
    m = evaluate_model(net, heldout_set(500, G.size))
    row = dict(recipe=recipe, refine_steps=steps, offset_layer=OFFSET_LAYER, dataset_seed=seed, miou=round(m['miou'], 4), pck=round(m['pck'], 4),
               absrel=round(m['absrel'], 4), iou={k: round(v, 3) for k, v in m['iou'].items()},
               seconds=round(time.time() - t0), date=datetime.now(timezone.utc).isoformat(timespec='seconds'))
    print(json.dumps(row))
    with open(ROOT/'benchmarks'/'results'/'recipe_seed.jsonl', 'a') as f: f.write(json.dumps(row) + '\n')
    return row


if __name__ == '__main__': main()
