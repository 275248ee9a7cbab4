"""Does HandsOff + fine-tune pay more when the segmenter's labels of G's samples keep only what it is sure of?

    OMP_NUM_THREADS=1 python benchmarks/probes/bench_confident_labels.py runs/curve_cpu --N 4 --pixel-drop 0 0.2 --pool 1 2

The labeler is the curve's fine-tuned segmenters of seeds `--members` averaged (`UNetEnsemble`, eq. 5 of 08a; saved
by `bench_segmenter_agreement.py` as `WORK/nets/handsoff+ft_N{N}_s{seed}.pt`), run on fresh samples of G
(`SegmenterLabeler`: masks, keypoints, depth and the entropy of the mean softmax). Two filters of its labels:
`--pool f` draws f × 2,000 samples and keeps the 2,000 whose score (eq. 5 of 06, the mean of the 10 % most
uncertain pixels) is lowest; `--pixel-drop q` marks the q most uncertain pixels of every kept image `IGNORE`, so
the first stage takes no loss there. `label_agreement` is the mIoU of the kept labels against the judge's masks of
the same images, on the pixels that keep a label. First stage: a fresh U-Net with the curve's budget (saved as
`WORK/nets/confident_N{N}_p{pool}_q{q}_s{seed}.pt` and reused); then the curve's fine-tuning stage on the N real
images alone and with replay (ρ = 0.5, eq. 1b of 08a). Scored on the curve's 500 held-out faces →
results/confident_labels.jsonl.
"""
import argparse, json, os, time
from pathlib import Path
import torch
from handsoff_nb.core import shipped_path, confusion
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.evaluate import fewshot_data, heldout_set, evaluate_model, train_downstream, seg_metrics, IGNORE
from handsoff_nb.generate import SegmenterLabeler, latents_for, image_seed
from handsoff_nb.quality import load_unet, save_unet, judge_path, predict_masks
from handsoff_nb.segmenter import CurveConfig, UNetEnsemble
from bench_label_dose import finetune_and_log

ROOT = Path(__file__).resolve().parents[2]


def label_pool(G, w_avg, labeler, n:int, batch:int=100) -> dict:
    "`n` fresh samples of G (generation seed 0) with `labeler`'s outputs, on the CPU."
    outs = []
    for i in range(0, n, batch):
        ws = latents_for(G, [image_seed(0, j) for j in range(i, min(n, i + batch))], w_avg, 0.7)
        outs.append({k: v.cpu() for k, v in labeler(ws).items()})
    return {k: torch.cat([o[k] for o in outs]) for k in outs[0]}


def confident(pool:dict, keep:int, pixel_drop:float) -> dict:
    "The `keep` lowest-score images of `pool`, their `pixel_drop` most uncertain pixels marked `IGNORE`."
    idx = pool['score'].argsort(stable=True)[:keep]
    out = {k: pool[k][idx] for k in ('img', 'mask', 'kps', 'depth') if k in pool}
    if pixel_drop > 0:
        u = pool['uncertainty'][idx].flatten(1)                       # (B, H·W)
        thr = u.quantile(1 - pixel_drop, dim=1, keepdim=True)
        out['mask'] = out['mask'].clone().flatten(1).masked_fill(u > thr, IGNORE).view_as(out['mask'])
    return out


def agreement(judge, data:dict) -> float:
    "mIoU of `data`'s masks against the judge's masks of its images, on the pixels that keep a label."
    cm = 0
    for i in range(0, len(data['img']), 250):
        m, j = data['mask'][i:i + 250], predict_masks(judge, data['img'][i:i + 250])
        cm = cm + confusion(m[m != IGNORE], j[m != IGNORE])
    return round(seg_metrics(cm)['miou'], 4)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('work'); ap.add_argument('--N', type=int, default=4)
    ap.add_argument('--members', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--pool', type=float, nargs='+', default=[1.0])
    ap.add_argument('--pixel-drop', type=float, nargs='+', default=[0.0, 0.2])
    ap.add_argument('--real-share', type=float, nargs='+', default=[0.0, 0.5])
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'confident_labels.jsonl'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg, test, judge, work = CurveConfig.cpu(), heldout_set(500, 64), load_unet(judge_path(), 'cpu'), Path(a.work)
    kw = dict(width=cfg.width, levels=cfg.levels, lr=cfg.lr, class_power=cfg.class_power, device='cpu')
    G, w_avg, _ = load_generator(shipped_path('generator')); G.eval()
    net = UNetEnsemble([load_unet(work/'nets'/f'handsoff+ft_N{a.N}_s{s}.pt', 'cpu') for s in a.members])
    real, pool = fewshot_data(a.N, size=64), None
    with torch.no_grad(): pool = label_pool(G, w_avg.reshape(1, -1), SegmenterLabeler(G, net), round(max(a.pool) * cfg.n_generate))
    for f in a.pool:
        for q in a.pixel_drop:
            t = time.time()
            sub = {k: v[:round(f * cfg.n_generate)] for k, v in pool.items()}
            gen = confident(sub, cfg.n_generate, q)
            pre = work/'nets'/f'confident_N{a.N}_p{f:g}_q{q:g}_s{a.seed}.pt'
            if not pre.exists():
                save_unet(train_downstream(gen, cfg.steps, cfg.batch, a.seed, **kw), pre, stage='confident', pool=f,
                          pixel_drop=q)
            first = load_unet(pre, 'cpu')
            base = dict(N=a.N, seed=a.seed, members=a.members, pool=f, pixel_drop=q,
                        label_agreement=agreement(judge, gen), first_stage=evaluate_model(first, test))
            finetune_and_log(first, gen, real, test, base, a.real_share, cfg, a.seed, t, a.out,
                             dict(N=a.N, pool=f, pixel_drop=q))


if __name__ == '__main__':
    main()
