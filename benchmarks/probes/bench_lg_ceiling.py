"""How well can the label generator learn from N *perfectly* labeled images of G? A ceiling for HandsOff's labels.

    python benchmarks/probes/bench_lg_ceiling.py                  # N = 16, 600 steps (as handsoff_dataset)
    python benchmarks/probes/bench_lg_ceiling.py --n 50 --steps 1875 --lr 1e-3
    python benchmarks/probes/bench_lg_ceiling.py --n 4 --draw 1 --eval-n 500   # another 4 samples, 500 to score

No inversion, no real image: N samples of the shipped G (ψ = 0.7, seeds image_seed(7, i)) are labeled by the
judge (a U-Net trained on real labeled faces), a label generator (ensemble 3, `--hidden`, segmentation head only)
is trained on them as `train_label_generator` trains it, and its masks on 64 *other* samples (the seeds
`generate` and `bench_label_accuracy` use) are compared with the judge's masks on those samples (mIoU over 8
classes; `iou` per class). `--draw k` takes another N samples (seeds image_seed(7 + k, i)); `--eval-n` scores on
more samples (500: the 500 of `bench_segmenter_agreement.py`, eq. 2 of 08a). `train_fit` scores it on its own N. HandsOff's label generator, trained on inverted real faces, is
compared with the judge the same way in `bench_label_accuracy.py` (`generated.agreement_with_judge`); the gap
between the two is what inversion costs, and this number is what the per-pixel MLP on G's features reaches at
best with N examples. One thread; appends one JSON line to `benchmarks/results/lg_ceiling.jsonl`.

`--head conv` is a diagnostic, not HandsOff: instead of the per-pixel MLP, two 3×3 convolutions (hidden width
`--hidden`'s first value) on the same hypercolumns, trained with class-balanced cross-entropy (weights ∝
frequency^-1/2) for `--steps` steps of batch 4 at lr `--lr`. If it agrees with the judge much better than the MLP,
the features carry the labels and the per-pixel head is what limits; if not, the features are.

`--head unet` is another diagnostic: no features at all, a U-Net (`quality.UNet`, width 16, 3 levels) on G's *images*,
trained on the same N judge-labeled samples (`--steps` steps of batch 16, horizontal flips, AdamW one-cycle lr 3e-3).
It tells how hard G's samples are to label consistently for a pixel learner. `--rgb` appends G's image (3 channels,
64 px) to the hypercolumns of the MLP head (the per-pixel colour beside the features).
"""
import argparse, json, os, time
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.core import data_samples_dir, CLASSES
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.label_generator import LGConfig, train_label_generator, predict_labels
from handsoff_nb.generate import latents_for, image_seed
from handsoff_nb.quality import UNet, confusion, iou_from_confusion, judge_path, load_unet, predict_masks
import handsoff_nb.label_generator as lgm
from handsoff_nb.hypercolumns import feature_channels, generate_features, hypercolumns
from torch import nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/probes/ → the checkout


def conv_head(G, ws, mask, width:int, steps:int, lr:float, n_classes:int=8) -> callable:
    "Train two 3×3 convs on the hypercolumns of `ws` to predict `mask` → a labeler `ws → {'img', 'mask'}`."
    feats = lambda w: generate_features(G, w)
    with torch.no_grad(): _, fs = feats(ws); X = hypercolumns(fs, mask.shape[-1])  # (N,C,H,W)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(X.shape[1], width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, n_classes, 3, padding=1))
    freq = torch.bincount(mask.flatten(), minlength=n_classes).float().clamp_min(1)
    weight = (freq / freq.sum()) ** -0.5; weight = weight / weight.mean()
    opt, g = torch.optim.Adam(net.parameters(), lr=lr), torch.Generator().manual_seed(0)
    for _ in range(steps):
        i = torch.randint(len(X), (4,), generator=g)
        loss = F.cross_entropy(net(X[i]), mask[i], weight=weight)
        opt.zero_grad(); loss.backward(); opt.step()
    def label(w):
        with torch.no_grad():
            img, fs = feats(w)
            return dict(img=img.clamp(-1, 1), mask=net(hypercolumns(fs, mask.shape[-1])).argmax(1))
    return label


def unet_head(G, ws, mask, steps:int) -> callable:
    "Train a U-Net on the images G(ws) to predict `mask` → a labeler `ws → {'img', 'mask'}`."
    with torch.no_grad(): X = G.synthesis(ws, randomize_noise=False).clamp(-1, 1)
    torch.manual_seed(0)
    net = UNet(width=16)
    opt = torch.optim.AdamW(net.parameters(), 3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    for s in range(steps):
        i = torch.randint(len(X), (16,))
        x, y = (X[i], mask[i]) if s % 2 == 0 else (X[i].flip(-1), mask[i].flip(-1))  # no left/right classes
        loss = F.cross_entropy(net(x)['logits'], y)
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    net.eval()
    def label(w):
        with torch.no_grad():
            img = G.synthesis(w, randomize_noise=False).clamp(-1, 1)
            return dict(img=img, mask=predict_masks(net, img))
    return label


def with_rgb(lgm):
    "Make label_generator's features end with G's image (3 channels), for this process."
    gf, fc = lgm.generate_features, lgm.feature_channels
    def features(G, ws, offset=None):
        img, fs = gf(G, ws, offset); return img, list(fs) + [img]
    lgm.generate_features, lgm.feature_channels = features, lambda G: fc(G) + (3,)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=16); ap.add_argument('--steps', type=int, default=600)
    ap.add_argument('--lr', type=float, default=1e-3); ap.add_argument('--hidden', default='128,32')
    ap.add_argument('--generator', default=str(data_samples_dir()/'toyfaces_g64.pt'), help='default: the shipped G')
    ap.add_argument('--head', default='mlp', choices=('mlp', 'conv', 'unet'), help="'conv', 'unet': the diagnostics above")
    ap.add_argument('--rgb', action='store_true', help="MLP head: G's image as 3 more hypercolumn channels")
    ap.add_argument('--draw', type=int, default=0, help='which N samples: seeds image_seed(7 + draw, i)')
    ap.add_argument('--eval-n', type=int, default=64, help='samples of G it is scored on (seeds image_seed(0, i))')
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'lg_ceiling.jsonl'))
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    G, w_avg, _ = load_generator(a.generator); G.eval()
    judge = load_unet(judge_path(), 'cpu').eval()
    w_avg = w_avg.reshape(1, -1)
    ws = latents_for(G, [image_seed(7 + a.draw, i) for i in range(a.n)], w_avg, 0.7)  # (N,n_latent,D)
    with torch.no_grad(): mask = predict_masks(judge, G.synthesis(ws, randomize_noise=False).clamp(-1, 1))
    hidden = tuple(int(v) for v in a.hidden.split(','))
    if a.rgb and a.head == 'mlp': with_rgb(lgm)
    if a.head == 'mlp':
        cfg = LGConfig.for_generator(G, {'mask': mask}, ensemble_size=3, hidden=hidden)
        lg = train_label_generator(G, ws, {'mask': mask}, cfg, steps=a.steps, lr=a.lr, seed=0)
        label = lambda w: predict_labels(G, lg, w)
    elif a.head == 'unet':
        label = unet_head(G, ws, mask, a.steps)
    else:
        label = conv_head(G, ws, mask, hidden[0], a.steps, a.lr)
    parts = [label(latents_for(G, [image_seed(0, i) for i in range(j, min(j + 64, a.eval_n))], w_avg, 0.7))
             for j in range(0, a.eval_n, 64)]  # 64 at a time: the hypercolumns of 500 samples would not fit in RAM
    gen = {k: torch.cat([p[k] for p in parts]) for k in ('img', 'mask')}
    miou = lambda p, t: iou_from_confusion(confusion(p, t)).nanmean().item()
    fit = label(ws)['mask']
    row = dict(generator=Path(a.generator).name, channels=sum(lgm.feature_channels(G)), n=a.n, steps=a.steps, lr=a.lr, hidden=list(hidden), head=a.head, rgb=a.rgb,
               train_fit=round(miou(fit, mask), 4),
               draw=a.draw, eval_n=a.eval_n, agreement_with_judge=round(miou(gen['mask'], jm := predict_masks(judge, gen['img'])), 4),
               iou=dict(zip(CLASSES, [round(v, 4) for v in iou_from_confusion(confusion(gen['mask'], jm)).tolist()])),
               seconds=round(time.time() - t0, 1), date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
               loadavg_1min=os.getloadavg()[0])
    print(json.dumps(row))
    with open(a.out, 'a') as f: f.write(json.dumps(row) + '\n')
    return row


if __name__ == '__main__': main()
