"""The figure of eq. (4) in 08a: the same fresh samples of G labeled by the label generator, by the fine-tuned
segmenter, and by the judge.

    OMP_NUM_THREADS=1 python tools/make_relabel_figure.py runs/curve_cpu --N 4 16

Needs the curve's label generators (`WORK/handsoff_N{N}/label_generator.pt`) and the segmenters saved by
`benchmarks/probes/bench_segmenter_agreement.py` (`WORK/nets/handsoff+ft_N{N}_s0.pt`)
→ benchmarks/results/segmenter_vs_lg.png.
"""
import argparse
from pathlib import Path
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
import torch
from handsoff_nb.core import shipped_path, tensor2img, colorize_mask
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.quality import load_unet, judge_path, predict_masks
from handsoff_nb.generate import latents_for, image_seed, load_label_generator, LGLabeler, SegmenterLabeler, label_legend, legend_room
from handsoff_nb.segmenter import AGREEMENT_SEED

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('work'); ap.add_argument('--N', type=int, nargs='+', default=[4, 16])
    ap.add_argument('--n', type=int, default=6); ap.add_argument('--first', type=int, default=0)
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'/'segmenter_vs_lg.png'))
    a = ap.parse_args()
    torch.set_num_threads(1)
    G, w_avg, _ = load_generator(shipped_path('generator')); G.eval()
    ws = latents_for(G, [image_seed(AGREEMENT_SEED, j) for j in range(a.first, a.first + a.n)], w_avg.reshape(1, -1), 0.7)
    judge, work = load_unet(judge_path(), 'cpu'), Path(a.work)
    rows = []
    for N in a.N:
        lg = LGLabeler(G, load_label_generator(work/f'handsoff_N{N}'/'label_generator.pt'))(ws)
        seg = SegmenterLabeler(G, load_unet(work/'nets'/f'handsoff+ft_N{N}_s0.pt', 'cpu'))(ws)
        rows += [(f'label generator\nN = {N}', lg['mask']), (f'segmenter\n(eq. 4), N = {N}', seg['mask'])]
    img = lg['img']
    rows = [('G(w)', None)] + rows + [('judge', predict_masks(judge, img))]
    fig, axs = plt.subplots(len(rows), a.n, figsize=(1.1 * a.n + 0.9, 1.1 * len(rows)))
    for r, (name, m) in enumerate(rows):
        for j in range(a.n):
            ax = axs[r, j]; ax.set_xticks([]); ax.set_yticks([])
            ax.imshow(tensor2img(img[j]) if m is None else colorize_mask(m[j]))
            if j == 0: ax.set_ylabel(name, fontsize=7)
    label_legend(fig, ncol=8, kps=()); legend_room(fig, 0.3)
    fig.savefig(a.out, dpi=90); print(f'wrote {a.out}')


if __name__ == '__main__':
    main()
