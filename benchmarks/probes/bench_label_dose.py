"""How good must the labels of G's samples be for HandsOff + fine-tune to reach a target, and does replaying them
during the fine-tuning stage keep a good first stage from being lost?

    OMP_NUM_THREADS=1 python benchmarks/probes/bench_label_dose.py runs/curve_cpu --N 4 --judge-share 0 0.5 1 --real-share 0 0.5
    OMP_NUM_THREADS=1 python benchmarks/probes/bench_label_dose.py runs/curve_cpu --N 16 --relabel --real-share 0 0.5

The curve's HandsOff dataset of N (`WORK/handsoff_N{N}/dataset`) keeps its images (with `--relabel`, their masks,
keypoints and depth are first replaced by the curve's fine-tuned segmenter's, `WORK/nets/handsoff+ft_N{N}_s{seed}.pt`
saved by `bench_segmenter_agreement.py`: the second round of `bench_segmenter_relabel.py`); on a random
`judge_share` of them the masks are replaced by the judge's masks (the best labels this project can give G's samples), the rest keep the
label generator's. `label_agreement` is the mIoU of the resulting masks against the judge's on all images. First
stage: a U-Net on that dataset with the curve's budget (share 0: the curve's own saved `handsoff_N{N}_s{seed}.pt`;
others are saved as `WORK/nets/dose_N{N}[_seg]_j{share}_s{seed}.pt` and reused). Fine-tuning stage (eq. 1 of 08a), the
curve's budget: on the N real images alone (`real_share` 0), or on the same generated dataset with the N real images
repeated to make `real_share` of it (replay). Scored on the curve's 500 held-out faces → results/label_dose.jsonl.
"""
import argparse, json, math, os, time
from pathlib import Path
import torch
from handsoff_nb.evaluate import fewshot_data, heldout_set, evaluate_model, train_downstream, load_generated
from handsoff_nb.quality import load_unet, save_unet, judge_path, predict_masks
from handsoff_nb.segmenter import CurveConfig, finetune
from bench_segmenter_relabel import agreement, relabel

ROOT = Path(__file__).resolve().parents[2]


def judge_some(gen:dict, judge, share:float, seed:int) -> dict:
    "`gen` with the judge's masks on a random `share` of its images (the label generator's on the rest)."
    out, n = dict(gen), len(gen['img'])
    pick = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:round(share * n)]
    if len(pick):
        out['mask'] = gen['mask'].clone(); out['mask'][pick] = predict_masks(judge, gen['img'][pick])
    return out


def with_replay(gen:dict, real:dict, share:float) -> dict:
    "`gen` plus the real images repeated so that they are `share` of the set; share 0 → the real images alone."
    if share <= 0: return real
    reps = max(1, math.ceil(share / (1 - share) * len(gen['img']) / len(real['img'])))
    keys = [k for k in ('img', 'mask', 'kps', 'depth') if k in gen and k in real]
    return {k: torch.cat([gen[k]] + [real[k]] * reps) for k in keys}


def finetune_and_log(first, gen:dict, real:dict, test:dict, base:dict, real_shares, cfg, seed:int, t0:float, out,
                     show:dict):
    "The curve's fine-tuning stage of `first` for each replay share: a JSON line to `out`, a short one printed."
    for rs in real_shares:
        net = finetune(first, with_replay(gen, real, rs), cfg.ft_steps, cfg.batch, seed, cfg.ft_lr, cfg.class_power, 'cpu')
        row = dict(base, real_share=rs, metrics=evaluate_model(net, test), steps=cfg.steps, ft_steps=cfg.ft_steps,
                   ft_lr=cfg.ft_lr, seconds=round(time.time() - t0, 1), loadavg=os.getloadavg()[0],
                   date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        print(json.dumps(dict(show, real_share=rs, label_agreement=row['label_agreement'],
                              first=round(row['first_stage']['miou'], 4), miou=round(row['metrics']['miou'], 4),
                              pck=row['metrics'].get('pck'), absrel=row['metrics'].get('absrel'))), flush=True)
        with open(out, 'a') as f: f.write(json.dumps(row) + '\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('work'); ap.add_argument('--N', type=int, default=4)
    ap.add_argument('--judge-share', type=float, nargs='+', default=[0.0, 1.0])
    ap.add_argument('--real-share', type=float, nargs='+', default=[0.0])
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--relabel', action='store_true', help="start from the fine-tuned segmenter's labels")
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'label_dose.jsonl'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg, test, judge, work = CurveConfig.cpu(), heldout_set(500, 64), load_unet(judge_path(), 'cpu'), Path(a.work)
    kw = dict(width=cfg.width, levels=cfg.levels, lr=cfg.lr, class_power=cfg.class_power, device='cpu')
    gen0, real = load_generated(work/f'handsoff_N{a.N}'/'dataset', size=64), fewshot_data(a.N, size=64)
    if a.relabel: gen0 = relabel(load_unet(work/'nets'/f'handsoff+ft_N{a.N}_s{a.seed}.pt', 'cpu'), gen0)
    tag = '_seg' if a.relabel else ''
    for js in a.judge_share:
        t, gen = time.time(), judge_some(gen0, judge, js, a.seed)
        pre = work/'nets'/(f'handsoff_N{a.N}_s{a.seed}.pt' if js == 0 and not a.relabel
                           else f'dose_N{a.N}{tag}_j{js:g}_s{a.seed}.pt')
        if not pre.exists():
            save_unet(train_downstream(gen, cfg.steps, cfg.batch, a.seed, **kw), pre, stage='dose', judge_share=js)
        first = load_unet(pre, 'cpu')
        base = dict(N=a.N, seed=a.seed, relabel=a.relabel, judge_share=js, label_agreement=agreement(judge, gen),
                    first_stage=evaluate_model(first, test))
        finetune_and_log(first, gen, real, test, base, a.real_share, cfg, a.seed, t, a.out,
                         dict(N=a.N, relabel=a.relabel, judge_share=js))


if __name__ == '__main__':
    main()
