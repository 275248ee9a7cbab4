"""Does HandsOff + fine-tune pay more when the fine-tuned segmenter relabels HandsOff's images and is trained again?

    OMP_NUM_THREADS=1 python benchmarks/probes/bench_segmenter_relabel.py runs/curve_cpu --Ns 4 16 --rounds 1

The fine-tuned segmenter of the curve (`handsoff+ft`, eq. 1 of 08a) is better than the label generator that made
the dataset's labels (0.68 against 0.55 mIoU at N = 4). Each round: it labels the dataset's images again (masks,
keypoints, depth), a fresh U-Net is trained on those labels with the curve's first-stage budget, then fine-tuned on
the N real images with the curve's stage. Start: the curve's saved first stage `WORK/nets/handsoff_N{N}_s{seed}.pt`
(seed 0), fine-tuned here. Also reported: how well each round's labels agree with the judge's masks of the same
images (`label_agreement`). Scored on the curve's 500 held-out faces → results/segmenter_relabel.jsonl.
"""
import argparse, json, os, time
from pathlib import Path
import torch
from handsoff_nb.evaluate import (fewshot_data, heldout_set, evaluate_model, train_downstream, load_generated, predict,
                                  seg_metrics)
from handsoff_nb.quality import load_unet, judge_path, confusion, predict_masks
from handsoff_nb.segmenter import CurveConfig, finetune

ROOT = Path(__file__).resolve().parents[2]


def agreement(judge, data:dict) -> float:
    "mIoU of `data`'s masks against the judge's masks of its images."
    cm = sum(confusion(data['mask'][i:i + 250], predict_masks(judge, data['img'][i:i + 250]))
             for i in range(0, len(data['img']), 250))
    return round(seg_metrics(cm)['miou'], 4)


def relabel(net, gen:dict) -> dict:
    "`gen`'s images with `net`'s masks, keypoints and depth as labels."
    p = predict(net, gen['img'])
    out = dict(img=gen['img'], mask=p['mask'])
    if 'kps' in gen and 'kps' in p: out['kps'] = p['kps']
    if 'depth' in gen and 'depth' in p: out['depth'] = p['depth'].reshape(gen['depth'].shape)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('work'); ap.add_argument('--Ns', type=int, nargs='+', default=[4, 16])
    ap.add_argument('--rounds', type=int, default=1); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'segmenter_relabel.jsonl'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg, test, judge, work = CurveConfig.cpu(), heldout_set(500, 64), load_unet(judge_path(), 'cpu'), Path(a.work)
    kw = dict(width=cfg.width, levels=cfg.levels, lr=cfg.lr, class_power=cfg.class_power, device='cpu')
    for N in a.Ns:
        t = time.time()
        gen, real = load_generated(work/f'handsoff_N{N}'/'dataset', size=64), fewshot_data(N, size=64)
        net = finetune(load_unet(work/'nets'/f'handsoff_N{N}_s{a.seed}.pt', 'cpu'), real, cfg.ft_steps, cfg.batch,
                       a.seed, cfg.ft_lr, cfg.class_power, 'cpu')
        rows = [dict(round=0, label_agreement=agreement(judge, gen), metrics=evaluate_model(net, test))]
        for r in range(1, a.rounds + 1):
            data = relabel(net, gen)
            first = train_downstream(data, cfg.steps, cfg.batch, a.seed, **kw)
            net = finetune(first, real, cfg.ft_steps, cfg.batch, a.seed, cfg.ft_lr, cfg.class_power, 'cpu')
            rows.append(dict(round=r, label_agreement=agreement(judge, data), first_stage=evaluate_model(first, test),
                             metrics=evaluate_model(net, test)))
        for row in rows:
            row.update(N=N, seed=a.seed, steps=cfg.steps, ft_steps=cfg.ft_steps, ft_lr=cfg.ft_lr,
                       seconds=round(time.time() - t, 1), loadavg=os.getloadavg()[0],
                       date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
            print(json.dumps(dict(N=N, round=row['round'], label_agreement=row['label_agreement'],
                                  first=row.get('first_stage', {}).get('miou'), miou=row['metrics']['miou'],
                                  pck=row['metrics'].get('pck'), absrel=row['metrics'].get('absrel'))), flush=True)
            with open(a.out, 'a') as f: f.write(json.dumps(row) + '\n')


if __name__ == '__main__':
    main()
