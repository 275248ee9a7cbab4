"""Score encoder files on 100 held-out real ToyFaces: the judge's part IoU and PSNR of G(E(x)) (the encoder bar: 0.70).

    python benchmarks/probes/bench_encoder_files.py data_samples/toyfaces_e64.pt data_samples/toyfaces_e64_offset.pt
    python benchmarks/probes/bench_encoder_files.py runs/enc64s/offset/last.pt      # a train-encoder checkpoint too

G(E(x)) is `reconstruct(E, G, x)`: with the encoder's own feature offset (eq. 4c of 03) when it has an offset head;
for those the W+ part alone (`iou_wplus`) is reported too. The images are `SPLITS['test'][:100]`, never seen by the
GAN, the encoders or their tuning; the judge is `data_samples/judge_unet.pt` (its IoU on x itself: `judge_on_x`).
With `--refine-steps N`, each encoder's answer is also refined (W+ and the offset of block 2, pixel MSE, as
`handsoff_dataset` refines the labeled few) and scored (`iou_refined`). One thread; appends one row per file to
`benchmarks/results/encoder_files.jsonl`.
"""
import argparse, json, math, subprocess, time
from pathlib import Path
import torch
from handsoff_nb.core import data_samples_dir
from handsoff_nb.data import SPLITS, render_toyfaces
from handsoff_nb.inversion import Encoder, EncConfig, invert, load_encoder, mask_iou, reconstruct, render
from handsoff_nb.quality import judge_path, load_unet, predict_masks
from handsoff_nb.stylegan2 import load_generator

def load_any(path) -> tuple:
    "An eval-mode encoder from a `save_encoder` file or a `train-encoder` stage's `last.pt` → (E, step or None)."
    ck = torch.load(path, map_location='cpu', weights_only=True)
    if 'run' not in ck: return load_encoder(path), None
    E = Encoder(EncConfig.from_dict(ck['run']['config'])); E.load_state_dict(ck['model'])
    return E.eval(), ck['run']['step']

def main(argv=None):
    ap = argparse.ArgumentParser(); ap.add_argument('encoders', nargs='+'); ap.add_argument('--n', type=int, default=100)
    ap.add_argument('--refine-steps', type=int, default=0, help="also refine W+ and the offset of block 2 from E's answer "
                    "(invert, pixel MSE; δ starts from E's own prediction when it has a head for block 2, else 0)")
    a = ap.parse_args(argv); torch.set_num_threads(1)
    G, _, _ = load_generator(str(data_samples_dir()/'toyfaces_g64.pt')); G.eval()
    judge = load_unet(judge_path(), 'cpu').eval()
    te = render_toyfaces(SPLITS['test'][:a.n], 64)
    sha = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
    on_x = mask_iou(predict_masks(judge, te['img']), te['mask'])
    for f in a.encoders:
        E, step = load_any(f); t0 = time.perf_counter()
        rec = reconstruct(E, G, te['img']).clamp(-1, 1)
        row = dict(encoder=str(f), step=step, offset_layer=E.cfg.offset_layer, n=a.n,
                   iou=round(mask_iou(predict_masks(judge, rec), te['mask']), 4),
                   psnr=round(-10 * math.log10(((rec - te['img']) / 2).pow(2).mean().item()), 2),
                   judge_on_x=round(on_x, 4), seconds=round(time.perf_counter() - t0, 1), git=sha)
        if E.cfg.offset_layer is not None:
            with torch.no_grad(): rec0 = render(G, E(te['img'])).clamp(-1, 1)
            row['iou_wplus'] = round(mask_iou(predict_masks(judge, rec0), te['mask']), 4)
        if a.refine_steps:
            t1 = time.perf_counter()
            ws, d = invert(te['img'], E, G, refine_steps=a.refine_steps, offset_layer=2, lpips=None)
            with torch.no_grad(): rec1 = render(G, ws, offset=(2, d)).clamp(-1, 1)
            row.update(refine_steps=a.refine_steps, iou_refined=round(mask_iou(predict_masks(judge, rec1), te['mask']), 4),
                       psnr_refined=round(-10 * math.log10(((rec1 - te['img']) / 2).pow(2).mean().item()), 2),
                       refine_seconds=round(time.perf_counter() - t1, 1))
        print(json.dumps(row), flush=True)
        with open(Path(__file__).resolve().parents[1]/'results'/'encoder_files.jsonl', 'a') as fh: fh.write(json.dumps(row) + '\n')

if __name__ == '__main__': main()
