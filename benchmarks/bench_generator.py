"""Generator speed on CPU (or a GPU): forward images/s and one D+G training-like step.

    python benchmarks/bench_generator.py                 # 2 threads, CPU, writes results/generator.json
    python benchmarks/bench_generator.py --device cuda   # same on a GPU (writes generator_cuda.json)

Forward: `G([z])` under `torch.no_grad()`, batch 16, random noise, for `GenConfig.tiny()` and
`GenConfig.toy64()`, with the activation-scaling modulated conv (`fused=False`, our default) and the grouped
one (`fused=True`, rosinality's default). Step: one non-saturating-loss D update (G forward, D on fake and
real, backward, Adam) plus one G update (G forward, D forward, backward through D into G, Adam), as in
rosinality's train.py without the lazy R1 / path-length regularisers. Each number is the median of
`--repeats` timed runs after `--warmup` untimed ones (the minimum is reported too: on a shared machine
it is the better estimate of the uncontended time); the 1-min load average is recorded with the results.
"""
import argparse, json, os, platform, statistics, time
from datetime import datetime, timezone
from pathlib import Path
import torch
import torch.nn.functional as F
from handsoff_nb.stylegan2 import GenConfig, make_generator, make_discriminator, set_fused, count_params


def _sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()


def timeit(fn, device, repeats, warmup):
    "Median and all wall-clock seconds of `repeats` calls of `fn` after `warmup` calls."
    for _ in range(warmup): fn()
    times = []
    for _ in range(repeats):
        _sync(device); t = time.perf_counter(); fn(); _sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def bench_forward(cfg, fused, batch, device, repeats, warmup):
    G = set_fused(make_generator(cfg, device).eval(), fused)
    z = torch.randn(batch, cfg.style_dim, device=device)
    def fwd():
        with torch.no_grad(): G([z])
    med, times = timeit(fwd, device, repeats, warmup)
    return med, min(times)


def bench_step(cfg, fused, batch, device, repeats, warmup):
    G, D = set_fused(make_generator(cfg, device), fused), make_discriminator(cfg, device)
    g_opt = torch.optim.Adam(G.parameters(), lr=0.002, betas=(0., 0.99))
    d_opt = torch.optim.Adam(D.parameters(), lr=0.002, betas=(0., 0.99))
    real = torch.rand(batch, 3, cfg.size, cfg.size, device=device) * 2 - 1
    def step():
        G.requires_grad_(False); D.requires_grad_(True)
        fake = G([torch.randn(batch, cfg.style_dim, device=device)])[0]
        d_loss = F.softplus(D(fake)).mean() + F.softplus(-D(real)).mean()
        d_opt.zero_grad(set_to_none=True); d_loss.backward(); d_opt.step()
        G.requires_grad_(True); D.requires_grad_(False)
        fake = G([torch.randn(batch, cfg.style_dim, device=device)])[0]
        g_loss = F.softplus(-D(fake)).mean()
        g_opt.zero_grad(set_to_none=True); g_loss.backward(); g_opt.step()
    med, times = timeit(step, device, repeats, warmup)
    return med, min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--threads', type=int, default=2, help='torch CPU threads (our machines: 2 cores)')
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--repeats', type=int, default=11)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--out', default=None, help='JSON path (default: results/generator[_cuda].json)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    device = torch.device(a.device)
    load_start, rows = os.getloadavg()[0], []
    for name in ('tiny', 'toy64'):
        cfg = getattr(GenConfig, name)()
        for fused in (False, True):
            s, s_min = bench_forward(cfg, fused, a.batch, device, a.repeats, a.warmup)
            rows.append(dict(config=name, size=cfg.size, what='forward', fused_modconv=fused,
                             batch=a.batch, median_s=s, min_s=s_min, images_per_s=a.batch / s))
    cfg = GenConfig.toy64()
    for fused in (False, True):
        s, s_min = bench_step(cfg, fused, a.batch, device, max(3, a.repeats // 2), a.warmup)
        rows.append(dict(config='toy64', size=cfg.size, what='D+G step', fused_modconv=fused,
                         batch=a.batch, median_s=s, min_s=s_min, images_per_s=a.batch / s))
    load0 = os.getloadavg()[0]
    print(f"{'config':<7}{'what':<10}{'modconv':<9}{'batch':>6}{'median s':>10}{'min s':>9}"
          f"{'img/s':>9}")
    for r in rows:
        print(f"{r['config']:<7}{r['what']:<10}{'grouped' if r['fused_modconv'] else 'scaled':<9}"
              f"{r['batch']:>6}{r['median_s']:>10.4f}{r['min_s']:>9.4f}{r['images_per_s']:>9.1f}")
    print(f'1-min load average at start {load_start:.2f}, at end {load0:.2f} '
          '(other processes on the machine inflate the times)')
    sizes = {n: dict(g_params=count_params(make_generator(getattr(GenConfig, n)())),
                     d_params=count_params(make_discriminator(getattr(GenConfig, n)())))
             for n in ('tiny', 'toy64')}
    meta = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), torch=torch.__version__,
                device=str(device), threads=torch.get_num_threads(), cpu=platform.processor() or
                platform.machine(), loadavg_1min_start=load_start, loadavg_1min_end=load0,
                gpu=torch.cuda.get_device_name() if device.type == 'cuda' else None,
                repeats=a.repeats, warmup=a.warmup, params=sizes)
    out = Path(a.out) if a.out else Path(__file__).parent / 'results' / (
        'generator.json' if device.type == 'cpu' else f'generator_{device.type}.json')
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(meta=meta, rows=rows), indent=1) + '\n')
    print(f'wrote {out}')


if __name__ == '__main__': main()
