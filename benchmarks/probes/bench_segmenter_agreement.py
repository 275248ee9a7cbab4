"""How well do the fine-tuned segmenter's labels of G's samples agree with the judge, against the label generator's?

    OMP_NUM_THREADS=1 python benchmarks/probes/bench_segmenter_agreement.py runs/curve_cpu --Ns 4 16

For each N: the curve's `handsoff+ft` segmenter of seed `--seed` (its saved first stage
`WORK/nets/handsoff_N{N}_s{seed}.pt`, fine-tuned here with the curve's stage and saved beside it as
`handsoff+ft_N{N}_s{seed}.pt`), used as a labeler of G (`SegmenterLabeler`), scored by `judge_agreement` (eq. 2 of
08a: the same 500 fresh samples of G as the curve's `agreement.json`, which holds the label generator's). Also its
mIoU on the curve's 500 held-out faces, which must equal the curve's logged `handsoff+ft` run
→ results/segmenter_agreement.jsonl. With `--ensemble S1 S2 ...`: the mean of those seeds' saved segmenters (`UNetEnsemble`,
eq. 5 of 08a) as one labeler → results/segmenter_agreement_ensemble.jsonl.
"""
import argparse, json, os, time
from pathlib import Path
import torch
from handsoff_nb.core import shipped_path
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.evaluate import fewshot_data, heldout_set, evaluate_model
from handsoff_nb.quality import load_unet, save_unet, judge_path
from handsoff_nb.generate import SegmenterLabeler
from handsoff_nb.segmenter import CurveConfig, finetune, judge_agreement, UNetEnsemble

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('work'); ap.add_argument('--Ns', type=int, nargs='+', default=[4, 16])
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--ensemble', type=int, nargs='+', default=None, help="seeds whose saved segmenters to average")
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'segmenter_agreement.jsonl'))
    a = ap.parse_args()
    if a.ensemble and a.out.endswith('segmenter_agreement.jsonl'): a.out = a.out[:-6] + '_ensemble.jsonl'
    torch.set_num_threads(1)
    cfg, work, test = CurveConfig.cpu(), Path(a.work), heldout_set(500, 64)
    G, w_avg, _ = load_generator(shipped_path('generator')); G.eval()
    judge, lg_ag = load_unet(judge_path(), 'cpu'), json.loads((work/'agreement.json').read_text())
    for N in a.Ns:
        t, f = time.time(), work/'nets'/f'handsoff+ft_N{N}_s{a.seed}.pt'
        if a.ensemble: net = UNetEnsemble([load_unet(work/'nets'/f'handsoff+ft_N{N}_s{s}.pt', 'cpu') for s in a.ensemble])
        elif f.exists(): net = load_unet(f, 'cpu')
        else:
            net = finetune(load_unet(work/'nets'/f'handsoff_N{N}_s{a.seed}.pt', 'cpu'), fewshot_data(N, size=64),
                           cfg.ft_steps, cfg.batch, a.seed, cfg.ft_lr, cfg.class_power, 'cpu')
            save_unet(net, f, stage='handsoff+ft', seed=a.seed, ft_steps=cfg.ft_steps, ft_lr=cfg.ft_lr)
        ag = judge_agreement(G, SegmenterLabeler(G, net), 500, w_avg, judge=judge)
        row = dict(N=N, seed=a.ensemble or a.seed, segmenter_agreement=ag['miou'], segmenter_iou=ag['iou'],
                   label_generator_agreement=lg_ag[str(N)]['miou'], label_generator_iou=lg_ag[str(N)]['iou'],
                   test=evaluate_model(net, test), seconds=round(time.time() - t, 1), loadavg=os.getloadavg()[0],
                   date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        print(json.dumps(dict(N=N, segmenter=round(ag['miou'], 4), label_generator=round(lg_ag[str(N)]['miou'], 4),
                              test_miou=round(row['test']['miou'], 4))), flush=True)
        with open(a.out, 'a') as fh: fh.write(json.dumps(row) + '\n')


if __name__ == '__main__':
    main()
