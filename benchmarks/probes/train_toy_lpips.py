"""Train the ToyFaces LPIPS trunk (`ToyFeatureNet`, segmentation pretext) used by `bench_inversion.py --lpips-backbone toyfaces`.

    python benchmarks/probes/train_toy_lpips.py runs/toy_lpips/toy_trunk.pth   # ~2 min on 1 CPU thread

Data: 2,000 ToyFaces rendered from seeds 6,000,000 … 6,001,999, a range no other part of the project uses (the
labeled few, the test split, the judge and the oracle all lie elsewhere). Like ImageNet for AlexNet, these labels
train the *metric*, never the label generator; `inversion.md` says which trunk every LPIPS number used.
"""
import json, sys, time
from pathlib import Path
import torch
from handsoff_nb.data import render_toyfaces
from handsoff_nb.perceptual import train_toy_backbone

SEEDS = range(6_000_000, 6_002_000)

def main(dest='runs/toy_lpips/toy_trunk.pth', steps=500):
    torch.set_num_threads(1)
    t0 = time.time()
    b = render_toyfaces(SEEDS, 64)
    net, losses = train_toy_backbone(b['img'], b['mask'], steps=int(steps), seed=0)
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), dest)
    info = dict(seeds=[SEEDS.start, SEEDS.stop], steps=int(steps), final_loss=losses[-1], seconds=round(time.time() - t0, 1))
    Path(dest).with_suffix('.json').write_text(json.dumps(info, indent=1) + '\n')
    print(json.dumps(info))

if __name__ == '__main__': main(*sys.argv[1:])
