"""What makes the downstream U-Net weak or strong: small measured ablations of its recipe.

    OMP_NUM_THREADS=1 python benchmarks/probes/bench_downstream_model.py --variants base,noaug,segonly
    OMP_NUM_THREADS=1 python benchmarks/probes/bench_downstream_model.py --list      # the variants

Every variant trains `evaluate.UNet` on the same training set (the oracle's real faces, `--oracle-n`,
or the first `--fewshot N` shipped labeled faces) and is scored on the same `--test-n` held-out real
faces (`SPLITS['test']`). A variant changes one thing of the recipe `base` (the old cpu profile:
width 16, 3 levels, batch 16, AdamW + OneCycle at 2e-3, flip + shift + colour jitter, seg + keypoint
(×10) + depth losses). Each finished run is appended to a JSONL log (`--log`) and skipped when the
same (variant, data, steps, seed) is asked for again, so the script is resumable; the summary is
written to `--out` (JSON) each time.
"""
import argparse, json, os, platform, time
from datetime import datetime, timezone
from pathlib import Path
import torch
import torch.nn.functional as F
from handsoff_nb.core import CLASSES, set_seed
from handsoff_nb import evaluate as ev
from handsoff_nb.quality import UNet

ROOT = Path(__file__).resolve().parents[2]  # benchmarks/probes/ → the checkout

# variant → overrides of the recipe (keys of `train`)
BASE = dict(width=16, levels=3, batch=16, lr=2e-3, sched='onecycle', aug='full', heads='all', kp_weight=10.,
            wd=1e-4, norm='group', head='1x1', depth_weight=1., depth_loss='l1', class_weight='none')
VARIANTS = {
    'base': {},
    'noaug': dict(aug='none'),
    'flipshift': dict(aug='flipshift'),      # no colour jitter
    'segonly': dict(heads='seg'),
    'nokps': dict(heads='seg+depth'),
    'nodepth': dict(heads='seg+kps'),
    'kpw1': dict(kp_weight=1.),
    'lr5e-3': dict(lr=5e-3),
    'lr1e-3': dict(lr=1e-3),
    'cosine': dict(sched='cosine'),           # linear warm-up 5 %, cosine decay to 0
    'w24': dict(width=24),
    'w32': dict(width=32),
    'b32': dict(batch=32),
    'plain': dict(aug='none', heads='seg', lr=3e-3),  # like the judge of 02c
    'sephead': dict(head='block'),           # each head gets its own 3x3 conv block before its 1x1 conv
    'sephead-kpw1': dict(head='block', kp_weight=1.),
    'sepdec': dict(head='decoder'),          # one encoder, one decoder per head
    'dw0.1': dict(depth_weight=0.1),
    'dw0.1-kpw1': dict(depth_weight=0.1, kp_weight=1.),
    'msedepth': dict(depth_loss='mse'),
    'cw': dict(class_weight='sqrt'),         # CE weighted by 1/sqrt(class frequency), normalised to mean 1
    'cw-inv': dict(class_weight='inv'),      # CE weighted by 1/(class frequency), normalised to mean 1
    'cw-segonly': dict(class_weight='sqrt', heads='seg'),
    'cw-w24': dict(class_weight='sqrt', width=24),
    'cw-noaug': dict(class_weight='sqrt', aug='none'),
    'cw-lr1e-3': dict(class_weight='sqrt', lr=1e-3),
    'cw-lr5e-3': dict(class_weight='sqrt', lr=5e-3),
    'cw-cosine': dict(class_weight='sqrt', sched='cosine'),
}


def _sched(opt, kind:str, lr:float, steps:int):
    if kind == 'onecycle': return torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
    if kind == 'cosine':
        warm = max(1, steps // 20)
        f = lambda t: (t + 1) / warm if t < warm else 0.5 * (1 + torch.cos(torch.tensor((t - warm) / (steps - warm) * 3.14159265)).item())
        return torch.optim.lr_scheduler.LambdaLR(opt, f)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.)


def _augment(b:dict, gen, aug:str) -> dict:
    if aug == 'none': return b
    if aug == 'full': return ev.augment_batch(b, gen)
    flip = torch.rand(len(b['img']), generator=gen) < 0.5
    fb = ev.hflip(b)
    b = {k: torch.where(flip.view(-1, *[1] * (v.ndim - 1)), fb[k], v) for k, v in b.items()}
    return ev.random_shift(b, gen)


class SepHeadUNet(UNet):
    "A `UNet` whose heads each get a 3x3 conv + GroupNorm + SiLU of their own before the 1x1 conv."
    def __init__(self, n_classes, n_kps, depth, width, levels):
        super().__init__(n_classes, n_kps, depth, width, levels)
        br = lambda: torch.nn.Sequential(torch.nn.Conv2d(width, width, 3, padding=1), torch.nn.GroupNorm(8, width),
                                         torch.nn.SiLU())
        self.branch = torch.nn.ModuleDict({k: br() for k, on in (('seg', 1), ('kps', n_kps), ('depth', depth)) if on})

    def forward(self, img):
        skips, x = self.encode(img)
        for up, s in zip(self.ups, reversed(skips)):
            x = up(torch.cat([F.interpolate(x, size=s.shape[-2:], mode='bilinear', align_corners=False), s], 1))
        out = dict(logits=self.seg(self.branch['seg'](x)))
        if self.kps is not None: out['heatmaps'] = self.kps(self.branch['kps'](x))
        if self.depth is not None: out['depth'] = self.depth(self.branch['depth'](x))
        return out


class SepDecUNet(UNet):
    "A `UNet` with one shared encoder and one decoder (up path) per head."
    def __init__(self, n_classes, n_kps, depth, width, levels):
        super().__init__(n_classes, n_kps, depth, width, levels)
        mk = lambda: UNet(1, 0, False, width, levels).ups
        self.dec = torch.nn.ModuleDict({k: mk() for k, on in (('kps', n_kps), ('depth', depth)) if on})

    def _up(self, ups, skips, x):
        for up, s in zip(ups, reversed(skips)):
            x = up(torch.cat([F.interpolate(x, size=s.shape[-2:], mode='bilinear', align_corners=False), s], 1))
        return x

    def forward(self, img):
        skips, x = self.encode(img)
        out = dict(logits=self.seg(self._up(self.ups, skips, x)))
        if self.kps is not None: out['heatmaps'] = self.kps(self._up(self.dec['kps'], skips, x))
        if self.depth is not None: out['depth'] = self.depth(self._up(self.dec['depth'], skips, x))
        return out


def train(data:dict, steps:int, seed:int=0, width=16, levels=3, batch=16, lr=2e-3, sched='onecycle', aug='full',
          heads='all', kp_weight=10., wd=1e-4, norm='group', head='1x1', depth_weight=1., depth_loss='l1',
          class_weight='none') -> UNet:
    "A copy of `evaluate.train_downstream` with each recipe choice as an argument."
    set_seed(seed)
    hs = ('seg', 'kps', 'depth') if heads == 'all' else tuple(heads.split('+'))
    keys = ['img', 'mask'] + [k for k in ('kps', 'depth') if k in hs]
    net = dict(block=SepHeadUNet, decoder=SepDecUNet).get(head, UNet)(len(CLASSES), data['kps'].shape[1] if 'kps' in hs else 0,
                                                     'depth' in hs, width, levels).train()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=wd)
    sch = _sched(opt, sched, lr, steps)
    gen, n = torch.Generator().manual_seed(seed), len(data['img'])
    cw = None
    if class_weight == 'sqrt':
        f = torch.bincount(data['mask'].flatten(), minlength=len(CLASSES)).float()
        cw = (f.sum() / f.clamp_min(1)).sqrt(); cw = cw / cw.mean()
    elif class_weight == 'inv':
        f = torch.bincount(data['mask'].flatten(), minlength=len(CLASSES)).float()
        cw = f.sum() / f.clamp_min(1); cw = cw / cw.mean()
    for _ in range(steps):
        idx = torch.randint(0, n, (batch,), generator=gen)
        b = _augment({k: data[k][idx] for k in keys}, gen, aug)
        out = net(b['img'])
        loss = F.cross_entropy(out['logits'], b['mask'], weight=cw)
        if 'kps' in b:
            kps = b['kps'].clone(); kps[..., 2] = (kps[..., 2] >= 0.5).float()
            t = ev.keypoint_heatmaps(kps, out['heatmaps'].shape[-1], ev.KP_SIGMA)
            loss = loss + kp_weight * F.binary_cross_entropy_with_logits(out['heatmaps'], t)
        if 'depth' in b:
            dl = F.l1_loss if depth_loss == 'l1' else F.mse_loss
            loss = loss + depth_weight * dl(out['depth'], b['depth'])
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); sch.step()
    return net.eval()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--variants', default='base,noaug,flipshift,segonly,kpw1,plain')
    ap.add_argument('--steps', type=int, default=500); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--oracle-n', type=int, default=2000)
    ap.add_argument('--fewshot', type=int, default=0, help='train on the first N shipped labeled faces instead')
    ap.add_argument('--test-n', type=int, default=300); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--set', nargs='*', default=[], help='KEY=VALUE overrides of every variant (e.g. width=24)')
    ap.add_argument('--log', default=str(ROOT/'runs'/'bench_downstream_model.jsonl'))
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'downstream_model_ablation.json'))
    ap.add_argument('--list', action='store_true')
    a = ap.parse_args(argv)
    if a.list:
        for k, v in VARIANTS.items(): print(f"{k:>10}: {v}")
        return
    torch.set_num_threads(a.threads)
    over = {k: type(BASE[k])(v) for k, v in (s.split('=', 1) for s in a.set)}
    data_tag = f"fewshot{a.fewshot}" if a.fewshot else f"oracle{a.oracle_n}"
    data = ev.fewshot_data(a.fewshot) if a.fewshot else ev.oracle_data(a.oracle_n)
    test = ev.heldout_set(a.test_n)
    log = Path(a.log); log.parent.mkdir(parents=True, exist_ok=True)
    for name in a.variants.split(','):
        rec = {**BASE, **VARIANTS[name], **over}
        key = dict(variant=name, data=data_tag, steps=a.steps, seed=a.seed, test_n=a.test_n, recipe=rec)
        done = [json.loads(l) for l in log.read_text().splitlines()] if log.exists() else []
        if any({k: r[k] for k in key} == key for r in done): print(f"{name}: done, skipped"); continue
        t0 = time.time()
        net = train(data, a.steps, a.seed, **rec)
        t_train = time.time() - t0
        m = ev.evaluate_model(net, test)
        r = dict(**key, metrics=m, train_s=round(t_train, 1), loadavg=round(os.getloadavg()[0], 2),
                 threads=a.threads, date=datetime.now(timezone.utc).isoformat(timespec='seconds'))
        with open(log, 'a') as f: f.write(json.dumps(r) + '\n')
        print(f"{name:>10} [{data_tag}, {a.steps} steps]: mIoU {m['miou']:.3f}  PCK {m.get('pck', float('nan')):.3f}  "
              f"AbsRel {m.get('absrel', float('nan')):.3f}  ({t_train:.0f} s, load {r['loadavg']})", flush=True)
    rows = [json.loads(l) for l in log.read_text().splitlines()]
    summary = [dict(variant=r['variant'], data=r['data'], steps=r['steps'], seed=r['seed'], test_n=r['test_n'],
                    recipe=r['recipe'], miou=round(r['metrics']['miou'], 4), pck=r['metrics'].get('pck'),
                    absrel=r['metrics'].get('absrel'),
                    iou={c: r['metrics']['iou'][c] for c in CLASSES}, train_s=r['train_s'], loadavg=r['loadavg'])
               for r in rows]
    Path(a.out).write_text(json.dumps(dict(meta=dict(script='benchmarks/probes/bench_downstream_model.py', torch=torch.__version__,
                                                     python=platform.python_version(), base=BASE), runs=summary),
                                      indent=1) + '\n')
    print(f"wrote {a.out}")


if __name__ == '__main__':
    main()
