"Dense invariants of `handsoff_nb.label_generator`: heads, targets, uncertainty, seeded training."
import math
import pytest
import torch
from handsoff_nb.stylegan2 import GenConfig, make_generator
from handsoff_nb.data import render_toyfaces, SPLITS
from handsoff_nb.hypercolumns import feature_channels, generate_features, sample_pixels, take_pixels
from handsoff_nb.label_generator import *


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='module')
def G():
    torch.manual_seed(0)
    return make_generator(GenConfig.tiny()).eval()


@pytest.fixture(scope='module')
def data(G):
    ws = G.mapping(torch.randn(4, G.style_dim, generator=torch.Generator().manual_seed(0)))
    ws = ws[:, None].expand(-1, G.n_latent, -1).detach().clone()
    lab = render_toyfaces(SPLITS['labeled'][:4], size=32)
    return ws, {k: lab[k] for k in ('mask', 'kps', 'depth')}


@pytest.fixture(scope='module')
def cfg(G, data):
    return LGConfig.for_generator(G, data[1], ensemble_size=2, hidden=(32, 16))


def _snapshot(G): return {k: v.clone() for k, v in G.state_dict().items()}


# ---------------------------------------------------------------- config and model

def test_config_from_labels(G, data):
    ws, lab = data
    c = LGConfig.for_generator(G, lab, ensemble_size=4)
    assert (c.size, c.n_classes, c.n_kps, c.depth, c.n_out) == (32, 8, 5, True, 14)
    assert c.channels == feature_channels(G)
    seg_only = LGConfig.for_generator(G, {'mask': lab['mask']})
    assert (seg_only.n_kps, seg_only.depth, seg_only.n_out) == (0, False, 8)
    with pytest.raises(ValueError): LGConfig(channels=(4,), n_classes=0, n_kps=0, depth=False)
    with pytest.raises(ValueError): LGConfig(channels=())


def test_shapes_and_dense_equals_sampled(G, data, cfg):
    ws, _ = data
    lg = make_label_generator(cfg, seed=0)
    with torch.no_grad():
        _, feats = generate_features(G, ws)
        dense = lg(feats)
        idx = sample_pixels(4, 32, 200, generator=torch.Generator().manual_seed(3))
        at = lg.forward_at(feats, idx)
    assert dense.shape == (2, 4, 14, 32, 32) and at.shape == (2, 4, 200, 14)
    for m in range(2):
        torch.testing.assert_close(at[m], take_pixels(dense[m], idx), atol=1e-5, rtol=0)


def test_members_are_independent(G, data, cfg):
    "Member m's output depends only on its own slice of the first layer and its own MLP."
    ws, _ = data
    lg = make_label_generator(cfg, seed=0)
    with torch.no_grad():
        _, feats = generate_features(G, ws)
        before = lg(feats)
        h1 = cfg.hidden[0]
        for w in lg.proj.weights: w[h1:] += 1.  # change member 1's first layer only
        after = lg(feats)
    assert torch.equal(before[0], after[0]) and not torch.allclose(before[1], after[1])


def test_init_is_seeded_and_isolated(cfg):
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a, b, c = make_label_generator(cfg, 0), make_label_generator(cfg, 0), make_label_generator(cfg, 1)
    assert torch.equal(torch.random.get_rng_state(), state)  # global RNG untouched
    pa, pb, pc = (torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


# ---------------------------------------------------------------- heads and targets

def test_split_heads_only_present():
    c = LGConfig(channels=(4,), n_classes=3, n_kps=0, depth=True)
    h = split_heads(torch.zeros(2, 7, 4), c)
    assert list(h) == ['seg', 'depth'] and h['seg'].shape == (2, 7, 3) and h['depth'].shape == (2, 7, 1)
    h = split_heads(torch.zeros(2, 4, 5, 5), c, dim=1)
    assert h['seg'].shape == (2, 3, 5, 5)


def test_keypoint_targets_and_heatmaps():
    kps = torch.tensor([[[3., 5., 1.], [10., 2., 0.]]])  # one visible, one hidden
    heat = keypoint_heatmaps(kps, 16, 1.5)
    assert heat.shape == (1, 2, 16, 16)
    assert heat[0, 0, 5, 3] == 1. and heat[0, 0].argmax() == 5 * 16 + 3
    assert heat[0, 1].abs().max() == 0  # hidden keypoint: no target
    torch.testing.assert_close(heat[0, 0, 5, 4], torch.tensor(math.exp(-1 / (2 * 1.5 ** 2))))
    idx = torch.tensor([[5 * 16 + 3, 0]])
    torch.testing.assert_close(keypoint_targets(kps, idx, 16, 1.5), take_pixels(heat, idx))


def test_decode_keypoints_recovers_subpixel_positions():
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(3, 4, 2, generator=g) * 20 + 6  # away from the border
    kps = torch.cat([xy, torch.ones(3, 4, 1)], -1)
    dec = decode_keypoints(keypoint_heatmaps(kps, 32, 1.5), radius=3)
    assert dec.shape == (3, 4, 3)
    assert (dec[..., :2] - xy).abs().max() < 0.1
    assert (dec[..., 2] > 0.75).all() and (dec[..., 2] <= 1).all()


def _eyes_and_mouth():
    return torch.tensor([[[20., 30., 1.], [40., 30., 1.], [30., 40., 1.], [24., 50., 1.], [36., 50., 1.]]])


def test_decode_keypoints_bimodal_channels_give_one_mode_each():
    "Both eye channels light up at both eyes (as a per-pixel MLP's do): independent argmax collapses them."
    kps = _eyes_and_mouth()
    t = keypoint_heatmaps(kps, 64, 1.5)
    h = t.clone()
    h[:, 0] = h[:, 1] = torch.maximum(t[:, 0], t[:, 1])          # equal modes: the tie goes to the first
    h[:, 3] = torch.maximum(t[:, 3], 0.9 * t[:, 4])               # the left channel prefers the left corner
    h[:, 4] = torch.maximum(t[:, 3], 0.8 * t[:, 4])               # the right channel prefers the LEFT corner
    old = decode_keypoints(h, pairs=())                           # the decoder before mirror pairs (eq. 7)
    assert (old[0, 0, :2] - old[0, 1, :2]).norm() < 1e-3          # left and right eye on one point
    assert (old[0, 3, :2] - old[0, 4, :2]).norm() < 1e-3          # and both mouth corners
    new = decode_keypoints(h)
    torch.testing.assert_close(new[..., :2], kps[..., :2], atol=1e-3, rtol=0)
    assert (new[0, [0, 1, 3, 4], 2] >= 0.8 - 1e-6).all()          # confidence: the heat at the chosen mode


def test_decode_keypoints_never_returns_the_midpoint_of_two_modes():
    "Two well separated modes in ONE channel: the answer is one of them, never the point between."
    kps = torch.tensor([[[20., 30., 1.], [40., 30., 1.]]])
    t = keypoint_heatmaps(kps, 64, 1.5)
    h = torch.maximum(t[:, :1], t[:, 1:])  # (1,1,64,64) bimodal
    xy = decode_keypoints(h)[0, 0, :2]
    assert min((xy - kps[0, 0, :2]).norm(), (xy - kps[0, 1, :2]).norm()) < 1e-3
    assert (xy - torch.tensor([30., 30.])).norm() > 9


def test_decode_keypoints_single_mode_pair_keeps_the_channel_peaks():
    "A pair whose channels share ONE mode (no second mode ≥ min_rel): no flank or zero pixel is invented."
    t = keypoint_heatmaps(torch.tensor([[[30., 30., 1.], [30., 30., 1.], [30., 40., 1.], [24., 50., 1.],
                                         [36., 50., 1.]]]), 64, 1.5)
    out = decode_keypoints(t)
    torch.testing.assert_close(out[0, 0, :2], torch.tensor([30., 30.]), atol=1e-3, rtol=0)
    torch.testing.assert_close(out[0, 1, :2], torch.tensor([30., 30.]), atol=1e-3, rtol=0)


def test_left_right_pairs_and_peaks():
    assert left_right_pairs() == KP_PAIRS == ((0, 1), (3, 4))
    assert left_right_pairs(('nose', 'left_ear', 'right_ear')) == ((1, 2),)
    h = torch.zeros(1, 1, 9, 9); h[0, 0, 2, 2] = 1.; h[0, 0, 2, 3] = .9; h[0, 0, 7, 7] = .5
    vals, idx = heat_peaks(h, k=2, radius=1)
    assert vals.tolist() == [[[1., .5]]] and idx.tolist() == [[[2 * 9 + 2, 7 * 9 + 7]]]  # (2,3) suppressed


def test_prior_shift_is_log_true_over_sampled_frequency():
    m = torch.zeros(2, 4, 4, dtype=torch.long); m[0, 0, :2] = 1; m[1, 0, 0] = 2
    p = torch.tensor([29., 2., 1.]) / 32
    q = torch.tensor([(1 / 2 + 1 / 2) / 2, 1 / 4, 1 / 4])
    torch.testing.assert_close(prior_shift(m, 4), torch.cat([(p / q).log(), torch.zeros(1)]))


def test_balanced_training_stores_the_prior_shift_and_prediction_uses_it(G, data, cfg):
    ws, labels = data
    lg = train_label_generator(G, ws, labels, cfg, steps=2, n_pixels=64, seed=0)
    full = prior_shift(labels['mask'], cfg.n_classes)
    torch.testing.assert_close(torch.tensor(lg.cfg.prior_shift), 0.5 * full)  # β = 0.5 by default
    lg1 = train_label_generator(G, ws, labels, cfg, steps=1, n_pixels=64, prior_strength=1.)
    torch.testing.assert_close(torch.tensor(lg1.cfg.prior_shift), full)
    assert train_label_generator(G, ws, labels, cfg, steps=1, n_pixels=64, prior_strength=0.).cfg.prior_shift == ()
    assert cfg.prior_shift == ()  # the caller's config is not changed
    assert train_label_generator(G, ws, labels, cfg, steps=1, n_pixels=64, balanced=False).cfg.prior_shift == ()
    a = predict_labels(G, lg, ws)
    from dataclasses import replace
    lg.cfg = replace(lg.cfg, prior_shift=tuple(100. if c == 1 else 0. for c in range(cfg.n_classes)))
    assert (predict_labels(G, lg, ws)['mask'] == 1).all()  # a huge shift towards class 1 wins everywhere
    assert not (a['mask'] == 1).all()


def test_loss_parts_and_member_sum(cfg):
    out = torch.zeros(2, 3, 10, cfg.n_out)
    tgt = {'mask': torch.zeros(3, 10, dtype=torch.long), 'kps': torch.zeros(3, 10, 5),
           'depth': torch.full((3, 10), 0.5)}
    loss, parts = lg_loss(out, tgt, cfg)
    assert parts['seg'] == pytest.approx(math.log(8), abs=1e-5)
    assert parts['kps'] == pytest.approx(math.log(2), abs=1e-5)
    assert parts['depth'] == pytest.approx(0.25, abs=1e-6)
    assert loss.item() == pytest.approx(2 * (math.log(8) + math.log(2) + 0.25), abs=1e-4)


def test_check_labels_rejects_bad_input(G, data, cfg):
    ws, lab = data
    with pytest.raises(ValueError): train_label_generator(G, ws[:3], lab, cfg, steps=1)
    bad = {**lab, 'mask': lab['mask'].clone()}
    bad['mask'][0, 0, 0] = 9
    with pytest.raises(ValueError, match='n_classes'): train_label_generator(G, ws, bad, cfg, steps=1)
    with pytest.raises(ValueError): train_label_generator(G, ws, {**lab, 'kps': lab['kps'][:, :3]},
                                                          cfg, steps=1)


# ---------------------------------------------------------------- uncertainty

def test_mi_zero_when_members_agree():
    p = torch.rand(1, 3, 8, 5, 5).softmax(2).expand(4, -1, -1, -1, -1)
    assert ensemble_mi(p).abs().max() < 1e-6


def test_mi_positive_when_members_disagree():
    g = torch.Generator().manual_seed(0)
    p = torch.rand(4, 3, 8, 5, 5, generator=g).mul(5).softmax(2)
    u = ensemble_mi(p)
    assert u.shape == (3, 5, 5) and (u > 0).all() and (u <= math.log(4) + 1e-6).all()
    onehot = torch.eye(4)[:, None, :, None, None]  # four sure members, all different
    torch.testing.assert_close(ensemble_mi(onehot), torch.full((1, 1, 1), math.log(4)))


def test_mi_equals_js_divergence_for_two_members():
    g = torch.Generator().manual_seed(1)
    p = torch.rand(2, 1, 6, 1, 1, generator=g).softmax(2)
    m = p.mean(0)
    kl = lambda a, b: (a * (a / b).log()).sum()
    js = 0.5 * kl(p[0], m) + 0.5 * kl(p[1], m)
    torch.testing.assert_close(ensemble_mi(p)[0, 0, 0], js)


def test_uncertainty_score_top_fraction():
    unc = torch.zeros(2, 10, 10)
    unc[0].view(-1)[:10] = torch.arange(10.)  # the top 10 % of image 0: 0..9
    unc[1] += 0.3
    torch.testing.assert_close(uncertainty_score(unc), torch.tensor([4.5, 0.3]))
    torch.testing.assert_close(uncertainty_score(unc, top=0.05), torch.tensor([7., 0.3]))
    torch.testing.assert_close(uncertainty_score(unc, top=1.), unc.flatten(1).mean(1))


# ---------------------------------------------------------------- training and prediction

def test_training_is_seeded_and_leaves_G_untouched(G, data, cfg):
    ws, lab = data
    before = _snapshot(G)
    kw = dict(steps=4, n_pixels=64, lr=1e-2)
    a = train_label_generator(G, ws, lab, cfg, seed=0, **kw)
    b = train_label_generator(G, ws, lab, cfg, seed=0, **kw)
    c = train_label_generator(G, ws, lab, cfg, seed=1, **kw)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert a.history == b.history and len(a.history) == 4
    assert not all(torch.equal(x, y) for x, y in zip(a.parameters(), c.parameters()))
    assert all(torch.equal(v, G.state_dict()[k]) for k, v in before.items())
    assert all(p.requires_grad for p in G.parameters()) and all(p.grad is None for p in G.parameters())
    assert not a.training


def test_training_fits_all_heads(G, data, cfg):
    ws, lab = data
    lg = train_label_generator(G, ws, lab, cfg, steps=100, n_pixels=256, lr=1e-2, seed=0)
    first, last = lg.history[0], lg.history[-1]
    assert all(last[k] < 0.7 * first[k] for k in ('seg', 'kps', 'depth')), (first, last)
    pred = predict_labels(G, lg, ws)
    assert (pred['mask'] == lab['mask']).float().mean() > (lab['mask'] == 0).float().mean()
    vis = lab['kps'][..., 2] > 0
    assert (pred['kps'] - lab['kps'])[..., :2].norm(dim=-1)[vis].mean() < 3


def test_predict_shapes_and_batch_invariance(G, data, cfg):
    ws, lab = data
    lg = make_label_generator(cfg, seed=0).eval()
    a = predict_labels(G, lg, ws, batch_size=4)
    b = predict_labels(G, lg, ws, batch_size=1)
    shapes = {'img': (4, 3, 32, 32), 'mask': (4, 32, 32), 'unc': (4, 32, 32), 'score': (4,),
              'kps': (4, 5, 3), 'depth': (4, 1, 32, 32)}
    assert {k: tuple(v.shape) for k, v in a.items()} == shapes
    for k in shapes: torch.testing.assert_close(a[k].float(), b[k].float(), atol=1e-5, rtol=0)
    assert (a['unc'] >= 0).all() and (a['unc'] <= math.log(2) + 1e-6).all()
    torch.testing.assert_close(a['score'], uncertainty_score(a['unc']))


def test_seg_only_model(G, data):
    ws, lab = data
    c = LGConfig.for_generator(G, {'mask': lab['mask']}, ensemble_size=3, hidden=(16,))
    lg = train_label_generator(G, ws, {'mask': lab['mask']}, c, steps=2, n_pixels=32)
    pred = predict_labels(G, lg, ws)
    assert set(pred) == {'img', 'mask', 'unc', 'score'}
    assert set(lg.history[0]) == {'seg'}


# ---------------------------------------------------------------- trusted pixels (eq. 3c)

def test_reconstruction_trust_drops_the_worst_pixels_per_image():
    rec, x = torch.zeros(3, 3, 16, 16), torch.zeros(3, 3, 16, 16)
    x[0, :, :4, :4] = 1.   # image 0: a 4×4 block badly reconstructed (16 of 256 pixels)
    x[1, :, 10, 10] = 0.5  # image 1: one pixel
    t = reconstruction_trust(rec, x, drop=0.25, k=1)
    assert t.shape == (3, 16, 16) and set(t.unique().tolist()) <= {0., 1.}
    assert t[0, :4, :4].sum() == 0 and t[1, 10, 10] == 0
    assert t[2].min() == 1  # a perfect reconstruction: every pixel ties at 0 error and is kept
    assert torch.equal(reconstruction_trust(rec, x, drop=0.), torch.ones(3, 16, 16))

def test_trust_zero_pixels_are_never_sampled_and_change_training(G, data, cfg):
    ws, lab = data
    trust = torch.ones(4, 32, 32); trust[:, :, :16] = 0  # the left half of every labeled image left out
    for balanced in (False, True):
        idx = sample_pixels(4, 32, 400, lab['mask'], balanced, torch.Generator().manual_seed(0), weight=trust)
        assert (idx % 32 >= 16).all(), balanced
    kw = dict(steps=3, n_pixels=64, lr=1e-2, seed=0)
    a = train_label_generator(G, ws, lab, cfg, **kw)
    b = train_label_generator(G, ws, lab, cfg, trust=trust, **kw)
    c = train_label_generator(G, ws, lab, cfg, trust=torch.ones(4, 32, 32), **kw)
    assert not all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert a.history != b.history and len(c.history) == 3
    with pytest.raises(ValueError):
        train_label_generator(G, ws, lab, cfg, trust=torch.ones(3, 32, 32), **kw)  # one map per labeled image


def test_offsets_reach_the_features_of_their_own_images(G, data, cfg, monkeypatch):
    "`offset=(k, δ)`: each step's features of labeled image i get δ_i at block k; δ = 0 trains exactly as no offset."
    import handsoff_nb.label_generator as lgm
    ws, lab = data
    k = 2; c, r = G.feature_shapes()[k]
    deltas = torch.arange(4.)[:, None, None, None].expand(4, c, r, r).clone()  # image i: δ = i everywhere
    seen, real = [], lgm.generate_features
    def spy(G_, w, offset=None):
        seen.append((w, offset)); return real(G_, w, offset)
    monkeypatch.setattr(lgm, 'generate_features', spy)
    kw = dict(steps=3, n_pixels=64, lr=1e-2, seed=0)
    a = train_label_generator(G, ws, lab, cfg, offset=(k, deltas), **kw)
    for w, (kk, d) in seen:
        rows = [int((ws == wi).flatten(1).all(1).nonzero()[0]) for wi in w]  # which labeled image each row is
        assert kk == k and torch.equal(d[:, 0, 0, 0], torch.tensor(rows, dtype=d.dtype))
    b = train_label_generator(G, ws, lab, cfg, offset=(k, torch.zeros_like(deltas)), **kw)
    n = train_label_generator(G, ws, lab, cfg, **kw)
    assert all(torch.equal(x, y) for x, y in zip(b.parameters(), n.parameters()))
    assert not all(torch.equal(x, y) for x, y in zip(a.parameters(), n.parameters()))
    with pytest.raises(ValueError): train_label_generator(G, ws, lab, cfg, offset=(k, deltas[:3]), **kw)


def test_keypoint_visibility_is_calibrated_on_the_labeled_inversions(G, data, cfg, tmp_path):
    ws, labels = data
    lg = train_label_generator(G, ws, labels, cfg, steps=20, n_pixels=64, seed=0)
    raw = predict_labels(G, lg, ws)['kps']
    assert lg.cfg.kp_peak == ()                                  # training alone: raw peaks, as before
    hidden = labels['kps'].clone(); hidden[0, 2, 2] = 0.         # a hidden keypoint is left out of the median
    peak = keypoint_peaks(G, lg, ws, hidden)
    vis = hidden[..., 2] > 0.5
    want = torch.stack([raw[..., 2][vis[:, k], k].median() for k in range(5)])
    torch.testing.assert_close(peak, want)
    assert calibrate_keypoints(G, lg, ws, hidden) is lg and lg.cfg.kp_peak == tuple(peak.tolist())
    cal = predict_labels(G, lg, ws)['kps']
    torch.testing.assert_close(cal[..., :2], raw[..., :2])     # positions unchanged
    torch.testing.assert_close(cal[..., 2], (raw[..., 2] / peak).clamp(max=1))
    assert predict_labels(G, replace_cfg(lg, kp_peak=()), ws)['kps'][..., 2].equal(raw[..., 2])
    from handsoff_nb.generate import save_label_generator, load_label_generator
    back = load_label_generator(save_label_generator(lg, tmp_path/'lg.pt'))
    assert back.cfg.kp_peak == lg.cfg.kp_peak                    # the calibration travels with the file
    none = torch.zeros_like(hidden)                              # no visible instance: peak 1, raw values
    assert keypoint_peaks(G, lg, ws, none).tolist() == [1.] * 5
    assert LGConfig(channels=(4,), kp_peak=[0.5]).kp_peak == (0.5,)  # plain lists (json) become tuples
