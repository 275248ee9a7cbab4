"""Where does a HandsOff dataset lose against real labels? Three trainings of the same downstream U-Net.

    python benchmarks/probes/bench_label_gap.py runs/benchmark_cpu_v2/handsoff_N16/dataset   → benchmarks/results/label_gap.json

One budget for all three (the `cpu` benchmark's: width 16, 3 levels, class-weighted CE, 1,000 steps × 16, lr 5e-3,
seed 0; segmentation head only, since the judge gives no keypoints or depth), scored on 500 held-out real faces:

- `handsoff`: the generated images with the label generator's masks (the dataset as written);
- `judge_on_G`: the *same* generated images, masked by the real-trained judge segmenter (`02c`), a labeler that
  is right about as often on G's images as on real ones;
- `real`: as many real ToyFaces with their true masks (the oracle's seed range).

`real` − `judge_on_G` is what G's images cost (the domain gap); `judge_on_G` − `handsoff` is what the label
generator's labels cost.
"""
import argparse, json, os, time
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.data import render_toyfaces
from handsoff_nb.evaluate import ORACLE_SEEDS, evaluate_model, heldout_set, load_generated, train_downstream
from handsoff_nb.quality import judge_path, load_unet, predict_masks

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/probes/ → the checkout


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('dataset', help='a HandsOff dataset folder (handsoff_dataset / generate output)')
    ap.add_argument('--steps', type=int, default=1000); ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--width', type=int, default=16); ap.add_argument('--lr', type=float, default=5e-3)
    ap.add_argument('--test-n', type=int, default=500); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'label_gap.json'))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    ho = load_generated(a.dataset)
    n = len(ho['img'])
    judge = load_unet(judge_path(), 'cpu').eval()
    test = {k: v for k, v in heldout_set(a.test_n, ho['img'].shape[-1]).items() if k in ('img', 'mask')}
    real = render_toyfaces(list(ORACLE_SEEDS[:n]), ho['img'].shape[-1])
    sets = dict(handsoff=dict(img=ho['img'], mask=ho['mask']),
                judge_on_G=dict(img=ho['img'], mask=predict_masks(judge, ho['img'])),
                real=dict(img=real['img'], mask=real['mask']))
    agree = (sets['handsoff']['mask'] == sets['judge_on_G']['mask']).float().mean().item()
    res = dict(meta=dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), dataset=a.dataset, n=n,
                         steps=a.steps, batch=a.batch, width=a.width, lr=a.lr, test_n=a.test_n, threads=a.threads,
                         loadavg_1min=os.getloadavg()[0], pixel_agreement_handsoff_vs_judge=round(agree, 4)),
               runs={})
    for name, data in sets.items():
        t = time.time()
        net = train_downstream(data, a.steps, a.batch, seed=0, width=a.width, levels=3, lr=a.lr, class_power=0.5,
                               device='cpu')
        m = evaluate_model(net, test)
        res['runs'][name] = dict(miou=round(m['miou'], 4), iou={k: round(v, 3) for k, v in m['iou'].items()},
                                 seconds=round(time.time() - t))
        print(name, res['runs'][name], flush=True)
    r = res['runs']
    res['gap'] = dict(domain=round(r['real']['miou'] - r['judge_on_G']['miou'], 4),
                      labels=round(r['judge_on_G']['miou'] - r['handsoff']['miou'], 4))
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(json.dumps(res['gap']), f'\nwrote {a.out}')
    return res


if __name__ == '__main__': main()
