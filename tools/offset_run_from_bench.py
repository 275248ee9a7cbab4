"""Turn a `benchmarks/probes/bench_encoder_offset.py` checkpoint into the offset stage of a `train-encoder` run.

    python tools/offset_run_from_bench.py runs/encoff.pt runs/enc64s
    handsoff-nb train-encoder data_samples/toyfaces_g64.pt --out runs/enc64s --lpips-steps 500 \
        --offset-layer 2 --offset-steps 40000       # resumes from runs/enc64s/offset/last.pt

The diagnostic script and `tune_encoder_offset` minimise the same eq. (6c) on the same data stream (ToyFaces
`gan_train` via `real_batches(None, 8, 64, 0)`, G's samples via `step_generator(0, step)`, batch 8, Adam lr 3e-4,
λ = 0.1, λ_m = 10, block 2), so the run continues where the script stopped: weights, Adam state and step are
copied. The script's per-step loss log is not (the run's `log` starts at the copied step); `note` says so.
"""
import sys
from pathlib import Path
import torch
from handsoff_nb.core import data_samples_dir
from handsoff_nb.inversion import _new_run, _save_run, add_offset_head, load_encoder
from handsoff_nb.stylegan2 import load_generator

def main(src, run_dir):
    "Write `run_dir/offset/last.pt` from the script's checkpoint `src`."
    ck = torch.load(src, weights_only=True)
    G, _, _ = load_generator(str(data_samples_dir()/'toyfaces_g64.pt'))
    E = add_offset_head(load_encoder(data_samples_dir()/'toyfaces_e64.pt'), G, 2)
    E.load_state_dict({**ck['E'], **{f'offset_head.{k}': v for k, v in ck['head'].items()}})
    opt = torch.optim.Adam(E.parameters(), lr=3e-4)  # same parameter order as the script: E's, then the head's
    opt.load_state_dict(ck['opt'])
    run = _new_run('offset', E, 0, batch=8, lr=3e-4, lam=0.1, w_mse=10., psi=[0.7, 1.], mix_prob=0.9)
    run.update(step=ck['step'], note=f"steps 0-{ck['step']} by benchmarks/probes/bench_encoder_offset.py from the shipped "
               f"toyfaces_e64.pt ({src}); converted by tools/offset_run_from_bench.py")
    out = Path(run_dir)/'offset'
    _save_run(out, E, opt, run)
    print(f"wrote {out/'last.pt'} at step {ck['step']}")

if __name__ == '__main__': main(*sys.argv[1:3])
