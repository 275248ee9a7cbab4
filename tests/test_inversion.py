"Dense invariants of `handsoff_nb.inversion`: encoder, training, resume, refinement, `invert`."
import copy, warnings
import pytest
import torch
import torch.nn.functional as F
from handsoff_nb.core import set_seed
from handsoff_nb.stylegan2 import GenConfig, make_generator, CheckpointError
from handsoff_nb.inversion import *

# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope='module')
def G():
    set_seed(0)
    return make_generator(GenConfig.tiny()).eval()

@pytest.fixture(scope='module')
def lp():
    from handsoff_nb.perceptual import make_lpips
    return make_lpips(backbone='random')[0]

@pytest.fixture(scope='module')
def real32():
    "Four held-out ToyFaces at the tiny generator's resolution, in [-1,1]."
    from handsoff_nb.data import render_toyfaces, SPLITS
    return render_toyfaces(SPLITS['test'][:4], size=32)

def _snapshot(G): return {k: v.clone() for k, v in G.state_dict().items()}

def assert_untouched(G, before):
    "G's weights and buffers are bit-identical, no gradients were stored, all flags restored."
    for k, v in G.state_dict().items(): assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in G.parameters())
    assert all(p.requires_grad for p in G.parameters())

def _sd_equal(a, b): return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

# ---------------------------------------------------------------- the encoder

def test_encoder_shapes_and_offset_semantics(G):
    E = make_encoder(G, EncConfig.tiny())
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        ws = E(x)
        assert ws.shape == (3, G.n_latent, G.style_dim)
        # zero last layer (the initialisation) → every image maps to w_avg, on every layer
        assert torch.equal(ws, E.w_avg[:, None].expand_as(ws))
        assert torch.equal(E.delta(x), torch.zeros_like(ws))
        # ws = w_avg + w_std * delta, eq. (1)
        torch.nn.init.normal_(E.head[-1].weight, std=0.01)
        torch.testing.assert_close(E(x), E.w_avg[:, None] + E.w_std[:, None] * E.delta(x))
        assert not torch.equal(E(x), E.w_avg[:, None].expand_as(ws))
    avg, std = latent_stats(G)
    torch.testing.assert_close(E.w_avg, avg)
    torch.testing.assert_close(E.w_std, std)
    assert {'w_avg', 'w_std'} <= set(E.state_dict())  # saved with the weights

def test_encoder_is_per_image(G):
    "GroupNorm, no BatchNorm: an image's latent does not depend on its batch-mates."
    E = make_encoder(G, EncConfig.tiny())
    torch.nn.init.normal_(E.head[-1].weight, std=0.01)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(E(x)[:1], E(x[:1]), atol=1e-6, rtol=1e-5)

def test_configs():
    for cfg, size in ((EncConfig.tiny(), 32), (EncConfig.toy64(), 64)):
        assert cfg.size == size
        assert EncConfig.from_dict(__import__('dataclasses').asdict(cfg)) == cfg
    n = sum(p.numel() for p in Encoder(EncConfig.toy64()).parameters())
    assert 0.5e6 < n < 2e6  # a few MB of float32
    g64 = make_generator(GenConfig.toy64())
    assert EncConfig.for_generator(g64) == EncConfig.toy64()
    with pytest.raises(ValueError, match='channels'): EncConfig(64, 10, 128, channels=(8, 8))
    with pytest.raises(ValueError, match='does not fit'): make_encoder(g64, EncConfig.tiny())

def test_for_generator_generic_sizes():
    G128 = make_generator(GenConfig(128, 32, 2, channels={r: 16 for r in (4, 8, 16, 32, 64, 128)}))
    cfg = EncConfig.for_generator(G128)
    assert (cfg.size, cfg.n_latent, cfg.style_dim, len(cfg.channels)) == (128, 12, 32, 5)
    with torch.no_grad(): ws = make_encoder(G128, cfg)(torch.zeros(1, 3, 128, 128))
    assert ws.shape == (1, 12, 32)

# ---------------------------------------------------------------- latents

def test_sample_ws_truncation_and_mixing(G):
    w_avg = latent_stats(G)[0]
    g = lambda: torch.Generator().manual_seed(5)
    plain = sample_ws(G, 8, w_avg, psi=(1., 1.), mix_prob=0., generator=g())
    assert (plain == plain[:, :1]).all()  # no mixing: one w on every layer
    half = sample_ws(G, 8, w_avg, psi=(0.5, 0.5), mix_prob=0., generator=g())
    torch.testing.assert_close(half - w_avg, 0.5 * (plain - w_avg))  # eq. (2)
    mixed = sample_ws(G, 64, w_avg, mix_prob=1., generator=g())
    changes = (mixed[:, 1:] != mixed[:, :-1]).any(-1).sum(1)
    assert (changes == 1).all()  # exactly one crossover per sample
    assert torch.equal(sample_ws(G, 4, w_avg, generator=g()), sample_ws(G, 4, w_avg, generator=g()))

def test_render_noise_modes(G):
    G = copy.deepcopy(G)
    with torch.no_grad():  # a fresh generator's noise strengths are 0; make the noise visible
        for n, p in G.named_parameters():
            if n.endswith('noise.weight'): p.fill_(0.5)
    ws = sample_ws(G, 2, latent_stats(G)[0], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(render(G, ws), render(G, ws))
        a = render(G, ws, 'random', torch.Generator().manual_seed(1))
        b = render(G, ws, 'random', torch.Generator().manual_seed(1))
        c = render(G, ws, 'random', torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ValueError, match='noise'): render(G, ws, 'fixed')

def test_regression_loss_hand_case():
    ws = torch.zeros(1, 2, 2)
    ws_hat = torch.tensor([[[1., 2.], [3., 4.]]])
    assert regression_loss(ws_hat, ws).item() == pytest.approx((1 + 4 + 9 + 16) / 4)
    std = torch.tensor([[1., 2.]])
    assert regression_loss(ws_hat, ws, std).item() == pytest.approx((1 + 1 + 9 + 4) / 4)

# ---------------------------------------------------------------- training

def test_regression_loss_decreases(G):
    before = _snapshot(G)
    E = make_encoder(G, EncConfig.tiny())
    hx, hw = regression_batch(G, 64, E.w_avg, torch.Generator().manual_seed(123))
    held = lambda E: dict(h=regression_loss(E(hx), hw, E.w_std))
    E, run = train_encoder(G, EncConfig.tiny(), steps=30, batch=16, progress=False,
                           eval_fn=held, eval_steps=[0, 30])
    h0, h30 = (e['h'] for e in run['evals'])
    assert h30 < h0
    assert run['step'] == 30 and len(run['log']['loss']) == 30
    assert_untouched(G, before)

def test_encoder_can_fit_a_fixed_batch(G):
    "Capacity and gradients: 30 Adam steps on one batch cut eq. (3) by more than half."
    E = make_encoder(G, EncConfig.tiny())
    x, ws = regression_batch(G, 8, E.w_avg, torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(E.parameters(), lr=1e-3)
    losses = []
    for _ in range(30):
        loss = regression_loss(E(x), ws, E.w_std)
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]

def test_training_is_deterministic(G):
    runs = [train_encoder(G, EncConfig.tiny(), steps=4, batch=4, seed=3, progress=False)
            for _ in range(2)]
    assert _sd_equal(runs[0][0].state_dict(), runs[1][0].state_dict())
    assert runs[0][1]['log'] == runs[1][1]['log']
    other = train_encoder(G, EncConfig.tiny(), steps=4, batch=4, seed=4, progress=False)[0]
    assert not _sd_equal(runs[0][0].state_dict(), other.state_dict())

def test_resume_equals_uninterrupted(G, tmp_path):
    before = _snapshot(G)
    kw = dict(cfg=EncConfig.tiny(), batch=4, seed=1, progress=False, checkpoint_every=3)
    E_full, run_full = train_encoder(G, steps=6, **kw)
    # "killed" after step 3: the first call stops there, its last.pt holds step 3
    E_a, run_a = train_encoder(G, steps=3, out_dir=tmp_path, **kw)
    assert run_a['step'] == 3 and (tmp_path/'last.pt').exists()
    assert not (tmp_path/'last.pt.tmp').exists()
    E_b, run_b = train_encoder(G, steps=6, out_dir=tmp_path, **kw)
    assert run_b['step'] == 6 and len(run_b['log']['loss']) == 6
    assert run_b['log'] == run_full['log']
    assert _sd_equal(E_b.state_dict(), E_full.state_dict())
    assert _sd_equal(load_encoder(tmp_path/'encoder.pt').state_dict(), E_full.state_dict())
    # a finished run resumes to a no-op
    E_c, run_c = train_encoder(G, steps=6, out_dir=tmp_path, **kw)
    assert run_c['step'] == 6 and _sd_equal(E_c.state_dict(), E_full.state_dict())
    assert_untouched(G, before)

def test_resume_refuses_another_run(G, tmp_path):
    train_encoder(G, EncConfig.tiny(), steps=2, batch=4, out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match='another run'):
        train_encoder(G, EncConfig.tiny(), steps=4, batch=8, out_dir=tmp_path, progress=False)

def test_save_load_encoder(G, tmp_path):
    E = make_encoder(G, EncConfig.tiny(), seed=2)
    torch.nn.init.normal_(E.head[-1].weight, std=0.01)
    f = save_encoder(E, tmp_path/'e.pt', extra=dict(note='x'))
    E2 = load_encoder(f)
    assert _sd_equal(E.state_dict(), E2.state_dict()) and E2.cfg == E.cfg and not E2.training
    assert torch.load(f, weights_only=True)['extra'] == dict(note='x')
    torch.save({'a': torch.ones(1)}, tmp_path/'other.pt')
    with pytest.raises(CheckpointError, match='not an encoder'): load_encoder(tmp_path/'other.pt')

def test_frozen_restores_flags(G):
    p0 = next(G.parameters())
    p0.requires_grad_(False)  # a mixed state must come back exactly
    try:
        with frozen(G):
            assert not any(p.requires_grad for p in G.parameters())
        flags = [p.requires_grad for p in G.parameters()]
        assert flags[0] is False and all(flags[1:])
    finally: p0.requires_grad_(True)

# ---------------------------------------------------------------- LPIPS tuning

def test_tune_objective_hand_computed(G, lp):
    "Eq. (6) equals LPIPS of the reconstruction plus λ times eq. (3), computed by hand."
    E = make_encoder(G, EncConfig.tiny())
    torch.nn.init.normal_(E.head[-1].weight, std=0.01)
    x, ws = regression_batch(G, 2, E.w_avg, torch.Generator().manual_seed(0))
    from handsoff_nb.perceptual import lpips_distance
    with torch.no_grad():
        terms = tune_objective(E, G, as_lpips_fn(lp), x, ws, lam=0.5)
        ws_hat = E(x)
        d = lpips_distance(lp, render(G, ws_hat), x, range_tol=float('inf')).mean()
        reg = ((ws_hat - ws) / E.w_std[:, None]).pow(2).mean()
    torch.testing.assert_close(terms['loss'], d + 0.5 * reg)
    torch.testing.assert_close(terms['lpips'], d)

def test_tune_resume_equals_uninterrupted(G, lp, tmp_path):
    before = _snapshot(G)
    E0 = make_encoder(G, EncConfig.tiny())
    torch.nn.init.normal_(E0.head[-1].weight, std=0.01)
    kw = dict(batch=2, seed=0, progress=False, checkpoint_every=2, lam=0.)
    E_full, run_full = tune_encoder_lpips(copy.deepcopy(E0), G, lp, steps=4, **kw)
    tune_encoder_lpips(copy.deepcopy(E0), G, lp, steps=2, out_dir=tmp_path, **kw)
    E_b, run_b = tune_encoder_lpips(copy.deepcopy(E0), G, lp, steps=4, out_dir=tmp_path, **kw)
    assert run_b['step'] == 4 and run_b['log'] == run_full['log']
    assert _sd_equal(E_b.state_dict(), E_full.state_dict())
    assert not _sd_equal(E_full.state_dict(), E0.state_dict())  # it did train E
    assert_untouched(G, before)

def test_probe_and_metrics(G, lp):
    E = make_encoder(G, EncConfig.tiny())
    ws = sample_ws(G, 3, E.w_avg, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(feature_error(G, ws, ws), torch.zeros(3))
    m = torch.randint(0, 8, (2, 8, 8))
    assert mask_iou(m, m) == 1.
    a, b = torch.zeros(1, 2, 2, dtype=torch.long), torch.tensor([[[0, 1], [1, 1]]])
    assert mask_iou(a, b) == pytest.approx((1 / 4 + 0) / 2)
    judge = lambda img: (img[:, 0] > 0).long()  # a toy "segmenter"
    res = make_probe(G, lpips=lp, judge=judge, n=4)(E)
    assert set(res) == {'mse', 'latent_err', 'feature_err', 'lpips', 'mask_iou'}
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    res = make_probe(G, judge=judge, images=real, masks=judge(real))(E)
    assert set(res) == {'mse', 'mask_iou'} and 0 <= res['mask_iou'] <= 1

# ---------------------------------------------------------------- refinement

def test_lr_schedule():
    assert lr_schedule(0.) == 0. and lr_schedule(1.) == 0.
    assert lr_schedule(0.5, lr=0.3) == pytest.approx(0.3)
    assert lr_schedule(0.025) == pytest.approx(0.05)  # halfway through the warm-up
    assert lr_schedule(0.875) == pytest.approx(0.05)  # halfway down the cosine

@pytest.mark.parametrize('lr', [0.05, 5.])  # 5: steps overshoot, the best one must still be kept
def test_refinement_never_worse_than_start(G, lp, real32, lr):
    before = _snapshot(G)
    E = make_encoder(G, EncConfig.tiny())
    x = real32['img']
    ws, info = refine_latents(x, E, G, lp, steps=6, lr=lr)
    assert ws.shape == (4, G.n_latent, G.style_dim) and not ws.requires_grad
    assert (info['loss_best'] <= info['loss_start']).all()
    assert ((0 <= info['best_step']) & (info['best_step'] <= 6)).all()
    assert len(info['history']) == 7
    # the returned latents really have the reported loss
    with torch.no_grad():
        ws0 = E(x)
        loss = refine_objective(render(G, ws), x, ws, ws0, as_lpips_fn(lp))
    torch.testing.assert_close(loss, info['loss_best'], atol=1e-5, rtol=1e-4)
    assert_untouched(G, before)

def test_refinement_is_independent_per_image(G, lp, real32):
    "Batched refinement = one refinement per image (the loss is a sum of per-image terms)."
    E = make_encoder(G, EncConfig.tiny())
    x = real32['img'][:2]
    ws_batch, _ = refine_latents(x, E, G, lp, steps=3)
    ws_one = torch.cat([refine_latents(x[i:i + 1], E, G, lp, steps=3)[0] for i in range(2)])
    torch.testing.assert_close(ws_batch, ws_one, atol=1e-4, rtol=1e-4)

# ---------------------------------------------------------------- invert

@pytest.mark.parametrize('make_x, match', [
    (lambda x: x * 127.5 + 127.5, '0-255'),
    (lambda x: ((x + 1) * 127.5).to(torch.uint8), 'uint8'),
    (lambda x: x * 3, r'\[-1,1\]'),
    (lambda x: x[:, :1], 'grayscale'),
    (lambda x: torch.cat([x, x[:, :1]], 1), 'RGBA'),
    (lambda x: x.permute(0, 2, 3, 1), 'permute'),
    (lambda x: x[0], r'x\[None\]'),
    (lambda x: x[None], '4-d'),
    (lambda x: F.interpolate(x, size=(48, 48)), 'Images must be 32x32.*got 48x48'),
    (lambda x: x.clone().index_fill_(3, torch.tensor([0]), float('nan')), 'NaN'),
    (lambda x: x.tolist(), 'tensor'),
])
def test_invert_bad_inputs(G, real32, make_x, match):
    E = make_encoder(G, EncConfig.tiny())
    with pytest.raises(ValueError, match=match): invert(make_x(real32['img']), E, G)

def test_invert_warns_on_unit_range(G, real32):
    E = make_encoder(G, EncConfig.tiny())
    with pytest.warns(UserWarning, match=r'\[0,1\]'):
        invert((real32['img'] + 1) / 2, E, G)

def test_invert_tensor_dict_and_folder(G, lp, real32, tmp_path):
    from handsoff_nb.data import make_labeled_samples, load_labeled_folder
    before = _snapshot(G)
    E = make_encoder(G, EncConfig.tiny())
    torch.nn.init.normal_(E.head[-1].weight, std=0.01)
    x = real32['img']
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # valid [-1,1] input: no range warning
        ws = invert(x, E, G, batch_size=3)
    with torch.no_grad(): torch.testing.assert_close(ws, E(x))
    torch.testing.assert_close(invert(dict(img=x), E, G), ws)
    folder = make_labeled_samples(tmp_path/'lab', size=32)
    ws_f = invert(folder, E, G)
    assert ws_f.shape == (len(load_labeled_folder(folder)['img']), G.n_latent, G.style_dim)
    ws_r = invert(x, E, G, refine_steps=2, lpips=lp)
    assert ws_r.shape == ws.shape
    assert_untouched(G, before)

# ---------------------------------------------------------------- tuning on real images, refinement weights

def test_tune_objective_on_real_images_hand_computed(G, lp, real32):
    "Eq. (6b): LPIPS + w_mse·MSE of the real images' reconstruction, plus λ times eq. (3) on G's samples."
    E = make_encoder(G, EncConfig.tiny())
    torch.nn.init.normal_(E.head[-1].weight, std=0.01)
    x, ws = regression_batch(G, 2, E.w_avg, torch.Generator().manual_seed(0))
    r = real32['img'][:3]
    from handsoff_nb.perceptual import lpips_distance
    with torch.no_grad():
        terms = tune_objective(E, G, as_lpips_fn(lp), x, ws, lam=0.5, x_real=r, w_mse=10.)
        rec = render(G, E(r))
        d = lpips_distance(lp, rec, r, range_tol=float('inf')).mean()
        mse = ((rec - r) / 2).pow(2).mean()
        reg = ((E(x) - ws) / E.w_std[:, None]).pow(2).mean()
    torch.testing.assert_close(terms['loss'], d + 10. * mse + 0.5 * reg)
    torch.testing.assert_close(terms['mse'], mse)

def test_real_batches_are_seeded_unlabeled_images():
    toy = real_batches(batch=3, size=32, seed=1)
    a = toy(5)
    assert a.shape == (3, 3, 32, 32) and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, toy(5)) and not torch.equal(a, toy(6))
    assert not torch.equal(a, real_batches(batch=3, size=32, seed=2)(5))
    imgs = torch.randint(0, 256, (7, 3, 8, 8), dtype=torch.uint8)
    b = real_batches(imgs, batch=4, size=8)(0)
    assert b.shape == (4, 3, 8, 8)
    assert all(any(torch.equal(bi, im.float() / 127.5 - 1) for im in imgs) for bi in b)  # drawn from the folder

def test_tune_on_real_resumes_and_lowers_the_real_error(G, lp, real32, tmp_path):
    E0 = make_encoder(G, EncConfig.tiny())
    real = real_batches(batch=2, size=G.size, seed=0)
    kw = dict(batch=2, seed=0, progress=False, checkpoint_every=2, real=real, w_mse=10., lr=1e-3)
    E_full, run_full = tune_encoder_lpips(copy.deepcopy(E0), G, lp, steps=4, **kw)
    tune_encoder_lpips(copy.deepcopy(E0), G, lp, steps=2, out_dir=tmp_path, **kw)
    E_b, run_b = tune_encoder_lpips(copy.deepcopy(E0), G, lp, steps=4, out_dir=tmp_path, **kw)
    assert run_b['log'] == run_full['log'] and _sd_equal(E_b.state_dict(), E_full.state_dict())
    with pytest.raises(ValueError, match='another run'):  # a G-samples run must not resume a real-images one
        tune_encoder_lpips(copy.deepcopy(E0), G, lp, steps=6, out_dir=tmp_path, batch=2, seed=0, progress=False)
    x = real32['img']
    err = lambda E: (render(G, E(x)) - x).pow(2).mean().item()
    with torch.no_grad(): before = err(E0)
    E_long, _ = tune_encoder_lpips(copy.deepcopy(E0), G, lp, steps=30, **{**kw, 'lr': 3e-3})
    with torch.no_grad(): assert err(E_long) < before  # held-out real faces reconstruct better

def test_refine_weights_follow_the_trunk(lp):
    assert refine_weights(lp) == REFINE_WEIGHTS['random_trunk']  # the offline trunk
    assert refine_weights(object()) == REFINE_WEIGHTS['reference']
    assert REFINE_WEIGHTS['reference'] == dict(w_lpips=10., w_mse=1., w_reg=1.)  # the official code's values

def test_invert_uses_refine_weights_unless_given(G, lp, real32, monkeypatch):
    import handsoff_nb.inversion as inv
    seen = []
    def spy(x, E, G, lpips, steps, **kw): seen.append(kw); return kw['ws_init'], {'offset': None}
    monkeypatch.setattr(inv, 'refine_latents', spy)
    E = make_encoder(G, EncConfig.tiny())
    invert(real32['img'][:2], E, G, refine_steps=1, lpips=lp)
    invert(real32['img'][:2], E, G, refine_steps=1, lpips=lp, w_mse=3.)
    assert {k: seen[0][k] for k in ('w_lpips', 'w_mse', 'w_reg')} == REFINE_WEIGHTS['random_trunk']
    assert seen[0]['w_lpips'] == 0.  # the offline trunk: pixels alone
    assert seen[1]['w_mse'] == 3. and seen[1]['w_reg'] == REFINE_WEIGHTS['random_trunk']['w_reg']

# ---------------------------------------------------------------- feature offset (eq. 4c)

def test_feature_offset_adds_to_one_block_only(G):
    "`offset=(k, δ)` adds δ to feats[k]; earlier blocks are unchanged, later ones and the image change; δ = 0 changes nothing."
    ws = torch.randn(2, G.n_latent, G.style_dim)
    with torch.no_grad():
        img, f = G.synthesis(ws, randomize_noise=False, return_features=True)
        k = 2; c, r = G.feature_shapes()[k]
        d = torch.randn(2, c, r, r)
        img2, f2 = G.synthesis(ws, randomize_noise=False, return_features=True, offset=(k, d))
        img0 = G.synthesis(ws, randomize_noise=False, offset=(k, torch.zeros_like(d)))
    torch.testing.assert_close(img0, img)
    for j in range(k): torch.testing.assert_close(f2[j], f[j])
    torch.testing.assert_close(f2[k], f[k] + d)
    assert not torch.allclose(f2[k + 1], f[k + 1]) and not torch.allclose(img2, img)

def test_refine_with_offset_fits_better_and_reports_it(G, lp, real32):
    "Eq. (4c): W+ and a block offset together reconstruct better than W+ alone; the returned pair has the best loss."
    E = make_encoder(G, EncConfig.tiny())
    x = real32['img']
    w_only, a = refine_latents(x, E, G, lp, steps=30, w_lpips=0., w_mse=1., w_reg=0.)
    ws, b = refine_latents(x, E, G, lp, steps=30, w_lpips=0., w_mse=1., w_reg=0., offset_layer=2)
    c, r = G.feature_shapes()[2]
    assert a['offset'] is None and b['offset'].shape == (4, c, r, r) and not b['offset'].requires_grad
    assert b['loss_best'].mean() < a['loss_best'].mean()
    with torch.no_grad(): mse = ((render(G, ws, offset=(2, b['offset'])) - x) / 2).pow(2).mean((1, 2, 3))
    torch.testing.assert_close(mse, b['loss_best'], atol=1e-5, rtol=1e-4)

def test_invert_with_offset_returns_pairs_and_checks_the_layer(G, lp, real32):
    E = make_encoder(G, EncConfig.tiny())
    x = real32['img'][:3]
    ws, offs = invert(x, E, G, refine_steps=2, lpips=lp, offset_layer=1, batch_size=2)  # two batches, joined
    c, r = G.feature_shapes()[1]
    assert ws.shape == (3, G.n_latent, G.style_dim) and offs.shape == (3, c, r, r)
    with pytest.raises(ValueError, match='refine_steps'): invert(x, E, G, offset_layer=1)
    with pytest.raises(ValueError, match='offset_layer'): invert(x, E, G, refine_steps=1, lpips=lp, offset_layer=G.num_layers)

def test_refinement_needs_no_lpips_package(G, lp, real32, monkeypatch):
    "Without the `lpips` package, `invert` refines by pixel MSE alone and never builds an LPIPS model; same result as the offline trunk."
    import handsoff_nb.inversion as inv
    find = inv.importlib.util.find_spec
    monkeypatch.setattr(inv.importlib.util, 'find_spec', lambda name, *a: None if name == 'lpips' else find(name, *a))
    class Never(inv.PerceptualLoss):
        def __init__(self, *a, **k): raise AssertionError('PerceptualLoss built without lpips')
    monkeypatch.setattr(inv, 'PerceptualLoss', Never)
    assert refine_lpips() is None and refine_weights(None) == REFINE_WEIGHTS['random_trunk']
    E = make_encoder(G, EncConfig.tiny())
    x = real32['img'][:2]
    ws, off = invert(x, E, G, refine_steps=3, offset_layer=2)
    ws_lp, off_lp = invert(x, E, G, refine_steps=3, offset_layer=2, lpips=lp)  # the random trunk: also pixels alone
    torch.testing.assert_close(ws, ws_lp); torch.testing.assert_close(off, off_lp)
    with pytest.raises(ValueError, match='LPIPS'): refine_latents(x, E, G, None, steps=1, w_lpips=1.)

# ---------------------------------------------------------------- an encoder that predicts the feature offset (eq. 6c)

def _with_head(G, k=2, seed=0):
    "A tiny encoder with an offset head for block `k`, its head randomised so that δ ≠ 0."
    E = add_offset_head(make_encoder(G, EncConfig.tiny(), seed=seed), G, k)
    torch.manual_seed(seed); torch.nn.init.normal_(E.offset_head.weight, std=0.05)
    return E.eval()

def test_add_offset_head_keeps_the_answers_and_starts_at_zero(G, real32):
    E = make_encoder(G, EncConfig.tiny(), seed=1)
    torch.nn.init.normal_(E.head[-1].weight, std=0.01)
    E2 = add_offset_head(E, G, 2)
    x = real32['img']
    with torch.no_grad(): ws, d = E2.encode(x)
    c, r = G.feature_shapes()[2]
    assert E2.cfg.offset_layer == 2 and E2.cfg.offset_shape == (c, r) and d.shape == (4, c, r, r)
    assert torch.equal(d, torch.zeros_like(d)) and torch.allclose(ws, E(x)) and torch.allclose(E2(x), E(x))
    assert E.encode(x)[1] is None and E.cfg.offset_layer is None  # the original is unchanged
    with pytest.raises(ValueError, match='k must be'): add_offset_head(E, G, G.num_layers)
    with pytest.raises(ValueError, match='offset_shape'): EncConfig(**{**EncConfig.tiny().__dict__, 'offset_layer': 2,
                                                                      'offset_shape': (8, 5)})

def test_offset_encoder_saves_loads_and_old_files_still_load(G, tmp_path):
    E = _with_head(G)
    E2 = load_encoder(save_encoder(E, tmp_path/'e.pt'))
    assert E2.cfg == E.cfg and _sd_equal(E2.state_dict(), E.state_dict())
    ck = torch.load(save_encoder(make_encoder(G, EncConfig.tiny()), tmp_path/'old.pt'), weights_only=True)
    for k in ('offset_layer', 'offset_shape'): ck['config'].pop(k)  # a file written before offset heads existed
    torch.save(ck, tmp_path/'old.pt')
    assert load_encoder(tmp_path/'old.pt').offset_head is None

def test_invert_starts_from_the_encoders_offset(G, lp, real32):
    "With `offset_layer` = the encoder's own block, `invert` returns E's δ (no refinement) or refines from it."
    E, x = _with_head(G), real32['img'][:3]
    with torch.no_grad(): ws_e, d_e = E.encode(x)
    ws, d = invert(x, E, G, offset_layer=2, batch_size=2)  # no refinement: the encoder's answer
    assert torch.allclose(ws, ws_e, atol=1e-5) and torch.allclose(d, d_e, atol=1e-5) and d.abs().max() > 0
    assert torch.allclose(invert(x, E, G), ws_e, atol=1e-5)  # without offset_layer: W+ alone, as before
    _, info = refine_latents(x, E, G, lp, steps=0, ws_init=ws_e, offset_layer=2, offset_init=d_e, w_lpips=0.)
    assert torch.equal(info['offset'], d_e)  # zero steps: the start itself
    _, d_r = invert(x, E, G, refine_steps=5, lpips=lp, offset_layer=2)
    _, d_0 = invert(x, make_encoder(G, EncConfig.tiny()), G, refine_steps=5, lpips=lp, offset_layer=2)
    assert (d_r - d_e).abs().max() < (d_r - d_0).abs().max()  # refined near E's δ, not near 0
    with pytest.raises(ValueError, match='offset head'): invert(x, E, G, offset_layer=1)  # E predicts block 2 only
    with torch.no_grad():
        torch.testing.assert_close(reconstruct(E, G, x), render(G, ws_e, offset=(2, d_e)))

def test_offset_head_must_fit_the_generator(G, real32):
    E = _with_head(G)
    cfg = GenConfig.tiny()
    other = make_generator(GenConfig(**{**cfg.__dict__, 'channels': {**(cfg.channels or {}), 8: E.cfg.offset_shape[0] + 8}}))
    assert tuple(other.feature_shapes()[2]) != E.cfg.offset_shape
    with pytest.raises(ValueError, match="block 2"): invert(real32['img'], E, other, offset_layer=2)

def test_offset_objective_hand_computed(G, real32):
    E = _with_head(G)
    xr = real32['img']
    x, ws = regression_batch(G, 4, E.w_avg, torch.Generator().manual_seed(0))
    t = offset_objective(E, G, xr, x, ws, lam=0.3, w_mse=2.)
    with torch.no_grad():
        w_r, d_r = E.encode(xr); w_g, d_g = E.encode(x)
        mse = ((render(G, w_r, offset=(2, d_r)) - xr) / 2).pow(2).mean()
        want = 2. * mse + 0.3 * (regression_loss(w_g, ws, E.w_std) + d_g.pow(2).mean())
    torch.testing.assert_close(t['loss'].detach(), want)

def test_tune_encoder_offset_resumes_and_lowers_the_real_error(G, real32, tmp_path):
    before = _snapshot(G)
    real = lambda t: real32['img'][[t % 4, (t + 1) % 4]]
    kw = dict(batch=2, seed=0, progress=False, checkpoint_every=2, lr=1e-3)
    E_full, r_full = tune_encoder_offset(add_offset_head(make_encoder(G, EncConfig.tiny()), G, 2), G, real, steps=40, **kw)
    E_a, r_a = tune_encoder_offset(add_offset_head(make_encoder(G, EncConfig.tiny()), G, 2), G, real, steps=20,
                                   out_dir=tmp_path, **kw)
    E_b, r_b = tune_encoder_offset(add_offset_head(make_encoder(G, EncConfig.tiny()), G, 2), G, real, steps=40,
                                   out_dir=tmp_path, **kw)
    assert r_b['step'] == 40 and r_b['log'] == r_full['log'] and _sd_equal(E_b.state_dict(), E_full.state_dict())
    m = r_full['log']['mse']
    assert sum(m[-5:]) < sum(m[:5])  # the reconstruction of the real images improves
    assert E_full.encode(real32['img'])[1].abs().max() > 0
    with pytest.raises(ValueError, match='no offset head'): tune_encoder_offset(make_encoder(G, EncConfig.tiny()), G, real, steps=1)
    assert_untouched(G, before)

def test_runs_from_before_offset_heads_resume(G, tmp_path):
    "A `last.pt` whose config lacks the offset fields (written before they existed) still resumes."
    kw = dict(cfg=EncConfig.tiny(), batch=4, seed=1, progress=False, checkpoint_every=2)
    train_encoder(G, steps=2, out_dir=tmp_path, **kw)
    ck = torch.load(tmp_path/'last.pt', weights_only=True)
    for k in ('offset_layer', 'offset_shape'): ck['run']['config'].pop(k)
    torch.save(ck, tmp_path/'last.pt')
    assert train_encoder(G, steps=4, out_dir=tmp_path, **kw)[1]['step'] == 4

def test_offset_tuning_lr_decay_resumes_into_the_ramp(G, real32, tmp_path):
    "The last `decay_steps` ramp the learning rate to 0 (cosine); a run interrupted inside the ramp resumes identically."
    assert decay_factor(5, 10, 0) == 1. and decay_factor(5, 10, 4) == 1. and decay_factor(6, 10, 4) == 1.
    assert abs(decay_factor(8, 10, 4) - 0.5) < 1e-12 and decay_factor(9, 10, 4) < 0.2
    real = lambda t: real32['img'][[t % 4, (t + 1) % 4]]
    def killed(t):  # Ctrl-C during step 7, after the checkpoint of step 6
        if t == 7: raise KeyboardInterrupt
        return real(t)
    kw = dict(batch=2, seed=0, progress=False, checkpoint_every=3, lr=1e-3, decay_steps=4)
    new = lambda: add_offset_head(make_encoder(G, EncConfig.tiny()), G, 2)
    E_full, r_full = tune_encoder_offset(new(), G, real, steps=8, **kw)
    with pytest.raises(KeyboardInterrupt): tune_encoder_offset(new(), G, killed, steps=8, out_dir=tmp_path, **kw)
    assert torch.load(tmp_path/'last.pt', weights_only=True)['run']['step'] == 6
    E_b, r_b = tune_encoder_offset(new(), G, real, steps=8, out_dir=tmp_path, **kw)
    assert r_b['log'] == r_full['log'] and _sd_equal(E_b.state_dict(), E_full.state_dict())
    E_c, _ = tune_encoder_offset(new(), G, real, steps=8, **{**kw, 'decay_steps': 0})
    assert not _sd_equal(E_c.state_dict(), E_full.state_dict())  # the ramp changes the result
