"""Does averaging the three seeds' segmenters pay, and does it pay for HandsOff + fine-tune more than for few-shot?

    OMP_NUM_THREADS=1 python benchmarks/probes/bench_ensemble.py runs/curve_cpu --Ns 4 16 --seeds 0 1 2

For each N and arm (`few-shot`, `handsoff+ft`): the curve's U-Nets of those seeds (few-shot: trained here with the
curve's recipe and saved as `WORK/nets/few-shot_N{N}_s{seed}.pt`; handsoff+ft: the segmenters saved by
`bench_segmenter_agreement.py`), each scored alone and as one ensemble (`UNetEnsemble`, eq. 5 of
08a) on the curve's 500 held-out faces → results/ensemble.jsonl.
"""
import argparse, json, os, time
from pathlib import Path
import numpy as np
import torch
from handsoff_nb.evaluate import fewshot_data, heldout_set, evaluate_model, train_downstream
from handsoff_nb.quality import load_unet, save_unet
from handsoff_nb.segmenter import CurveConfig, UNetEnsemble

ROOT = Path(__file__).resolve().parents[2]


def seed_net(work:Path, arm:str, N:int, seed:int, cfg:CurveConfig):
    "The saved U-Net of `arm` at `N` and `seed`; few-shot ones are trained (and saved) when missing."
    f = work/'nets'/f'{arm}_N{N}_s{seed}.pt'
    if not f.exists():
        if arm != 'few-shot': raise FileNotFoundError(f"{f}: run bench_segmenter_agreement.py --seed {seed} first")
        net = train_downstream(fewshot_data(N, size=64), cfg.steps, cfg.batch, seed, width=cfg.width,
                               levels=cfg.levels, lr=cfg.lr, class_power=cfg.class_power, device='cpu')
        save_unet(net, f, stage=arm, seed=seed)
    return load_unet(f, 'cpu')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('work'); ap.add_argument('--Ns', type=int, nargs='+', default=[4, 16])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--arms', nargs='+', default=['handsoff+ft', 'few-shot'])
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'ensemble.jsonl'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg, test, work = CurveConfig.cpu(), heldout_set(500, 64), Path(a.work)
    for N in a.Ns:
        for arm in a.arms:
            t = time.time()
            nets = [seed_net(work, arm, N, s, cfg) for s in a.seeds]
            single = [evaluate_model(n, test) for n in nets]
            ens = evaluate_model(UNetEnsemble(nets), test)
            row = dict(N=N, arm=arm, seeds=a.seeds, single=single, ensemble=ens, seconds=round(time.time() - t, 1),
                       loadavg=os.getloadavg()[0], date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
            print(json.dumps(dict(N=N, arm=arm, single=[round(m['miou'], 4) for m in single],
                                  single_mean=round(float(np.mean([m['miou'] for m in single])), 4),
                                  ensemble=round(ens['miou'], 4), pck=ens.get('pck'), absrel=ens.get('absrel'))),
                  flush=True)
            with open(a.out, 'a') as fh: fh.write(json.dumps(row) + '\n')


if __name__ == '__main__':
    main()
