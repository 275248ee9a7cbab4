"Dense tests of `handsoff_nb.evaluate`: metrics on hand-made inputs, flip/shift augmentation, seeded training."
import json, math
import pytest, torch
import torch.nn.functional as F
from handsoff_nb.core import CLASSES, KEYPOINTS
from handsoff_nb.data import render_toyfaces, save_labeled_folder
from handsoff_nb.quality import confusion
from handsoff_nb.label_generator import keypoint_heatmaps
from handsoff_nb.evaluate import (seg_metrics, pck, depth_metrics, flip_permutation, hflip, random_shift,
                                  color_jitter, augment_batch, downstream_loss, train_downstream, evaluate_model,
                                  load_backbone, load_generated, summarize, check_targets, results_table,
                                  ORACLE_SEEDS, class_weights, IGNORE, show_predictions, BenchConfig, _budget_tag)
from handsoff_nb.quality import UNet


@pytest.fixture(autouse=True)
def one_thread():  # tiny convolutions: one thread is far faster on a shared CPU
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# --- segmentation ----------------------------------------------------------------------------------

def test_seg_metrics_hand_computed():
    # truth:  0 0 1 2     pred: 0 1 1 1
    m = torch.tensor([[[0, 0, 1, 2]]]); p = torch.tensor([[[0, 1, 1, 1]]])
    r = seg_metrics(confusion(p, m, 3), classes=('a', 'b', 'c'))
    # class a: tp 1, union 2 → .5 ; b: tp 1, union 3 → 1/3 ; c: tp 0, union 1 → 0
    assert r['iou'] == pytest.approx({'a': .5, 'b': 1 / 3, 'c': 0.})
    assert r['miou'] == pytest.approx((.5 + 1 / 3) / 3)

def test_seg_metrics_is_dataset_level_not_image_mean():
    # image 1: a big class-1 region, all right; image 2: one class-1 pixel, wrong
    m = torch.zeros(2, 4, 4, dtype=torch.long); m[0, :2] = 1; m[1, 0, 0] = 1
    p = m.clone(); p[1, 0, 0] = 0
    r = seg_metrics(confusion(p, m, 2), classes=('bg', 'fg'))
    assert r['iou']['fg'] == pytest.approx(8 / 9)  # pooled: 8 tp over a union of 9 (per-image mean would be .5)

def test_seg_metrics_absent_class_is_none_and_skipped():
    m = torch.zeros(1, 2, 2, dtype=torch.long); p = m.clone()
    r = seg_metrics(confusion(p, m, 3), classes=('a', 'b', 'c'))
    assert r['iou']['b'] is None and r['miou'] == 1.0
    json.dumps(r)  # JSON-able (no NaN)

def test_seg_metrics_eight_classes_background_included():
    m = torch.arange(8).view(1, 2, 4); p = m.clone(); p[0, 0, 0] = 1  # background pixel predicted as skin
    r = seg_metrics(confusion(p, m))
    assert list(r['iou']) == list(CLASSES)
    assert r['iou']['background'] == 0. and r['iou']['skin'] == pytest.approx(.5)
    assert r['miou'] == pytest.approx((0 + .5 + 6) / 8)


# --- keypoints and depth ---------------------------------------------------------------------------

def test_pck_threshold_and_visibility():
    true = torch.tensor([[[10., 10, 1], [20, 20, 1], [30, 30, 1], [40, 40, 0]]])
    pred = true.clone()
    pred[0, 0, 0] += 3.19   # inside 0.05·64 = 3.2
    pred[0, 1, :2] += 3.    # distance 4.24: outside
    pred[0, 3, 0] += 100.   # hidden: ignored
    assert pck(pred, true, 64) == pytest.approx(2 / 3)
    assert pck(pred, true, 128) == pytest.approx(1.)  # radius 6.4
    assert pck(pred, true, 64, alpha=0.01) == pytest.approx(1 / 3)

def test_pck_nothing_visible_is_nan():
    true = torch.zeros(1, 2, 3)
    assert math.isnan(pck(true, true, 64))

def test_depth_metrics_hand_computed():
    true = torch.tensor([1., 2., 4., 0.]).view(1, 1, 2, 2)
    pred = torch.tensor([1.5, 2., 3., 9.]).view(1, 1, 2, 2)  # the last pixel has no depth: ignored
    r = depth_metrics(pred, true)
    assert r['absrel'] == pytest.approx((.5 + 0 + .25) / 3)
    assert r['rmse'] == pytest.approx(math.sqrt((.25 + 0 + 1) / 3))


# --- augmentation ----------------------------------------------------------------------------------

def test_flip_permutation_swaps_left_right():
    perm = flip_permutation()
    for i, j in enumerate(perm):
        a, b = KEYPOINTS[i], KEYPOINTS[j]
        assert a.replace('left', 'X').replace('right', 'X') == b.replace('left', 'X').replace('right', 'X')
        assert ('left' in a) == ('right' in b) or a == b
    assert perm[KEYPOINTS.index('left_eye')] == KEYPOINTS.index('right_eye')
    assert perm[KEYPOINTS.index('nose_tip')] == KEYPOINTS.index('nose_tip')

def test_hflip_keypoints_follow_the_pixels():
    b = render_toyfaces(range(1_000_000, 1_000_006), 32)
    f = hflip(b)
    li, ri = KEYPOINTS.index('left_eye'), KEYPOINTS.index('right_eye')
    assert (b['kps'][:, li, 0] < b['kps'][:, ri, 0]).all()  # convention: left_eye has the smaller x
    assert (f['kps'][:, li, 0] < f['kps'][:, ri, 0]).all()  # still true after mirroring (swap done)
    # the mirrored image's heatmaps are the mirrored, channel-permuted heatmaps of the original
    h, hf = keypoint_heatmaps(b['kps'], 32, 1.5), keypoint_heatmaps(f['kps'], 32, 1.5)
    assert torch.allclose(hf, h[:, list(flip_permutation())].flip(-1), atol=1e-5)
    assert torch.equal(f['mask'], b['mask'].flip(-1)) and torch.equal(f['depth'], b['depth'].flip(-1))
    twice = hflip(f)
    assert torch.allclose(twice['kps'], b['kps']) and torch.equal(twice['img'], b['img'])

def test_hflip_mirrors_a_pixel_centre():
    img = torch.zeros(1, 3, 8, 8); mask = torch.zeros(1, 8, 8, dtype=torch.long); mask[0, 3, 1] = 3
    kps = torch.tensor([[[1., 3, 1], [6., 3, 1], [4, 4, 1], [2, 6, 0], [5, 6, 1]]])
    f = hflip(dict(img=img, mask=mask, kps=kps))
    assert f['mask'][0, 3, 6] == 3  # x = 1 ↦ 8 - 1 - 1 = 6
    assert f['kps'][0].tolist() == [[1., 3, 1], [6., 3, 1], [3, 4, 1], [2, 6, 1], [5, 6, 0]]

def test_random_shift_moves_labels_with_pixels():
    b = render_toyfaces(range(1_000_000, 1_000_004), 32)
    g = torch.Generator().manual_seed(3)
    s = random_shift(b, g, max_shift=4)
    d = torch.randint(-4, 5, (4, 2), generator=torch.Generator().manual_seed(3))  # the same draws
    for i, (dx, dy) in enumerate(d.tolist()):
        assert torch.allclose(s['kps'][i, :, :2], b['kps'][i, :, :2] + torch.tensor([dx, dy]).float())
        # interior pixels moved by (dx, dy)
        assert torch.equal(s['mask'][i, 8 + dy:24 + dy, 8 + dx:24 + dx], b['mask'][i, 8:24, 8:24])

def test_color_jitter_range_and_augment_determinism():
    b = render_toyfaces(range(1_000_000, 1_000_004), 32)
    j = color_jitter(b['img'], torch.Generator().manual_seed(0))
    assert j.min() >= -1 and j.max() <= 1 and not torch.equal(j, b['img'])
    a1, a2 = (augment_batch(b, torch.Generator().manual_seed(5)) for _ in range(2))
    assert all(torch.equal(a1[k], a2[k]) for k in ('img', 'mask', 'kps', 'depth'))


# --- training --------------------------------------------------------------------------------------

def _tiny_data(n=6):
    return render_toyfaces(range(1_000_000, 1_000_000 + n), 32)

def test_training_is_seeded():
    d = _tiny_data()
    kw = dict(steps=3, batch=4, width=8, levels=2, device='cpu')
    n1, n2, n3 = train_downstream(d, seed=0, **kw), train_downstream(d, seed=0, **kw), train_downstream(d, seed=1, **kw)
    assert all(torch.equal(p, q) for p, q in zip(n1.state_dict().values(), n2.state_dict().values()))
    assert not all(torch.equal(p, q) for p, q in zip(n1.state_dict().values(), n3.state_dict().values()))

def test_loss_parts_and_generated_confidence_threshold():
    d = _tiny_data(2)
    net = UNet(n_kps=5, depth=True, width=8, levels=2)
    out = net(d['img'])
    loss, parts = downstream_loss(out, d)
    assert set(parts) == {'seg', 'kps', 'depth'} and loss.requires_grad
    lo = dict(d, kps=d['kps'].clone()); lo['kps'][..., 2] = 0.3   # low-confidence generated keypoints: no target
    hi = dict(d, kps=d['kps'].clone()); hi['kps'][..., 2] = 0.7
    _, p_lo = downstream_loss(out, lo); _, p_hi = downstream_loss(out, hi)
    _, p_none = downstream_loss(out, dict(d, kps=torch.zeros_like(d['kps'])))
    assert p_lo['kps'] == pytest.approx(p_none['kps']) and p_hi['kps'] == pytest.approx(parts['kps'])

def test_load_backbone_copies_matching_only():
    src, dst = UNet(n_classes=3, width=8, levels=2), UNet(n_kps=5, depth=True, width=8, levels=2)
    n = load_backbone(dst, src)
    assert n == len(dst.state_dict()) - 6
    assert torch.equal(dst.mid[0].weight, src.mid[0].weight) and not torch.equal(dst.seg.bias[:3], src.seg.bias)

def test_evaluate_perfect_model_scores_one():
    te = _tiny_data(3); te['glasses'] = torch.tensor([True, False, False])
    class Oracle(torch.nn.Module):  # returns the truth: every metric at its best
        def __init__(self): super().__init__(); self.p = torch.nn.Parameter(torch.zeros(1))
        def forward(self, img):
            i = [k for k in range(len(te['img'])) if torch.equal(te['img'][k], img[0])][0]
            logits = torch.nn.functional.one_hot(te['mask'][i:i + len(img)], 8).permute(0, 3, 1, 2).float() * 10
            hm = keypoint_heatmaps(te['kps'][i:i + len(img)], 32, 1.5) * 20 - 10
            return dict(logits=logits, heatmaps=hm, depth=te['depth'][i:i + len(img)])
    r = evaluate_model(Oracle(), te)
    assert r['miou'] == pytest.approx(1.) and r['pck'] == pytest.approx(1.)
    assert r['absrel'] == pytest.approx(0.) and r['rmse'] == pytest.approx(0.)
    assert r['eye_iou_glasses'] == pytest.approx(1.)


# --- data and results ------------------------------------------------------------------------------

def test_load_generated_concatenates_listed_shards(tmp_path):
    ds = tmp_path/'out'/'dataset'
    b = _tiny_data(5)
    for k, sl in enumerate((slice(0, 3), slice(3, 5))):
        names = [f'{k}_{i}' for i in range(sl.stop - sl.start)]
        save_labeled_folder({key: v[sl] for key, v in b.items()}, ds/f'shard_{k:06d}', names=names)
    save_labeled_folder({key: v[:1] for key, v in b.items()}, ds/'shard_000009')  # not listed: ignored
    (ds/'dataset.json').write_text(json.dumps(dict(shards=['shard_000000', 'shard_000001'])))
    d = load_generated(tmp_path/'out')
    assert len(d['img']) == 5 and d['names'][3] == '1_0'
    assert torch.equal(d['mask'], b['mask'])
    assert len(load_generated(ds, n=2)['img']) == 2

def test_oracle_seeds_are_disjoint_from_the_test_set():
    te = set(range(2_000_000, 2_100_000))
    assert not te & set(ORACLE_SEEDS[:1000]) and ORACLE_SEEDS.start >= 4_000_000

def test_summary_and_targets():
    mk = lambda m, n, s, v: dict(method=m, N=n, seed=s, metrics=dict(
        miou=v, pck=v, absrel=1 - v, rmse=1 - v, iou={c: v for c in CLASSES}))
    runs = [mk('oracle', 'all', 0, .8), mk('oracle', 'all', 1, .8), mk('few-shot', 16, 0, .5),
            mk('handsoff', 16, 0, .71), mk('handsoff', 16, 1, .75), mk('handsoff', 50, 0, .6)]
    s = summarize(runs)
    assert s['handsoff']['16']['miou'][0] == pytest.approx(.73)
    assert s['handsoff']['16']['miou'][1] == pytest.approx(0.028284, abs=1e-5)  # sample std
    t = {x['target']: x for x in check_targets(s)}
    assert t['mIoU ≥ few-shot + 0.05']['met'] and t['mIoU ≥ few-shot + 0.05']['margin'] == pytest.approx(.18)
    assert t['goal: mIoU ≥ 0.90 × oracle']['met'] and t['goal: mIoU ≥ 0.90 × oracle']['margin'] == pytest.approx(.01)
    assert t['PCK ≥ 0.8 × few-shot']['met']                # .73 ≥ .4
    assert t['AbsRel ≤ 1.25 × few-shot']['met']            # .27 ≤ 1.25 × .5
    assert t['eye IoU ≥ 0.5']['met'] and t['mouth IoU ≥ 0.5']['margin'] == pytest.approx(.23)
    assert not t['mIoU at N = 50 ≥ at N = 16']['met']       # .6 < .73
    assert 'mIoU at N = 50 ≥ at N = 16' not in {x['target'] for x in check_targets(s, N2=64)}  # no such runs
    md = results_table(dict(summary=s))
    assert '| handsoff | 16 | 0.730 ± 0.028 |' in md and '**no**' in md


# --- class weights (eq. 4) ---------------------------------------------------------------------------

def test_class_weights_hand_computed():
    m = torch.zeros(1, 4, 4, dtype=torch.long); m[0, 0, 0] = 1  # f = (15/16, 1/16, 0)
    w = class_weights(m, 3, power=0.5)
    a = torch.tensor([(15 / 16) ** -0.5, (1 / 16) ** -0.5])
    torch.testing.assert_close(w, torch.cat([a / a.mean(), torch.zeros(1)]))
    torch.testing.assert_close(class_weights(m, 3, power=0.), torch.tensor([1., 1., 0.]))


def test_weighted_loss_counts_rare_pixels_more():
    m = torch.zeros(1, 4, 4, dtype=torch.long); m[0, 0, 0] = 1
    logits = torch.zeros(1, 2, 4, 4); logits[:, 0] = 2.  # right on class 0, wrong on the class-1 pixel
    plain, _ = downstream_loss({'logits': logits}, {'mask': m})
    weighted, _ = downstream_loss({'logits': logits}, {'mask': m}, class_weights(m, 2))
    assert weighted > plain  # the one wrong pixel of the rare class weighs more


def test_ignored_pixels_take_no_loss_and_are_not_counted_in_the_weights():
    m = torch.zeros(1, 4, 4, dtype=torch.long); m[0, 0, 0] = 1
    logits = torch.zeros(1, 2, 4, 4); logits[:, 0] = 2.  # right on class 0, wrong on the class-1 pixel
    ign = m.clone(); ign[0, 0, 0] = IGNORE             # the wrong pixel's label is not trusted
    torch.testing.assert_close(class_weights(ign, 2), torch.tensor([1., 0.]))
    with_wrong, _ = downstream_loss({'logits': logits}, {'mask': m})
    ignored, _ = downstream_loss({'logits': logits}, {'mask': ign}, class_weights(ign, 2))
    right_only = F.cross_entropy(logits[:, :, 1:, :], m[:, 1:, :])  # the mean over 12 right pixels
    assert ignored < with_wrong
    torch.testing.assert_close(ignored, right_only)


def test_budget_tag_changes_with_the_class_weights_and_lr():
    a, b, c = BenchConfig.cpu(), BenchConfig.cpu(), BenchConfig.cpu()
    b.class_power, c.lr = 0., 2e-3
    assert len({_budget_tag(a), _budget_tag(b), _budget_tag(c)}) == 3


def test_prediction_figure_has_titles_and_a_legend():
    test = render_toyfaces(range(2), 32)
    net = UNet(len(CLASSES), len(KEYPOINTS), True, width=8, levels=2).eval()
    fig = show_predictions({'model A': net}, test, idx=(0, 1))
    assert [a.get_title() for a in fig.axes[:3]] == ['image', 'truth', 'model A']
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(CLASSES) + list(KEYPOINTS)
