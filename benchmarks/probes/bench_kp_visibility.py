"""What the third keypoint column of generated labels does to the downstream model (eq. 7b of 06).

    python benchmarks/probes/bench_kp_visibility.py runs/s6/bench/handsoff_N16/label_generator.pt

The label generator file must come from `handsoff_dataset` (it stores `kp_peak`, each keypoint's median heatmap
peak on the labeled inversions). `--n` samples of the shipped G (ψ = 0.7, seeds `image_seed(7, i)`, no uncertainty
filtering) are labeled once. The same images, masks, keypoint positions and depths then train the `cpu` profile's
downstream U-Net twice (08, seed `--seed`), differing only in the keypoints' third column:
- `raw`: the heatmap peak, as generated labels carried it before eq. (7b);
- `calibrated`: eq. (7b), min(1, peak / kp_peak).
The downstream loss counts a keypoint when that column is ≥ 0.5. Reported per keypoint: the fraction of generated
keypoints that count, and PCK@0.05 on `--n-test` real test faces. One thread; writes `benchmarks/results/kp_visibility.json`.
"""
import argparse, json, platform, sys, time
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.core import KEYPOINTS
from handsoff_nb.stylegan2 import shipped_generator
from handsoff_nb.generate import load_label_generator, latents_for, image_seed
from handsoff_nb.label_generator import predict_labels, replace_cfg, visibility
from handsoff_nb.evaluate import BenchConfig, train_downstream, predict, heldout_set, evaluate_model, pck

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/probes/ → the checkout


def per_keypoint_pck(pred:torch.Tensor, true:torch.Tensor, size:int, alpha:float=0.05) -> dict:
    "Eq. (2) of 08 for each keypoint alone → name → value."
    return {nm: pck(pred[:, k:k + 1], true[:, k:k + 1], size, alpha) for k, nm in enumerate(KEYPOINTS)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('label_generator', help="a `label_generator.pt` written by handsoff_dataset (with kp_peak)")
    ap.add_argument('--n', type=int, default=2000); ap.add_argument('--n-test', type=int, default=500)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'kp_visibility.json'))
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    G, w_avg, _ = shipped_generator()
    lg = load_label_generator(a.label_generator)
    if not lg.cfg.kp_peak: raise SystemExit(f"{a.label_generator}: no kp_peak (written before eq. 7b); make it with handsoff_dataset")
    t0 = time.time()
    ws = latents_for(G, [image_seed(7, i) for i in range(a.n)], w_avg)
    data = predict_labels(G, replace_cfg(lg, kp_peak=()), ws, batch_size=32)  # raw peaks in kps[..., 2]
    data = {k: data[k] for k in ('img', 'mask', 'kps', 'depth')}
    peak = torch.tensor(lg.cfg.kp_peak)
    cfg, test, res = BenchConfig.cpu(), heldout_set(a.n_test), {}
    for name in ('raw', 'calibrated'):
        kps = data['kps'].clone()
        if name == 'calibrated': kps[..., 2] = visibility(kps[..., 2], peak)
        counted = (kps[..., 2] >= 0.5).float().mean(0)
        net = train_downstream({**data, 'kps': kps}, cfg.steps, cfg.batch, a.seed, width=cfg.width, levels=cfg.levels,
                               lr=cfg.lr, class_power=cfg.class_power)
        m = evaluate_model(net, test)
        res[name] = dict(counted=dict(zip(KEYPOINTS, counted.tolist())), pck=m['pck'], miou=m['miou'], absrel=m['absrel'],
                         pck_per_keypoint=per_keypoint_pck(predict(net, test['img'])['kps'], test['kps'], test['img'].shape[-1]))
        print(name, json.dumps(res[name]))
    res['meta'] = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), label_generator=a.label_generator,
                       kp_peak=list(lg.cfg.kp_peak), n=a.n, n_test=a.n_test, seed=a.seed, seconds=round(time.time() - t0, 1),
                       torch=torch.__version__, python=platform.python_version(),
                       command='python benchmarks/probes/bench_kp_visibility.py ' + ' '.join(argv or sys.argv[1:]))
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print('→', a.out)


if __name__ == '__main__':
    main()
