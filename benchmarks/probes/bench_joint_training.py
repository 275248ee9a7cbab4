"""Is one joint training on HandsOff's data plus the N real images better than training on the generated data
and then fine-tuning on the real ones (eq. 1 of 08a)?

    OMP_NUM_THREADS=1 python benchmarks/probes/bench_joint_training.py runs/curve_cpu --Ns 4 16 --real-share 0.25

Uses the curve's HandsOff datasets (`WORK/handsoff_N{N}/dataset`, made by `handsoff-nb curve cpu`). The N real
images (the first N shipped labeled ones) are repeated so that they are `--real-share` of the training set, and
one U-Net is trained on the union for `--steps` (default 2,000: both stages of the curve's `handsoff+ft`) with the
curve's recipe (`CurveConfig.cpu()`: batch 16, width 16, lr 5e-3, class-weighted loss), scored on the curve's
500 held-out faces → results/joint_training.jsonl.
"""
import argparse, json, os, time
from pathlib import Path
import torch
from handsoff_nb.evaluate import fewshot_data, heldout_set, evaluate_model, train_downstream, load_generated
from handsoff_nb.segmenter import CurveConfig
from bench_label_dose import with_replay

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('work'); ap.add_argument('--Ns', type=int, nargs='+', default=[4, 16])
    ap.add_argument('--real-share', type=float, default=0.25); ap.add_argument('--steps', type=int, default=2000)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'joint_training.jsonl'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg, test = CurveConfig.cpu(), heldout_set(500, 64)
    for N in a.Ns:
        t = time.time()
        gen, real = load_generated(Path(a.work)/f'handsoff_N{N}'/'dataset', size=64), fewshot_data(N, size=64)
        data = with_replay(gen, real, a.real_share)  # the real images repeated to `real_share` of the set
        net = train_downstream(data, a.steps, cfg.batch, a.seed, width=cfg.width, levels=cfg.levels, lr=cfg.lr,
                               class_power=cfg.class_power, device='cpu')
        m = evaluate_model(net, test)
        row = dict(N=N, seed=a.seed, steps=a.steps, real_share=round(1 - len(gen['img']) / len(data['img']), 3),
                   miou=m['miou'], pck=m.get('pck'), absrel=m.get('absrel'), iou=m['iou'], seconds=round(time.time() - t, 1),
                   loadavg=os.getloadavg()[0], date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        print(json.dumps({k: v for k, v in row.items() if k != 'iou'}))
        with open(a.out, 'a') as f: f.write(json.dumps(row) + '\n')


if __name__ == '__main__':
    main()
