"""Package a `train-encoder` run for data_samples/: weights in float16 (half the size) + provenance.

    python tools/ship_encoder.py runs/enc64s/encoder_tuned.pt data_samples/toyfaces_e64.pt ["the train-encoder command"]
    python tools/ship_encoder.py runs/enc64s/encoder_offset.pt data_samples/toyfaces_e64_offset.pt "handsoff-nb train-encoder ... --offset-layer 2 --offset-steps N"
"""
import subprocess, sys
import torch
from handsoff_nb.inversion import load_encoder, save_encoder

TRAIN = 'handsoff-nb train-encoder data_samples/toyfaces_g64.pt --out runs/enc64s --lpips-steps 500'

def main(src, dest, train=TRAIN):
    "Write `dest`: `src`'s encoder with float16 weights (loaded back as float32) and its `extra` + git sha."
    E, ck = load_encoder(src), torch.load(src, map_location='cpu', weights_only=True)
    sha = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
    extra = {**ck.get('extra', {}), 'git': sha, 'shipped_from': str(src), 'weights': 'float16 on disk',
             'command': f'{train} (then: python tools/ship_encoder.py {src} {dest})'}
    for q in E.parameters(): q.data = q.data.half()  # weights only; w_avg, w_std stay float32
    save_encoder(E, dest, extra=extra)
    E2 = load_encoder(dest)  # check: loads into float32 and predicts like the original
    x = torch.rand(2, 3, E2.cfg.size, E2.cfg.size) * 2 - 1
    (w2, d2), (w1, d1) = E2.encode(x), load_encoder(src).encode(x)
    err = (w2 - w1).abs().max().item()
    more = '' if d1 is None else f", max |Δδ| of the offset head: {(d2 - d1).abs().max().item():.2e}"
    print(f"wrote {dest}; max |Δw| from float16 storage on random inputs: {err:.2e}{more}")

if __name__ == '__main__': main(*sys.argv[1:4])
