"""Collect the FD-vs-images-seen curves of `train-gan` runs into one JSON and one figure.

    python benchmarks/gan_ablation.py NAME=RUN_DIR[@KIMG] [...]   → results/gan_ablation.{json,png}
    python benchmarks/gan_ablation.py --out=gan_warm_start NAME=RUN_DIR ...   → results/gan_warm_start.{json,png}

`@KIMG` keeps a forked run's points from KIMG on (its earlier points are its parent's).

Each RUN_DIR holds the `evals.json` that `train_gan` writes (judge FD of 500 samples vs 500 real test faces,
part-area distance, fraction of complete faces, at step / kimg / wall seconds). The curves of an earlier
one-hour probe (written down by hand, run before this script existed) are kept as `reported` entries.
"""
import json, sys
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).parent/'results'
REPORTED = {  # the earlier one-hour probe: 1 thread each, γ=0.05, EMA 5 kimg, lr 0.0025, mixing 0.9, noise trained
    'probe toy64 (noise on, mixing 0.9)': dict(kimg=[8, 40, 56], fd=[0.93, 0.32, 0.21], sec_per_step=1.0),
    'probe toy64s (noise on, mixing 0.9)': dict(kimg=[8, 40, 88, 104, 128], fd=[0.73, 0.39, 0.16, 0.114, 0.125],
                                               sec_per_step=0.42)}


def main(pairs):
    stem = pairs.pop(0)[len('--out='):] if pairs and pairs[0].startswith('--out=') else 'gan_ablation'
    res = dict(date=datetime.now(timezone.utc).isoformat(timespec='seconds'),
               reported=REPORTED if stem == 'gan_ablation' else {}, runs={})
    out = RESULTS/f'{stem}.json'
    for p in pairs:
        name, _, d = p.partition('=')
        d, _, start = d.partition('@')
        ev = [e for e in json.loads((Path(d)/'evals.json').read_text()) if e['kimg'] >= float(start or 0)]
        res['runs'][name] = dict(dir=d, evals=ev)
    out.write_text(json.dumps(res, indent=1))
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, 2, figsize=(8, 3))
    for name, r in res['reported'].items():
        axs[0].plot(r['kimg'], r['fd'], 'o--', label=name, alpha=0.6)
        axs[1].plot([k * 1000 / 16 * r['sec_per_step'] / 3600 for k in r['kimg']], r['fd'], 'o--', alpha=0.6)
    for name, r in res['runs'].items():
        e = r['evals']; fd = [x.get('fd', x.get('fd500')) for x in e]
        axs[0].plot([x['kimg'] for x in e], fd, '.-', label=name)
        axs[1].plot([x['wall'] / 3600 for x in e], fd, '.-')
    for ax, xl in zip(axs, ('images seen (kimg)', 'training hours (1 thread, shared CPU)')):
        ax.set_yscale('log'); ax.set_xlabel(xl); ax.set_ylabel('judge FD (500 samples)')
        ax.axhline(0.03, color='k', lw=0.8, ls=':'); ax.grid(alpha=0.3)
    axs[0].legend(fontsize=6); fig.tight_layout(); fig.savefig(RESULTS/f'{stem}.png', dpi=90)
    for name, r in res['runs'].items():
        e = r['evals'][-1]; print(f"{name}: {e['kimg']} kimg, {e['wall']} s, FD {e.get('fd', e.get('fd500'))}")


if __name__ == '__main__': main(sys.argv[1:])
