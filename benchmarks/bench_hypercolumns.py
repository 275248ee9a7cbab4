"""P1 memory: peak RSS of label-generator training with factorised hypercolumns vs the naive size.

    python benchmarks/bench_hypercolumns.py --threads 1   # 50 images, 256 px → results/hypercolumns.json
    python benchmarks/bench_hypercolumns.py --quick       # 8 images, 64 px → hypercolumns_quick.json
    python benchmarks/bench_hypercolumns.py --scale 2     # widths × 2, C = 3520 → hypercolumns_x2.json
    python benchmarks/bench_hypercolumns.py --config f    # StyleGAN2 config-f widths, C = 5376 → hypercolumns_f.json

A generator with random weights at 256 px (`bench_config()`: rosinality's layout, narrow widths so
that a CPU run takes about a minute; 13 style blocks, C = 1760 hypercolumn channels) and the labels
of the first 50 ToyFaces of the `labeled` split rendered at 256 px (mask, keypoints, depth). The
label generator (`handsoff_nb.label_generator`, ensemble of 3, hidden 128/32) trains from the 50
W+ latents for `--steps` steps, regenerating features every step and sampling `--n-pixels` pixels per
image, so it never holds a hypercolumn. Then it labels `--n-predict` images densely (batch 1).

Memory is the process's resident set from /proc/self/status. Before each phase the peak (VmHWM) is
reset by writing 5 to /proc/self/clear_refs, so each phase's peak is its own; if the kernel refuses
the reset, the peak since process start (getrusage) is used and this is recorded. Memory the setup
freed (rendering the labels) is handed back first with glibc's malloc_trim. The whole-process
peak includes the Python interpreter, torch's libraries, G and the labels; the "above start" figure
subtracts the RSS just before the phase, and "above imports" the RSS right after the imports (what
no method avoids). All three are reported; none is hidden. The naive size is arithmetic, never allocated:
n_images × C × H × W × 4 bytes (float32), what DatasetGAN / the official HandsOff code hold for
training; for prediction, one image's C × H × W × 4.
"""
import argparse, ctypes, gc, json, os, platform, resource, subprocess, sys, time
from datetime import datetime, timezone
from pathlib import Path
import torch
from handsoff_nb.stylegan2 import GenConfig, make_generator
from handsoff_nb.data import render_toyfaces, SPLITS
from handsoff_nb.hypercolumns import feature_channels, hypercolumn_bytes
from handsoff_nb.label_generator import LGConfig, train_label_generator, predict_labels

MiB = 2 ** 20


def bench_config(size:int=256, scale:int=1) -> GenConfig:
    "The benchmark's generator: rosinality's layout, widths 256 → 16 × `scale` (C = 1760 × `scale`)."
    widths = {4: 256, 8: 256, 16: 256, 32: 128, 64: 64, 128: 32, 256: 16, 512: 16, 1024: 16}
    return GenConfig(size, 128, 2, channels={r: c * scale for r, c in widths.items() if r <= size})


def config_f(size:int=256) -> GenConfig:
    "StyleGAN2 config-f at `size` (rosinality: style_dim 512, 8 mapping layers, channel_multiplier 2)."
    widths = {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64, 1024: 32}
    return GenConfig(size, 512, 8, channels={r: c for r, c in widths.items() if r <= size})


def _status(key:str) -> int:
    "A `VmRSS`/`VmHWM` value from /proc/self/status, in bytes."
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(key + ':'): return int(line.split()[1]) * 1024
    raise KeyError(key)


def reset_peak() -> bool:
    "Reset VmHWM to the current RSS (Linux ≥ 4.0); False if not allowed."
    try:
        Path('/proc/self/clear_refs').write_text('5')
        return True
    except OSError:
        return False


def malloc_trim():
    "Hand memory freed by the setup (e.g. rendering) back to the OS, so it is not counted (glibc)."
    try: ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError): pass


def measure(fn):
    "Run `fn`; return `(result, seconds, rss_before, peak_rss, peak_was_reset)` in bytes."
    gc.collect()
    malloc_trim()
    before, was_reset = _status('VmRSS'), reset_peak()
    t = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - t
    peak = _status('VmHWM') if was_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out, secs, before, peak, was_reset


def git_sha() -> str|None:
    try: return subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
                               check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError): return None


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n-images', type=int, default=50)
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--steps', type=int, default=50)
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--n-pixels', type=int, default=2048)
    p.add_argument('--ensemble', type=int, default=3)
    p.add_argument('--n-predict', type=int, default=2)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--scale', type=int, default=1, help='multiply every generator width (C × scale)')
    p.add_argument('--config', default='narrow', choices=('narrow', 'f'),
                   help="narrow: bench_config (C = 1760 × scale); f: StyleGAN2 config-f widths (C = 5376 at 256)")
    p.add_argument('--quick', action='store_true', help='8 images, 64 px, 5 steps')
    p.add_argument('--out', default=None, help='JSON path (default: results/hypercolumns[_quick].json)')
    a = p.parse_args(argv)
    if a.quick: a.n_images, a.size, a.steps = 8, 64, 5
    return a


def row(phase, naive, secs, before, peak, was_reset, imports, **extra) -> dict:
    return dict(phase=phase, naive_bytes=naive, peak_rss_bytes=peak, rss_before_bytes=before,
                peak_above_start_bytes=peak - before, peak_above_imports_bytes=peak - imports,
                seconds=secs, peak_reset=was_reset, ratio_naive_to_peak=naive / peak,
                ratio_naive_to_above_imports=naive / max(1, peak - imports),
                ratio_naive_to_above_start=naive / max(1, peak - before), **extra)


def table(rows, goal, imports) -> str:
    lines = ['| phase | naive (MiB) | peak RSS (MiB) | peak − imports (MiB) | peak − start (MiB) | '
             'naive / peak | naive / (peak − imports) | naive / (peak − start) | s |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for r in rows:
        lines.append(f"| {r['phase']} | {r['naive_bytes'] / MiB:,.0f} | "
                     f"{r['peak_rss_bytes'] / MiB:,.0f} | {r['peak_above_imports_bytes'] / MiB:,.0f} | "
                     f"{r['peak_above_start_bytes'] / MiB:,.0f} | {r['ratio_naive_to_peak']:.0f}× | "
                     f"{r['ratio_naive_to_above_imports']:.0f}× | "
                     f"{r['ratio_naive_to_above_start']:.0f}× | {r['seconds']:.1f} |")
    return '\n'.join(lines + ['', f'imports: RSS after importing torch and handsoff_nb, '
                              f'{imports / MiB:,.0f} MiB; start: RSS just before the phase (G, '
                              f'latents and labels in memory). Goal (P1): ≥ {goal}× for training.'])


def main(argv=None):
    a = parse_args(argv)
    imports = _status('VmRSS')  # interpreter + torch + handsoff_nb, nothing built yet
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = config_f(a.size) if a.config == 'f' else bench_config(a.size, a.scale)
    G = make_generator(cfg).eval()
    z = torch.randn(a.n_images, cfg.style_dim, generator=torch.Generator().manual_seed(a.seed))
    with torch.no_grad(): ws = G.mapping(z)[:, None].expand(-1, G.n_latent, -1).contiguous()
    lab = render_toyfaces(SPLITS['labeled'][:a.n_images], size=a.size)
    labels = {k: lab[k] for k in ('mask', 'kps', 'depth')}
    del lab
    lcfg = LGConfig.for_generator(G, labels, ensemble_size=a.ensemble, hidden=(128, 32))
    C = sum(feature_channels(G))
    train = lambda: train_label_generator(G, ws, labels, lcfg, steps=a.steps, batch_size=a.batch,
                                          n_pixels=a.n_pixels, seed=a.seed)
    lg, *m_train = measure(train)
    pred, *m_pred = measure(lambda: predict_labels(G, lg, ws[:a.n_predict], batch_size=1))
    rows = [row('train', hypercolumn_bytes(G, a.size, a.n_images), *m_train, imports,
                images=a.n_images, steps=a.steps, batch=a.batch, n_pixels=a.n_pixels,
                final_losses=lg.history[-1]),
            row('predict (batch 1)', hypercolumn_bytes(G, a.size, 1), *m_pred, imports,
                images=a.n_predict)]
    goal = 50
    meta = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'), git_sha=git_sha(),
                generator=dict(config=dict(size=cfg.size, style_dim=cfg.style_dim, n_mlp=cfg.n_mlp,
                                           channels={str(k): v for k, v in cfg.channels.items()}),
                               weights='random', hypercolumn_channels=C,
                               feature_channels=list(feature_channels(G))),
                label_generator=dict(ensemble_size=lcfg.ensemble_size, hidden=list(lcfg.hidden),
                                     n_out=lcfg.n_out, size=lcfg.size),
                labels=f"render_toyfaces(SPLITS['labeled'][:{a.n_images}], size={a.size})",
                rss_source='/proc/self/status VmHWM after clear_refs=5', rss_after_imports_bytes=imports,
                threads=torch.get_num_threads(),
                torch=torch.__version__, cpu=platform.processor() or platform.machine(),
                loadavg_1min=os.getloadavg()[0], quick=a.quick, scale=a.scale, config=a.config,
                argv=sys.argv[1:] if argv is None else argv)
    t = rows[0]
    result = dict(meta=meta, rows=rows, goal_ratio=goal, goal_met={
        'whole_process_peak': t['ratio_naive_to_peak'] >= goal,
        'peak_above_imports': t['ratio_naive_to_above_imports'] >= goal,
        'peak_above_start': t['ratio_naive_to_above_start'] >= goal})
    name = 'hypercolumns' + ('_quick' if a.quick else '') + (f'_x{a.scale}' if a.scale != 1 else '') + \
           ('_f' if a.config == 'f' else '')
    out = Path(a.out) if a.out else Path(__file__).parent / 'results' / f'{name}.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + '\n')
    print(f"G: {a.size} px, random weights, C = {C} hypercolumn channels; {a.n_images} labeled images; "
          f"{torch.get_num_threads()} threads")
    print(table(rows, goal, imports))
    print(f"goal met: {result['goal_met']}; wrote {out}")
    return result


if __name__ == '__main__':
    main()
