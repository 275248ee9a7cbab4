"""Where one StyleGAN2 training step spends its time, and how fast the CPU runs its arithmetic.

    python benchmarks/bench_gan_step.py                  # 1 thread, toy64 and toy64s → results/gan_step.json
    python benchmarks/bench_gan_step.py --threads 2

One step is exactly what `train_gan` does: `d_step` (G forward without grad, D on real and fake, backward,
Adam; lazy R1 every 16th step, amortised here by timing 16 consecutive steps) then `g_step` (G forward, D,
backward through D into G, Adam, EMA). For each config we report:
- seconds per step (median of `--repeats` blocks of 16 steps after a warm-up block);
- FLOPs of one step, counted by `torch.utils.flop_counter.FlopCounterMode` (convolutions and matmuls, the
  forward and the backward passes; elementwise ops are not counted), and the FLOPs of one forward pass of G
  then D split by module (the counter's attribution of backward FLOPs to modules is unreliable): G's modulated
  convs, ToRGB, FIR filters (`Upsample`/`Blur`) and mapping network; D's convs, FIR filters and head;
- achieved GFLOP/s = counted FLOPs / step time, against the peak of this machine measured the same way: a
  1024² float32 matmul and a 3×3 convolution of typical size (batch 16, 64 channels, 32²);
- the top operators by self CPU time from `torch.profiler` over one 16-step block.
"""
import argparse, json, os, platform, statistics, time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from handsoff_nb.stylegan2 import GenConfig
from handsoff_nb.train_gan import TrainConfig, new_state, d_step, g_step

RESULTS = Path(__file__).parent/'results'


def peak_gflops(repeats=20):
    "GFLOP/s of a 1024² matmul and of a 3×3 conv (16×64×32² → 64 channels), median of `repeats`."
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    x, w = torch.randn(16, 64, 32, 32), torch.randn(64, 64, 3, 3)
    out = {}
    for name, fn, flops in [('matmul_1024', lambda: a @ b, 2 * 1024**3),
                            ('conv3x3_64ch_32px', lambda: F.conv2d(x, w, padding=1), 2 * 16 * 64 * 64 * 9 * 32 * 32)]:
        fn(); ts = []
        for _ in range(repeats): t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
        out[name] = round(flops / statistics.median(ts) / 1e9, 1)
    return out


def category(name:str, kind:str) -> str:
    "Module path (FlopCounterMode's key) and class name → the cost category it belongs to."
    fir = kind in ('Blur', 'Upsample', 'Downsample')
    if name.startswith('Generator'):
        if name.startswith('Generator.style'): return 'G mapping'
        if fir: return 'G FIR filters'
        return 'G ToRGB' if 'to_rgb' in name else 'G modulated convs'
    if name.startswith('Discriminator'):
        if fir: return 'D FIR filters'
        return 'D head' if '.final' in name else 'D convs'
    return 'other'


def own_flops(fc:FlopCounterMode, models) -> dict:
    "Each module's own FLOPs (its count less its children's), summed by `category`."
    total = {k: sum(v.values()) for k, v in fc.get_flop_counts().items()}
    kinds = {f'{type(m).__name__}.{n}'.rstrip('.'): type(mm).__name__ for m in models for n, mm in m.named_modules()}
    child = lambda k, o: o.startswith(k + '.') and '.' not in o[len(k) + 1:]
    cats = defaultdict(int)
    for k, v in total.items():
        if k != 'Global': cats[category(k, kinds.get(k, ''))] += v - sum(total[o] for o in total if child(k, o))
    return dict(cats)


def step_flops(s, real):
    "FLOPs of one d_step + g_step (forward and backward), and the forward FLOPs of G and D by part."
    fc = FlopCounterMode(display=False)
    with fc:
        d_step(s, real); g_step(s, len(real), real.device)
    fwd = FlopCounterMode(display=False)  # backward FLOPs are attributed to modules unreliably: forward only
    with fwd, torch.no_grad(): s.D(s.G([torch.randn(len(real), s.gcfg.style_dim)])[0])
    return fc.get_total_flops(), own_flops(fwd, (s.G, s.D))


def bench(cfg_name, batch, repeats):
    gcfg = getattr(GenConfig, cfg_name)()
    s = new_state(gcfg, TrainConfig(batch=batch), 'cpu')
    real = torch.rand(batch, 3, gcfg.size, gcfg.size) * 2 - 1
    def block():
        for _ in range(s.tc.d_reg_every):  # 16 steps: exactly one lazy R1 step among them
            d_step(s, real); g_step(s, batch, real.device); s.step += 1
    block()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); block(); times.append((time.perf_counter() - t) / s.tc.d_reg_every)
    s.step = 1  # a step without R1, for the FLOP count
    total, cats = step_flops(s, real)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof: block()
    ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:10]
    sec = statistics.median(times)
    return dict(config=cfg_name, batch=batch, sec_per_step=round(sec, 4), sec_min=round(min(times), 4),
                images_per_sec=round(batch / sec, 1), gflop_per_step=round(total / 1e9, 3),
                achieved_gflops=round(total / sec / 1e9, 2),
                forward_gflop_by_part={k: round(v / 1e9, 3) for k, v in sorted(cats.items(), key=lambda kv: -kv[1])},
                params_G=sum(p.numel() for p in s.G.parameters()), params_D=sum(p.numel() for p in s.D.parameters()),
                top_ops_self_ms_per_step=[(e.key, round(e.self_cpu_time_total / 1e3 / s.tc.d_reg_every, 1))
                                          for e in ops])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=1); ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--configs', nargs='+', default=['toy64', 'toy64s'])
    ap.add_argument('--out', default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    res = dict(command='python benchmarks/bench_gan_step.py ' + ' '.join(
                   f'--{k} {v}' for k, v in [('threads', a.threads), ('batch', a.batch), ('repeats', a.repeats)]),
               date=datetime.now(timezone.utc).isoformat(timespec='seconds'), torch=torch.__version__,
               machine=platform.machine(), cpus=os.cpu_count(), threads=a.threads,
               load_1min_before=round(os.getloadavg()[0], 2), peak_gflops=peak_gflops(), runs=[])
    for c in a.configs:
        r = bench(c, a.batch, a.repeats); res['runs'].append(r)
        peak = res['peak_gflops']['conv3x3_64ch_32px']
        print(f"{c}: {r['sec_per_step']:.3f} s/step, {r['gflop_per_step']:.2f} GFLOP/step → "
              f"{r['achieved_gflops']:.1f} GFLOP/s ({100 * r['achieved_gflops'] / peak:.0f}% of the conv peak "
              f"{peak}, matmul peak {res['peak_gflops']['matmul_1024']})")
        for k, v in r['forward_gflop_by_part'].items(): print(f"    {k:18s} {v:7.3f} GFLOP")
        for k, v in r['top_ops_self_ms_per_step']: print(f"    {k:40s} {v:7.1f} ms/step")
    res['load_1min_after'] = round(os.getloadavg()[0], 2)
    out = Path(a.out) if a.out else RESULTS/f"gan_step{'' if a.threads == 1 else f'_t{a.threads}'}.json"
    out.write_text(json.dumps(res, indent=1)); print('wrote', out)


if __name__ == '__main__': main()
