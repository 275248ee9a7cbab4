"""How far could HandsOff + fine-tune go if its labels were perfect? An upper bound for any better label generator.

    OMP_NUM_THREADS=1 python benchmarks/probes/bench_label_ceiling_ft.py runs/curve_cpu --Ns 4 16

The curve's HandsOff dataset of each N keeps its images (G's samples), but its masks are replaced by the judge's
masks of those images (the judge is trained on thousands of real faces: the best labels this project can give
G's samples); keypoints and depth stay the label generator's. Then the curve's `handsoff+ft` path: a U-Net trained
on it with the curve's first-stage budget, fine-tuned on the N real images with the curve's stage, seed 0, scored
on the curve's 500 held-out faces → results/label_ceiling_ft.jsonl.
"""
import argparse, json, os, time
from pathlib import Path
import torch
from handsoff_nb.evaluate import fewshot_data, heldout_set, evaluate_model, train_downstream, load_generated
from handsoff_nb.quality import load_unet, judge_path, predict_masks
from handsoff_nb.segmenter import CurveConfig, finetune

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('work'); ap.add_argument('--Ns', type=int, nargs='+', default=[4, 16])
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'label_ceiling_ft.jsonl'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg, test, judge = CurveConfig.cpu(), heldout_set(500, 64), load_unet(judge_path(), 'cpu')
    kw = dict(width=cfg.width, levels=cfg.levels, lr=cfg.lr, class_power=cfg.class_power, device='cpu')
    for N in a.Ns:
        t = time.time()
        gen = load_generated(Path(a.work)/f'handsoff_N{N}'/'dataset', size=64)
        gen['mask'] = predict_masks(judge, gen['img'])  # (B,H,W) the judge's labels of G's images
        first = train_downstream(gen, cfg.steps, cfg.batch, a.seed, **kw)
        net = finetune(first, fewshot_data(N, size=64), cfg.ft_steps, cfg.batch, a.seed, cfg.ft_lr, cfg.class_power, 'cpu')
        row = dict(N=N, seed=a.seed, first_stage=evaluate_model(first, test), metrics=evaluate_model(net, test),
                   steps=cfg.steps, ft_steps=cfg.ft_steps, ft_lr=cfg.ft_lr, seconds=round(time.time() - t, 1),
                   loadavg=os.getloadavg()[0], date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        print(json.dumps(dict(N=N, first=round(row['first_stage']['miou'], 4), miou=round(row['metrics']['miou'], 4))),
              flush=True)
        with open(a.out, 'a') as fh: fh.write(json.dumps(row) + '\n')


if __name__ == '__main__':
    main()
