"""Downstream benchmark (issue 6): few-shot, transfer, HandsOff (+ ablations) and oracle, one U-Net, one budget.

Full run (GPU; ~45 trainings of 2,000 steps): first write one HandsOff dataset per N (and per ablation) with
`handsoff-nb generate`, then point the benchmark at them ('{N}' is replaced by 16 and 50):

    for N in 16 50; do handsoff-nb generate --n-labeled $N --n 2000 --out runs/handsoff_N$N; done
    python benchmarks/bench_downstream.py --handsoff 'runs/handsoff_N{N}' \\
        --dataset 'handsoff-nofilter=runs/handsoff_nofilter_N{N}' --dataset 'handsoff-ens1=runs/handsoff_ens1_N{N}'

    (ablations: --drop-frac 0 → no filtering; --ensemble 1; --refine-steps 100 → per-image refinement;
     --encoder runs/encoder/encoder.pt → the encoder before LPIPS tuning)

Writes benchmarks/results/downstream.json, .md and .png. Defaults: N ∈ {16, 50}, seeds 0, 1, 2, 2,000 steps of
batch 32, U-Net width 32 / 3 levels, 1,000 test faces of SPLITS['test'], oracle = 2,000 faces of ORACLE_SEEDS,
transfer backbone pretrained 2,000 steps without labels.

Quick mode (CPU, ~2 minutes on 2 cores; checks the pipeline, the numbers are NOT the experiment):

    python benchmarks/bench_downstream.py --quick

64 px, 40 steps of batch 8, width 8 / 2 levels, one seed, N = 16, 64 test faces, 128 oracle faces, a transfer
backbone pretrained 20 steps, and a HandsOff dataset of 32 images it generates itself (once; reused after) from
the shipped GAN with tiny settings (label generator 20 steps, ensemble 2;
the shipped encoder data_samples/toyfaces_e64.pt if present, else an UNTRAINED one) unless --handsoff is given.
Writes benchmarks/results/downstream_quick.json, .md and .png.
"""
import argparse, json, os, platform, shlex, sys, time
from datetime import datetime, timezone
from pathlib import Path
import torch
import matplotlib
matplotlib.use('Agg')
from handsoff_nb.core import default_device, data_samples_dir
from handsoff_nb.evaluate import (make_methods, run_benchmark, results_table, results_path, show_predictions,
                                  heldout_set)

FULL = dict(Ns=(16, 50), seeds=(0, 1, 2), steps=2000, batch=32, width=32, levels=3, test_n=1000, oracle_n=2000,
            pretrain_steps=2000, size=64)
QUICK = dict(Ns=(16,), seeds=(0,), steps=40, batch=8, width=8, levels=2, test_n=64, oracle_n=128,
             pretrain_steps=20, size=64)
Q_GEN = dict(n=32, lg_steps=20, ensemble_size=2, shard_size=16, drop_frac=0.125)  # the quick HandsOff dataset


def quick_handsoff(out:Path, N:int, device) -> tuple:
    "A tiny HandsOff dataset (`Q_GEN`) from the shipped GAN → (folder template, note); reused if there."
    from handsoff_nb.stylegan2 import load_generator
    from handsoff_nb.inversion import EncConfig, make_encoder, load_encoder
    from handsoff_nb.generate import handsoff_dataset
    from handsoff_nb.data import labeled_samples_path
    G, w_avg, _ = load_generator(data_samples_dir()/'toyfaces_g64.pt', device=device)
    f = data_samples_dir()/'toyfaces_e64.pt'
    E, note = (load_encoder(f, device), f'shipped encoder {f.name}') if f.exists() else \
              (make_encoder(G.eval(), EncConfig.for_generator(G)), 'UNTRAINED encoder (none shipped yet)')
    tag = '_'.join(f'{v}' for v in Q_GEN.values()) + ('_e' if f.exists() else '_u')
    path = out/f'handsoff_{tag}_N{N}'
    reused = (path/'dataset'/'dataset.json').exists()
    if not reused:
        handsoff_dataset(G.eval(), E, labeled_samples_path(), path, n_labeled=N, progress=False,
                         w_avg=None if w_avg is None else w_avg.to(device), **Q_GEN)
    return str(out/f'handsoff_{tag}_N{{N}}'), (f"{'reused' if reused else 'generated here'}: shipped GAN at 64 px, "
                                               f"{note}, {Q_GEN}")


def dataset_provenance(template:str, Ns) -> dict:
    "run.json of each generated dataset (settings it was written with)."
    out = {}
    for N in Ns:
        p = Path(template.replace('{N}', str(N)))
        p = p/'dataset' if (p/'dataset').is_dir() else p
        if (p/'run.json').exists(): out[str(N)] = json.loads((p/'run.json').read_text())
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='tiny CPU settings (pipeline check)')
    ap.add_argument('--handsoff', default=None, help="generated dataset folder, '{N}' replaced by N")
    ap.add_argument('--dataset', action='append', default=[], help="NAME=FOLDER: another generated dataset (ablation)")
    ap.add_argument('--Ns', type=int, nargs='+'); ap.add_argument('--seeds', type=int, nargs='+')
    for k in ('steps', 'batch', 'width', 'levels', 'test_n', 'oracle_n', 'pretrain_steps', 'size'):
        ap.add_argument('--' + k.replace('_', '-'), type=int)
    ap.add_argument('--device', default=None)
    ap.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: 1 with --quick)')
    ap.add_argument('--out', default=None, help='JSON path (default: benchmarks/results/downstream[_quick].json)')
    a = ap.parse_args(argv)
    if a.threads or a.quick: torch.set_num_threads(a.threads or 1)  # tiny convs: 1 thread beats 2 on a busy CPU
    cfg = dict(QUICK if a.quick else FULL)
    for k in cfg:
        if getattr(a, k, None) is not None: cfg[k] = tuple(getattr(a, k)) if k in ('Ns', 'seeds') else getattr(a, k)
    dev = torch.device(a.device) if a.device else default_device()
    t0 = time.time()
    datasets, notes = {}, {}
    if a.handsoff: datasets['handsoff'], notes['handsoff'] = a.handsoff, 'given with --handsoff'
    elif a.quick:
        tmp = Path('runs/bench_downstream_quick')
        for N in cfg['Ns']: datasets['handsoff'], notes['handsoff'] = quick_handsoff(tmp, N, dev)
    else: ap.error("the full run needs --handsoff FOLDER (see the docstring: `handsoff-nb generate` per N)")
    for d in a.dataset:
        name, _, path = d.partition('=')
        datasets[name], notes[name] = path, 'given with --dataset'
    t_gen = time.time() - t0
    methods = make_methods(datasets, oracle_n=cfg['oracle_n'], size=cfg['size'], pretrain_steps=cfg['pretrain_steps'],
                           width=cfg['width'], levels=cfg['levels'], device=dev)
    nets = {}
    keep = lambda m, N, s, net: nets.update({m: net}) if s == cfg['seeds'][0] and N in (cfg['Ns'][0], 'all') else None
    res = run_benchmark(methods, cfg['Ns'], cfg['seeds'], cfg['steps'], cfg['batch'], cfg['test_n'],
                        size=cfg['size'], width=cfg['width'], levels=cfg['levels'], device=dev, on_model=keep)
    res['meta'] = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
                       profile='quick' if a.quick else 'full',
                       command='python ' + ' '.join(shlex.quote(x) for x in [sys.argv[0], *(argv or sys.argv[1:])]),
                       wall_s=round(time.time() - t0, 1), generate_s=round(t_gen, 1), device=str(dev),
                       threads=torch.get_num_threads(), loadavg=os.getloadavg()[0], python=platform.python_version(),
                       torch=torch.__version__, oracle_n=cfg['oracle_n'], pretrain_steps=cfg['pretrain_steps'],
                       datasets={k: dict(path=v, note=notes[k], runs=dataset_provenance(v, cfg['Ns']))
                                 for k, v in datasets.items()})
    out = Path(a.out) if a.out else results_path(a.quick)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + '\n')
    m = res['meta']
    head = [f"# Downstream benchmark ({m['profile']})", '',
            f"- date: {m['date']}; command: `{m['command']}`",
            f"- wall time: {m['wall_s']} s on {m['device']} ({m['threads']} threads, load avg {m['loadavg']:.1f})"
            + (f"; includes {m['generate_s']} s generating the HandsOff dataset" if m['generate_s'] > 1 else ''),
            f"- budget: {cfg['steps']} steps × batch {cfg['batch']}, U-Net width {cfg['width']}, "
            f"{cfg['levels']} levels; seeds {list(cfg['seeds'])}; images {cfg['size']} px",
            f"- test: {cfg['test_n']} faces of SPLITS['test']; oracle: {cfg['oracle_n']} faces of ORACLE_SEEDS; "
            f"transfer backbone: {cfg['pretrain_steps']} steps of denoising pretraining",
            *[f"- {k}: `{v['path']}` ({v['note']})" for k, v in m['datasets'].items()], '']
    if a.quick: head += ['**Quick mode: a pipeline check with a tiny budget; these numbers are not the experiment.**',
                         '']
    md = '\n'.join(head) + '\n' + results_table(res, 'handsoff', cfg['Ns'][0]) + '\n'
    out.with_suffix('.md').write_text(md)
    fig = show_predictions(nets, heldout_set(3, cfg['size']), idx=(0, 1, 2))
    fig.savefig(out.with_suffix('.png'), dpi=80)
    print(md)
    return res


if __name__ == '__main__':
    main()
