"""Package a `train-gan` run for data_samples/: g_ema + config + provenance, and its loss log.

    python tools/ship_gan.py runs/gan64 data_samples/toyfaces_g64.pt ["a note on this run"]
"""
import json, subprocess, sys
from pathlib import Path
import torch
from handsoff_nb.stylegan2 import save_generator
from handsoff_nb.train_gan import load_state

def main(run_dir, dest, note=None, every=10):
    "Write `dest` (our generator format) and `dest` with suffix `_log.json` (every `every`-th step)."
    s = load_state(Path(run_dir)/'last.pt', 'cpu')
    sha = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
    secs = sum(o['sec'] for o in s.log)
    extra = dict(steps=s.step, batch=s.tc.batch, seed=s.tc.seed, train_seconds=round(secs),
                 train_config=json.dumps(vars(s.tc)), git=sha, data="ToyFaces gan_train split, images only",
                 command=f"handsoff-nb train-gan --out {run_dir} --steps {s.tc.steps} --batch {s.tc.batch} "
                         f"--seed {s.tc.seed} --sample-every {s.tc.sample_every} --ckpt-every {s.tc.ckpt_every}  (then: python tools/ship_gan.py {run_dir} {dest})")
    if note: extra['note'] = note
    save_generator(s.g_ema.eval(), dest, s.gcfg, extra=extra)
    log = [o for o in s.log if o['step'] % every == 0 or o['step'] == s.step]
    Path(dest).with_name(Path(dest).stem + '_log.json').write_text(json.dumps(dict(extra=extra, log=log)))
    print(json.dumps(extra, indent=1))

if __name__ == '__main__': main(*sys.argv[1:4])
