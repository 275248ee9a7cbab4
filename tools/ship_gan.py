"""Package a `train-gan` run for data_samples/: g_ema + config + provenance, and its loss log.

    python tools/ship_gan.py runs/gan64 data_samples/toyfaces_g64.pt ["a note on this run"] [--zero-noise]

--zero-noise sets every noise-injection strength (`*.noise.weight`) of g_ema to 0 before saving: the
generator then draws the same images whatever noise it is given. ToyFaces has no stochastic texture, and a
short CPU run leaves these strengths large enough to sprinkle white speckles over the faces; the choice is
recorded in the file's `extra['noise']`.
"""
import json, subprocess, sys
from pathlib import Path
import torch
from handsoff_nb.stylegan2 import save_generator
from handsoff_nb.train_gan import load_state

def main(run_dir, dest, note=None, zero_noise=False, every=10):
    "Write `dest` (our generator format) and `dest` with suffix `_log.json` (every `every`-th step)."
    s = load_state(Path(run_dir)/'last.pt', 'cpu')
    sha = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
    secs = sum(o['sec'] for o in s.log)
    extra = dict(steps=s.step, batch=s.tc.batch, seed=s.tc.seed, train_seconds=round(secs),
                 train_config=json.dumps(vars(s.tc)), git=sha, data="ToyFaces gan_train split, images only",
                 command=f"handsoff-nb train-gan --out {run_dir} --steps {s.tc.steps} --batch {s.tc.batch} "
                         f"--seed {s.tc.seed} --sample-every {s.tc.sample_every} --ckpt-every {s.tc.ckpt_every}  (then: python tools/ship_gan.py {run_dir} {dest})")
    if note: extra['note'] = note
    G = s.g_ema.eval()
    if zero_noise:
        extra['command'] = extra['command'][:-1] + ' --zero-noise)'
        noise = {n: p for n, p in G.named_parameters() if n.endswith('noise.weight')}
        strengths = {n: round(p.item(), 4) for n, p in noise.items()}
        with torch.no_grad():
            for p in noise.values(): p.zero_()
        extra['noise'] = f"noise strengths set to 0 at ship time (trained values: {json.dumps(strengths)})"
    save_generator(G, dest, s.gcfg, extra=extra)
    log = [o for o in s.log if o['step'] % every == 0 or o['step'] == s.step]
    Path(dest).with_name(Path(dest).stem + '_log.json').write_text(json.dumps(dict(extra=extra, log=log)))
    print(json.dumps(extra, indent=1))

if __name__ == '__main__':
    args = [a for a in sys.argv[1:] if a != '--zero-noise']
    main(*args[:3], zero_noise='--zero-noise' in sys.argv)
