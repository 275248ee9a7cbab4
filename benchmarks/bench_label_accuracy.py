"""Label accuracy of the HandsOff label generator on held-out real ToyFaces, through inversion.

    python benchmarks/bench_label_accuracy.py              # shipped G, encoder, labeled few → results/label_accuracy.json
    python benchmarks/bench_label_accuracy.py --n-labeled 50 --tag n50   # → label_accuracy_n50.json (1,875 steps)
    python benchmarks/bench_label_accuracy.py --refine-steps 0 --lg-steps 600 --tag old   # the defaults before 2026-11-30

Defaults are those of `handsoff_dataset` (07): 100 steps of per-image refinement of the labeled few, label-generator
steps 600 for up to 16 images and more for more (`lg_steps_for`), class-prior shift β = 0.5 (`--prior-strength`).
The refinement also fits a feature offset of block `--offset-layer` (eq. 4c of 03, `OFFSET_LAYER` = 2; -1: W+ only),
and with `--test-refine-steps` the held-out faces are inverted the same way and labeled at G(w, δ).

Protocol: the label generator is trained exactly as `handsoff-nb generate` trains it (the first N shipped
labeled images, inverted with the encoder, `train_label_generator`). Each of `--n-test` held-out real faces
x (SPLITS['test'], never seen by the GAN, the encoder or the label generator) is inverted, w = E(x) (refined for
`--test-refine-steps` steps as the labeled few are, if given; an encoder with an offset head for `--offset-layer`
(`toyfaces_e64_offset.pt`) gives every face its predicted δ too), and the label generator labels G(w); the labels are compared with x's exact ToyFaces labels:
- mIoU over the 8 classes (dataset-level confusion, background included) and per-class IoU;
- keypoint error: mean Euclidean distance in pixels over visible keypoints, and PCK@0.05·size;
- depth: mean absolute error and AbsRel over pixels with depth > 0 (the ToyFaces scale, wall = 1).
Keypoints are decoded twice from the same heatmaps: with the pair-aware decoder (`pck_005`, the default
of `decode_keypoints`) and with independent per-channel argmax (`pck_005_independent`, the old decoder).
`train_fit` scores the label generator on its own N training latents (how well it fits what it learnt
from); `inversion_fit` is the per-image MSE of G(w) vs the labeled image x, for the first 16 and the
rest, to see whether images 17..50 are harder to invert. `prior_shift_scale` gives the test mIoU of the
same label generator with the class-prior shift (eq. 3a of 06) at β = 0, 0.5 and 1; `generated` the class
areas of its labels on 64 samples of G next to the judge's and the real test faces'. Because labels are
read at G(E(x)), not at x, these numbers combine inversion error and label-generator error; the `judge_on_reconstruction` row (the real-trained judge segmenter on G(E(x))) and `judge_on_real`
(the judge on x) separate the two for segmentation.
"""
import argparse, json, os, platform, time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.core import data_samples_dir, CLASSES
from handsoff_nb.data import SPLITS, render_toyfaces, load_labeled_folder
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.inversion import REFINE_WEIGHTS, load_encoder, invert
from handsoff_nb.label_generator import (LGConfig, train_label_generator, predict_labels, prior_shift, lg_steps_for,
                                         split_heads, decode_keypoints)
from handsoff_nb.hypercolumns import generate_features
from handsoff_nb.generate import latents_for, image_seed, OFFSET_LAYER
from handsoff_nb.quality import confusion, load_unet, judge_path, predict_masks
from handsoff_nb.evaluate import pck, seg_metrics, depth_metrics as ev_depth

ROOT = Path(__file__).resolve().parent.parent


def kp_metrics(pred:torch.Tensor, true:torch.Tensor, size:int) -> dict:
    "Mean pixel error over visible keypoints and `evaluate.pck` at 0.05·size."
    vis = true[..., 2] > 0.5
    return dict(kp_err_px=(pred[..., :2] - true[..., :2]).norm(dim=-1)[vis].mean().item(),
                pck_005=pck(pred, true, size, 0.05))


def depth_metrics(pred:torch.Tensor, true:torch.Tensor) -> dict:
    "MAE and `evaluate.depth_metrics`' AbsRel over pixels with true depth > 0."
    m = true > 0
    return dict(depth_mae=(pred - true).abs()[m].mean().item(), depth_absrel=ev_depth(pred, true)['absrel'])


def seg(pred:torch.Tensor, true:torch.Tensor) -> dict:
    "`evaluate.seg_metrics` of the dataset-level confusion of two mask stacks."
    return seg_metrics(confusion(pred, true, len(CLASSES)))


@torch.no_grad()
def heatmaps(G, lg, ws, batch:int=8, offset=None) -> torch.Tensor:
    "The ensemble-mean keypoint heatmaps (B,K,H,W) of `G(ws)` (with a feature offset `(k, deltas)` if given)."
    out = []
    for i in range(0, len(ws), batch):
        _, feats = generate_features(G, ws[i:i + batch], None if offset is None else (offset[0], offset[1][i:i + batch]))
        out.append(split_heads(lg(feats), lg.cfg, dim=2)['kps'].sigmoid().mean(0))
    return torch.cat(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--generator', default=str(data_samples_dir()/'toyfaces_g64.pt'))
    ap.add_argument('--encoder', default=str(data_samples_dir()/'toyfaces_e64.pt'))
    ap.add_argument('--test-encoder', default=None, help='invert the held-out faces with this encoder (default: --encoder)')
    ap.add_argument('--labeled', default=str(data_samples_dir()/'toyfaces_labeled'))
    ap.add_argument('--n-labeled', type=int, default=16); ap.add_argument('--ensemble', type=int, default=3)
    ap.add_argument('--lg-steps', type=int, default=None,
                    help='label-generator steps (default: as `handsoff_dataset`, lg_steps_for(N, 600))')
    ap.add_argument('--lg-lr', type=float, default=1e-3, help='label-generator learning rate (train_label_generator)')
    ap.add_argument('--n-test', type=int, default=200)
    ap.add_argument('--refine-steps', type=int, default=100, help='per-image refinement of the labeled few (0: none)')
    ap.add_argument('--refine-weights', default='auto', choices=('auto', 'reference'),
                    help="eq. (4) weights: 'auto' as invert chooses them (refine_weights), 'reference' = 10/1/1")
    ap.add_argument('--offset-layer', type=int, default=OFFSET_LAYER,
                    help='refinement also fits an offset of this block (eq. 4c of 03, as handsoff_dataset); -1: W+ only')
    ap.add_argument('--test-refine-steps', type=int, default=0,
                    help='refine the held-out faces\' inversions too (0: w = E(x), the encoder alone)')
    ap.add_argument('--uniform', action='store_true', help='uniform pixel sampling instead of class-balanced')
    ap.add_argument('--prior-strength', type=float, default=0.5, help='β of eq. (3a) of 06 (0: no class-prior shift)')
    ap.add_argument('--tag', default='', help='write results/label_accuracy_<tag>.json (unless --out)')
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--out', default=None)
    a = ap.parse_args(argv)
    a.out = a.out or str(ROOT/'benchmarks'/'results'/f"label_accuracy{'_' + a.tag if a.tag else ''}.json")
    torch.set_num_threads(a.threads)
    G, w_avg, _ = load_generator(a.generator); G.eval()
    E = load_encoder(a.encoder)
    E_t = E if a.test_encoder is None else load_encoder(a.test_encoder)
    lab = load_labeled_folder(a.labeled, size=G.size)
    N = min(a.n_labeled, len(lab['img']))
    t0 = time.time()
    rw = REFINE_WEIGHTS['reference'] if a.refine_weights == 'reference' else {}  # {}: invert's choice
    own = a.offset_layer >= 0 and E.cfg.offset_layer == a.offset_layer  # the encoder predicts this offset itself
    k = a.offset_layer if a.offset_layer >= 0 and (a.refine_steps or own) else None
    ws = invert(lab['img'][:N], E, G, refine_steps=a.refine_steps, offset_layer=k, **rw)
    ws, off = (ws, None) if k is None else (ws[0], (k, ws[1]))
    t_inv = time.time() - t0
    with torch.no_grad(): rec = G.synthesis(ws, randomize_noise=False, offset=off).clamp(-1, 1)
    mse = ((rec - lab['img'][:N]) ** 2).flatten(1).mean(1)  # (N,)
    labels = {k: lab[k][:N] for k in ('mask', 'kps', 'depth')}
    steps = lg_steps_for(N, 600) if a.lg_steps is None else a.lg_steps
    lg = train_label_generator(G, ws, labels, LGConfig.for_generator(G, labels, ensemble_size=a.ensemble),
                               steps=steps, seed=a.seed, balanced=not a.uniform,
                               prior_strength=a.prior_strength, lr=a.lg_lr, progress=True, offset=off)
    t_train = time.time() - t0
    fit = predict_labels(G, lg, ws, offset=off)
    test = render_toyfaces(SPLITS['test'][:a.n_test], G.size)
    t0 = time.time()
    own_t = a.offset_layer >= 0 and E_t.cfg.offset_layer == a.offset_layer
    kt = (a.offset_layer if own_t else k) if a.test_refine_steps or own_t else None  # as the labeled few, or E_t's own δ
    ws_t = invert(test['img'], E_t, G, refine_steps=a.test_refine_steps, offset_layer=kt, **rw)
    ws_t, off_t = (ws_t, None) if kt is None else (ws_t[0], (kt, ws_t[1]))
    pred = predict_labels(G, lg, ws_t, offset=off_t)
    t_pred = time.time() - t0
    kps_indep = decode_keypoints(heatmaps(G, lg, ws_t, offset=off_t), pairs=())
    # eq. (3a) of 06: the class-prior shift at β = 0, ½ and 1, on the same label generator
    shift, by_scale = lg.cfg.prior_shift, {}
    full = prior_shift(labels['mask'], lg.cfg.n_classes)
    for sc in ((0., 0.5, 1.) if not a.uniform else ()):
        lg.cfg = replace(lg.cfg, prior_shift=tuple((sc * full).tolist()))
        m = seg(predict_labels(G, lg, ws_t, offset=off_t)['mask'], test['mask'])
        by_scale[str(sc)] = dict(miou=m['miou'], iou=m['iou'])
    lg.cfg = replace(lg.cfg, prior_shift=shift)
    # what a HandsOff dataset is made of: labels of 64 samples of G (psi = 0.7, as `generate`)
    gws = latents_for(G, [image_seed(0, i) for i in range(64)], w_avg.reshape(1, -1), 0.7)
    gen = predict_labels(G, lg, gws)
    judge = load_unet(judge_path(), 'cpu')
    area = lambda m: {c: round((m == i).float().mean().item(), 4) for i, c in enumerate(CLASSES)}
    res = dict(meta=dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), torch=torch.__version__,
                         threads=a.threads, cpu=platform.machine(), generator=a.generator, encoder=a.encoder, test_encoder=a.test_encoder,
                         labeled=a.labeled, n_labeled=N, ensemble=a.ensemble, lg_steps=steps, lg_lr=a.lg_lr, offset_layer=k,
                         refine_steps=a.refine_steps, refine_weights=a.refine_weights, balanced=not a.uniform, prior_strength=a.prior_strength,
                         prior_shift=list(lg.cfg.prior_shift), invert_seconds=round(t_inv, 1),
                         n_test=a.n_test, test_refine_steps=a.test_refine_steps, test_split="SPLITS['test'][:n_test]", seed=a.seed,
                         train_seconds=round(t_train, 1), label_seconds=round(t_pred, 1),
                         loadavg_1min=os.getloadavg()[0]),
               label_generator={**seg(pred['mask'], test['mask']),
                                **kp_metrics(pred['kps'], test['kps'], G.size),
                                **depth_metrics(pred['depth'], test['depth']),
                                'pck_005_independent': pck(kps_indep, test['kps'], G.size, 0.05)},
               prior_shift_scale=by_scale,
               train_fit={**seg(fit['mask'], labels['mask']), **kp_metrics(fit['kps'], labels['kps'], G.size)},
               inversion_fit=dict(mse_first16=mse[:16].mean().item(),
                                  mse_rest=mse[16:].mean().item() if N > 16 else None,
                                  judge_miou_on_reconstruction=seg(predict_masks(judge, rec), labels['mask'])['miou']),
               generated=dict(area_label_generator=area(gen['mask']),
                              area_judge=area(predict_masks(judge, gen['img'])), area_real_test=area(test['mask']),
                              agreement_with_judge=seg(gen['mask'], predict_masks(judge, gen['img']))['miou']),
               judge_on_reconstruction=seg(predict_masks(judge, pred['img']), test['mask']),
               judge_on_real=seg(predict_masks(judge, test['img']), test['mask']),
               uncertainty=dict(score_mean=pred['score'].mean().item(),
                                unc_on_wrong_pixels=pred['unc'][pred['mask'] != test['mask']].mean().item(),
                                unc_on_right_pixels=pred['unc'][pred['mask'] == test['mask']].mean().item()))
    print(json.dumps(res, indent=1))
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {out}")
    return res


if __name__ == '__main__':
    main()
