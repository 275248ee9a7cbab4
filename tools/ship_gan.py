"""Package a `train-gan` run for data_samples/: g_ema + config + provenance, its loss log and quality curve.

    python tools/ship_gan.py runs/gan64s data_samples/toyfaces_g64.pt ["a note on this run"] [--zero-noise]
        [--config=toy64s]

Writes `dest` (our generator format), `dest` with suffix `_log.json` (every 10th step of the loss log, and the
run's `evals`: judge FD / part-area distance / completeness at images seen and wall time), and, when the run
folder has sample grids, `nbs/images/gan_progress.png`: the first 8 fixed-latent samples at up to 6 points of
the run, for 02a.

--zero-noise sets every noise-injection strength (`*.noise.weight`) of g_ema to 0 before saving (runs with
trained noise only; `auto_config` runs keep them at 0 throughout). The choice is in the file's `extra['noise']`.
"""
import json, re, subprocess, sys
from pathlib import Path
import torch
from handsoff_nb.stylegan2 import save_generator
from handsoff_nb.train_gan import load_state

ROOT = Path(__file__).resolve().parent.parent


def train_command(run_dir, s, config) -> str:
    "The `handsoff-nb train-gan` command line that (re)makes and resumes this run."
    tc = s.tc
    cmd = (f"handsoff-nb train-gan --out {run_dir} --config {config} --steps {tc.steps} --batch {tc.batch} "
           f"--seed {tc.seed} --lr {tc.lr} --r1-gamma {tc.r1_gamma:g} --mixing {tc.mixing} --ema-kimg {tc.ema_kimg:g} "
           f"--sample-every {tc.sample_every} --ckpt-every {tc.ckpt_every} --eval-every {tc.eval_every}")
    return cmd + (' --noise' if tc.noise else '')


def progress_strip(run_dir, dest, n_points=6, n_faces=8):
    "Rows of the run's sample grids (first `n_faces` faces) at up to `n_points` steps → one PNG."
    from PIL import Image, ImageDraw
    grids = sorted(Path(run_dir).glob('samples_*.png'))
    if not grids: return None
    idx = sorted({round(i * (len(grids) - 1) / max(n_points - 1, 1)) for i in range(n_points)})
    rows = []
    for g in (grids[i] for i in idx):
        im = Image.open(g).convert('RGB'); r = im.width // 4  # 4×4 grid of r×r faces
        row = Image.new('RGB', (n_faces * r + 70, r), 'white')
        for j in range(n_faces): row.paste(im.crop(((j % 4) * r, (j // 4) * r, (j % 4 + 1) * r, (j // 4 + 1) * r)), (70 + j * r, 0))
        step = int(re.findall(r'\d+', g.stem)[0])
        ImageDraw.Draw(row).text((4, r // 2 - 6), f"step {step}", fill='black')
        rows.append(row)
    out = Image.new('RGB', (rows[0].width, sum(r.height for r in rows)), 'white')
    for i, r in enumerate(rows): out.paste(r, (0, i * r.height))
    out.save(dest); return dest


def main(run_dir, dest, note=None, zero_noise=False, config='toy64s', every=10):
    "Write `dest`, its `_log.json` and the progress strip."
    s = load_state(Path(run_dir)/'last.pt', 'cpu')
    sha = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
    extra = dict(steps=s.step, batch=s.tc.batch, seed=s.tc.seed, kimg=round(s.step * s.tc.batch / 1000, 1),
                 train_seconds=round(sum(o['sec'] for o in s.log)), train_config=json.dumps(vars(s.tc)), git=sha,
                 data="ToyFaces gan_train split, images only",
                 command=f"{train_command(run_dir, s, config)}  (then: python tools/ship_gan.py {run_dir} {dest})")
    if s.evals: extra['last_eval'] = json.dumps(s.evals[-1])
    if note: extra['note'] = note
    G = s.g_ema.eval()
    if zero_noise:
        extra['command'] = extra['command'][:-1] + ' --zero-noise)'
        noise = {n: p for n, p in G.named_parameters() if n.endswith('noise.weight')}
        strengths = {n: round(p.item(), 4) for n, p in noise.items()}
        with torch.no_grad():
            for p in noise.values(): p.zero_()
        extra['noise'] = f"noise strengths set to 0 at ship time (trained values: {json.dumps(strengths)})"
    elif not s.tc.noise: extra['noise'] = "noise strengths frozen at 0 during training (TrainConfig.noise=False)"
    save_generator(G, dest, s.gcfg, extra=extra)
    log = [o for o in s.log if o['step'] % every == 0 or o['step'] == s.step]
    Path(dest).with_name(Path(dest).stem + '_log.json').write_text(json.dumps(dict(extra=extra, log=log,
                                                                                 evals=s.evals)))
    strip = progress_strip(run_dir, ROOT/'nbs'/'images'/'gan_progress.png')
    print(json.dumps(extra, indent=1)); print('progress strip:', strip)


if __name__ == '__main__':
    flags = {'--zero-noise'}
    args = [a for a in sys.argv[1:] if a not in flags and not a.startswith('--config')]
    cfg = next((a.split('=', 1)[1] for a in sys.argv[1:] if a.startswith('--config=')), 'toy64s')
    main(*args[:3], zero_noise='--zero-noise' in sys.argv, config=cfg)
