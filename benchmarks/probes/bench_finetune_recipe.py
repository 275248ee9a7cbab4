"""Does a longer or stronger fine-tuning stage (eq. 1 of 08a) make HandsOff + fine-tune pay more?

    python benchmarks/probes/bench_finetune_recipe.py runs/curve_cpu --Ns 16 50 --recipes 300:1e-3 1000:1e-3 1000:5e-3

Starts from the curve's saved `handsoff` models (`WORK/nets/handsoff_N{N}_s{seed}.pt`, trained by `handsoff-nb
curve cpu`) and fine-tunes each on the first N shipped labeled images with each recipe `steps:peak_lr`
(`segmenter.finetune`, batch 16), scored on the curve's 500 held-out test faces → results/finetune_recipe.jsonl.
"""
import argparse, json, os, time
from pathlib import Path
import torch
from handsoff_nb.quality import load_unet
from handsoff_nb.evaluate import fewshot_data, heldout_set, evaluate_model
from handsoff_nb.segmenter import finetune

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('work'); ap.add_argument('--Ns', type=int, nargs='+', default=[16, 50])
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--recipes', nargs='+', default=['1000:1e-3'])
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'finetune_recipe.jsonl'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    test = heldout_set(500, 64)
    for N in a.Ns:
        pre = load_unet(Path(a.work)/'nets'/f'handsoff_N{N}_s{a.seed}.pt', 'cpu')
        real = fewshot_data(N, size=64)
        for r in a.recipes:
            steps, lr = int(r.split(':')[0]), float(r.split(':')[1])
            t = time.time()
            net = finetune(pre, real, steps, 16, a.seed, lr, device='cpu')
            m = evaluate_model(net, test)
            row = dict(N=N, seed=a.seed, ft_steps=steps, ft_lr=lr, miou=m['miou'], pck=m.get('pck'),
                       absrel=m.get('absrel'), iou=m['iou'], seconds=round(time.time() - t, 1),
                       loadavg=os.getloadavg()[0], date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
            print(json.dumps({k: v for k, v in row.items() if k != 'iou'}))
            with open(a.out, 'a') as f: f.write(json.dumps(row) + '\n')


if __name__ == '__main__':
    main()
