"""How well can the label generator learn from N *perfectly* labeled images of G? A ceiling for HandsOff's labels.

    python benchmarks/bench_lg_ceiling.py                  # N = 16, 600 steps (as handsoff_dataset)
    python benchmarks/bench_lg_ceiling.py --n 50 --steps 1875 --lr 1e-3

No inversion, no real image: N samples of the shipped G (ψ = 0.7, seeds image_seed(7, i)) are labeled by the
judge (a U-Net trained on real labeled faces), a label generator (ensemble 3, `--hidden`, segmentation head only)
is trained on them as `train_label_generator` trains it, and its masks on 64 *other* samples (the seeds
`generate` and `bench_label_accuracy` use) are compared with the judge's masks on those samples (mIoU over 8
classes). `train_fit` scores it on its own N. HandsOff's label generator, trained on inverted real faces, is
compared with the judge the same way in `bench_label_accuracy.py` (`generated.agreement_with_judge`); the gap
between the two is what inversion costs, and this number is what the per-pixel MLP on G's features reaches at
best with N examples. One thread; appends one JSON line to `results/lg_ceiling.jsonl`.

`--head conv` is a diagnostic, not HandsOff: instead of the per-pixel MLP, two 3×3 convolutions (hidden width
`--hidden`'s first value) on the same hypercolumns, trained with class-balanced cross-entropy (weights ∝
frequency^-1/2) for `--steps` steps of batch 4 at lr `--lr`. If it agrees with the judge much better than the MLP,
the features carry the labels and the per-pixel head is what limits; if not, the features are.
"""
import argparse, json, os, time
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.core import data_samples_dir
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.label_generator import LGConfig, train_label_generator, predict_labels
from handsoff_nb.generate import latents_for, image_seed
from handsoff_nb.quality import confusion, iou_from_confusion, judge_path, load_unet, predict_masks
from handsoff_nb.hypercolumns import feature_channels, generate_features, hypercolumns
from torch import nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent


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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=16); ap.add_argument('--steps', type=int, default=600)
    ap.add_argument('--lr', type=float, default=1e-3); ap.add_argument('--hidden', default='128,32')
    ap.add_argument('--generator', default=str(data_samples_dir()/'toyfaces_g64.pt'), help='default: the shipped G')
    ap.add_argument('--head', default='mlp', choices=('mlp', 'conv'), help="'conv': the diagnostic above")
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'lg_ceiling.jsonl'))
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    G, w_avg, _ = load_generator(a.generator); G.eval()
    judge = load_unet(judge_path(), 'cpu').eval()
    w_avg = w_avg.reshape(1, -1)
    ws = latents_for(G, [image_seed(7, i) for i in range(a.n)], w_avg, 0.7)  # (N,n_latent,D)
    with torch.no_grad(): mask = predict_masks(judge, G.synthesis(ws, randomize_noise=False).clamp(-1, 1))
    hidden = tuple(int(v) for v in a.hidden.split(','))
    if a.head == 'mlp':
        cfg = LGConfig.for_generator(G, {'mask': mask}, ensemble_size=3, hidden=hidden)
        lg = train_label_generator(G, ws, {'mask': mask}, cfg, steps=a.steps, lr=a.lr, seed=0)
        label = lambda w: predict_labels(G, lg, w)
    else:
        label = conv_head(G, ws, mask, hidden[0], a.steps, a.lr)
    gen = label(latents_for(G, [image_seed(0, i) for i in range(64)], w_avg, 0.7))
    miou = lambda p, t: iou_from_confusion(confusion(p, t)).nanmean().item()
    fit = label(ws)['mask']
    row = dict(generator=Path(a.generator).name, channels=sum(feature_channels(G)), n=a.n, steps=a.steps, lr=a.lr, hidden=list(hidden), head=a.head,
               train_fit=round(miou(fit, mask), 4),
               agreement_with_judge=round(miou(gen['mask'], predict_masks(judge, gen['img'])), 4),
               seconds=round(time.time() - t0, 1), date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
               loadavg_1min=os.getloadavg()[0])
    print(json.dumps(row))
    with open(a.out, 'a') as f: f.write(json.dumps(row) + '\n')
    return row


if __name__ == '__main__': main()
