"Dense invariants of `handsoff_nb.stylegan2`: rosinality key lists, strict loading, oracles, bad files."
import argparse, json, math, sys
from pathlib import Path
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from handsoff_nb.core import set_seed
from handsoff_nb.stylegan2 import *

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from make_rosinality_keys import generator_keys, discriminator_keys, rosinality_channels, TINY  # noqa

ATOL = 1e-5  # float32 tolerance of every "same maths, different op order" comparison below


class Opaque:
    "An arbitrary class: a weights-only load must refuse to unpickle it."


def _load_keys(name): return json.loads((HERE / name).read_text())
def _shapes(m): return {k: list(v.shape) for k, v in m.state_dict().items()}


@pytest.fixture
def tiny():
    "The tiny generator with non-zero noise strengths (they start at 0), so noise matters."
    set_seed(0)
    G = make_generator(GenConfig.tiny()).eval()
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, NoiseInjection): m.weight.fill_(0.3)
    return G


# ---------------------------------------------------------------- (1) rosinality key lists
def test_tiny_preset_is_the_json_config():
    cfg = GenConfig.tiny()
    assert (cfg.size, cfg.style_dim, cfg.n_mlp) == (TINY['size'], TINY['style_dim'], TINY['n_mlp'])
    assert {r: c for r, c in cfg.channel_table().items() if r <= cfg.size} == TINY['channels']


def test_generator_keys_match_rosinality(tiny):
    expected = _load_keys('rosinality_keys_tiny.json')
    got = _shapes(tiny)
    assert set(got) == set(expected), (set(got) ^ set(expected))
    assert got == expected
    assert list(got) == list(expected)  # same registration order too


def test_discriminator_keys_match_rosinality():
    expected = _load_keys('rosinality_dkeys_tiny.json')
    got = _shapes(make_discriminator(GenConfig.tiny()))
    assert set(got) == set(expected), (set(got) ^ set(expected))
    assert got == expected


@pytest.mark.parametrize('size,cm', [(32, 2), (256, 1), (1024, 2)])
def test_default_channel_keys_match_derivation(size, cm):
    "rosinality's own channel table (no override), checked on the meta device (no memory)."
    cfg = GenConfig(size, 512, 8, channel_multiplier=cm)
    with torch.device('meta'): G, D = make_generator(cfg), make_discriminator(cfg)
    assert _shapes(G) == generator_keys(size, 512, 8, rosinality_channels(cm))
    assert _shapes(D) == discriminator_keys(size, rosinality_channels(cm))


# ---------------------------------------------------------------- (8) FFHQ config-f preset
def test_ffhq_preset_on_meta():
    with torch.device('meta'): G = make_generator(GenConfig.ffhq())
    assert (G.n_latent, G.num_layers, G.size) == (18, 17, 1024)
    expected = generator_keys(1024, 512, 8, rosinality_channels(2))
    n_expected = sum(math.prod(s) for k, s in expected.items() if not k.endswith(('kernel',))
                     and not k.startswith('noises.'))
    assert count_params(G) == n_expected == 30_370_060  # NVlabs reports 30,370,060 for config-f G
    sd = G.state_dict()
    assert sd['input.input'].shape == (1, 512, 4, 4)
    assert sd['convs.15.conv.weight'].shape == (1, 32, 32, 3, 3)
    assert sd['to_rgbs.7.conv.modulation.weight'].shape == (32, 512)
    assert sd['noises.noise_16'].shape == (1, 1, 1024, 1024)


# ---------------------------------------------------------------- (2) strict load of rosinality files
def _random_sd(keys, seed):
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(*s, generator=g) for k, s in keys.items()}


@pytest.mark.parametrize('layout', ['train', 'converted', 'bare'])
def test_load_rosinality_layouts(tmp_path, layout):
    g_ema = _random_sd(_load_keys('rosinality_keys_tiny.json'), 0)
    if layout == 'train':
        obj = {'g': _random_sd(_load_keys('rosinality_keys_tiny.json'), 1), 'g_ema': g_ema,
               'd': _random_sd(_load_keys('rosinality_dkeys_tiny.json'), 2),
               'g_optim': {'state': {}, 'param_groups': [{'lr': 0.002, 'params': [0, 1]}]},
               'd_optim': {'state': {}, 'param_groups': []},
               'args': argparse.Namespace(size=32, channel_multiplier=2, iter=800000), 'ada_aug_p': 0.}
    elif layout == 'converted': obj = {'g_ema': g_ema, 'latent_avg': torch.randn(64)}
    else: obj = g_ema
    torch.save(obj, tmp_path / 'ckpt.pt')
    G, w_avg, cfg = load_rosinality(tmp_path / 'ckpt.pt')
    assert cfg == GenConfig.tiny()
    for k, v in G.state_dict().items(): torch.testing.assert_close(v, g_ema[k], rtol=0, atol=0)
    if layout == 'converted': assert w_avg.shape == (1, 64)
    else: assert w_avg is None
    assert G([torch.randn(2, 64)])[0].shape == (2, 3, 32, 32)


def test_infer_config_channel_multiplier():
    for size, cm in [(32, 2), (256, 1), (256, 2), (512, 4)]:
        keys = generator_keys(size, 512, 8, rosinality_channels(cm))
        sd = {k: torch.empty(s, device='meta') for k, s in keys.items()}
        cfg = infer_config(sd)
        assert (cfg.size, cfg.style_dim, cfg.n_mlp, cfg.channels) == (size, 512, 8, None)
        if size > 32: assert cfg.channel_multiplier == cm


def test_own_format_roundtrip(tmp_path, tiny):
    cfg = GenConfig.tiny()
    p = save_generator(tiny, tmp_path / 'sub' / 'g.pt', cfg, extra={'step': 7, 'sha': 'abc'})
    raw = torch.load(p, weights_only=True)  # plain, weights-only loadable
    assert set(raw) >= {'g_ema', 'config', 'latent_avg'} and raw['extra'] == {'step': 7, 'sha': 'abc'}
    G, w_avg, cfg2 = load_generator(p)
    assert cfg2 == cfg and w_avg.shape == (1, cfg.style_dim)
    z = torch.randn(3, cfg.style_dim)
    with torch.no_grad():
        torch.testing.assert_close(G([z], randomize_noise=False)[0],
                                   tiny([z], randomize_noise=False)[0], rtol=0, atol=0)


# ---------------------------------------------------------------- (3) oracles
def _loop_modconv(mc, x, style):
    "Per-sample reference: explicit modulated/demodulated weights (eqs. 7-8), one F.conv2d each."
    s = F.linear(style, mc.modulation.weight * mc.modulation.scale, mc.modulation.bias)  # (B, I)
    outs = []
    for b in range(x.shape[0]):
        w = mc.weight[0] * mc.scale * s[b].view(1, -1, 1, 1)  # (O, I, k, k)
        if mc.demodulate: w = w / torch.sqrt((w ** 2).sum((1, 2, 3), keepdim=True) + 1e-8)
        xb = x[b:b + 1]
        if mc.upsample: out = mc.blur(F.conv_transpose2d(xb, w.transpose(0, 1), stride=2))
        elif mc.downsample: out = F.conv2d(mc.blur(xb), w, stride=2)
        else: out = F.conv2d(xb, w, padding=mc.kernel_size // 2)
        outs.append(out)
    return torch.cat(outs)


@pytest.mark.parametrize('fused', [True, False])
@pytest.mark.parametrize('demodulate', [True, False])
@pytest.mark.parametrize('mode,k,B', [('plain', 3, 1), ('plain', 3, 3), ('plain', 1, 2),  # 1x1: ToRGB
                                      ('upsample', 3, 1), ('upsample', 3, 3),
                                      ('downsample', 3, 1), ('downsample', 3, 3)])
def test_modconv_matches_loop(mode, fused, demodulate, k, B):
    "Grouped (fused) and activation-scaling paths vs the per-sample loop, within `ATOL`."
    set_seed(B + k)
    mc = ModulatedConv2d(6, 5, k, 16, demodulate=demodulate, upsample=mode == 'upsample',
                         downsample=mode == 'downsample', fused=fused)
    with torch.no_grad(): mc.modulation.bias.normal_()  # styles far from 1
    x, style = torch.randn(B, 6, 8, 8), torch.randn(B, 16)
    out = mc(x, style)
    assert out.shape == (B, 5, *[{'plain': 8, 'upsample': 16, 'downsample': 4}[mode]] * 2)
    torch.testing.assert_close(out, _loop_modconv(mc, x, style), rtol=1e-5, atol=ATOL)


def _upfirdn_numpy(x, k, up, down, pad):
    "Literal definition: zero-insert, pad (negative = crop), true 2-D convolution, subsample."
    B, C, H, W = x.shape
    u = np.zeros((B, C, H * up, W * up)); u[:, :, ::up, ::up] = x
    p0, p1 = pad
    u = np.pad(u, ((0, 0), (0, 0), (max(p0, 0), max(p1, 0)), (max(p0, 0), max(p1, 0))))
    u = u[:, :, max(-p0, 0):u.shape[2] - max(-p1, 0), max(-p0, 0):u.shape[3] - max(-p1, 0)]
    kh, kw = k.shape
    oh, ow = u.shape[2] - kh + 1, u.shape[3] - kw + 1
    out = np.zeros((B, C, oh, ow))
    for i in range(oh):
        for j in range(ow):  # convolution: the kernel is flipped against the window
            out[:, :, i, j] = (u[:, :, i:i + kh, j:j + kw] * k[::-1, ::-1]).sum((2, 3))
    return out[:, :, ::down, ::down]


@pytest.mark.parametrize('up,down,pad', [(1, 1, (2, 1)), (2, 1, (2, 1)), (1, 2, (1, 1)),
                                         (2, 1, (1, 1)), (1, 1, (-1, 2)), (2, 2, (1, 2))])
def test_upfirdn2d_matches_definition(up, down, pad):
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 4))  # asymmetric kernel
    got = upfirdn2d(torch.tensor(x, dtype=torch.float64), torch.tensor(k), up, down, pad)
    np.testing.assert_allclose(got.numpy(), _upfirdn_numpy(x, k, up, down, pad), atol=1e-10)


def test_features_are_the_styled_conv_outputs(tiny):
    "`feats` = the output of conv1 and of every module in convs, low to high resolution."
    hooked = []
    for m in [tiny.conv1, *tiny.convs]: m.register_forward_hook(lambda m, i, o: hooked.append(o))
    with torch.no_grad(): img, ws, feats = tiny([torch.randn(2, 64)], return_latents=True,
                                                return_features=True, randomize_noise=False)
    assert len(feats) == tiny.num_layers == len(hooked)
    for f, h in zip(feats, hooked): assert f is h
    assert [f.shape[-1] for f in feats] == [4, 8, 8, 16, 16, 32, 32]
    assert [(f.shape[1], f.shape[-1]) for f in feats] == tiny.feature_shapes()
    assert ws.shape == (2, tiny.n_latent, 64)


# ---------------------------------------------------------------- W+, truncation, mixing
def test_truncation(tiny):
    z = torch.randn(4, 64)
    with torch.no_grad():
        w_avg = tiny.mean_latent(512)
        psi0 = tiny([z], truncation=0., truncation_latent=w_avg, randomize_noise=False)[0]
        mean_img = tiny([w_avg], input_is_latent=True, randomize_noise=False)[0]
        psi1 = tiny([z], truncation=1., truncation_latent=w_avg, randomize_noise=False)[0]
        plain = tiny([z], randomize_noise=False)[0]
        half, ws = tiny([z], truncation=.5, truncation_latent=w_avg, return_latents=True,
                        randomize_noise=False)
    torch.testing.assert_close(psi0, mean_img.expand_as(psi0), rtol=0, atol=ATOL)
    torch.testing.assert_close(psi1, plain, rtol=0, atol=0)
    torch.testing.assert_close(ws[:, 0], w_avg + .5 * (tiny.mapping(z) - w_avg))
    with pytest.raises(ValueError, match='truncation_latent'): tiny([z], truncation=0.7)


def test_wplus_and_style_mixing(tiny):
    z1, z2 = torch.randn(2, 64), torch.randn(2, 64)
    with torch.no_grad():
        w1, w2 = tiny.mapping(z1), tiny.mapping(z2)
        img, ws = tiny([z1, z2], inject_index=3, return_latents=True, randomize_noise=False)
        ref = torch.cat([w1[:, None].expand(-1, 3, -1), w2[:, None].expand(-1, 5, -1)], 1)
        torch.testing.assert_close(ws, ref, rtol=0, atol=0)
        img_wplus = tiny([ref], input_is_latent=True, randomize_noise=False)[0]
        img_synth = tiny.synthesis(ref, randomize_noise=False)
        bare = tiny(z1, randomize_noise=False)[0]  # a bare tensor is accepted as [z]
    torch.testing.assert_close(img, img_wplus, rtol=0, atol=ATOL)
    torch.testing.assert_close(img, img_synth, rtol=0, atol=ATOL)
    torch.testing.assert_close(bare, tiny([z1], randomize_noise=False)[0], rtol=0, atol=0)
    with pytest.raises(ValueError, match='Expected shape'): tiny.synthesis(ref[:, :4])


# ---------------------------------------------------------------- (5) determinism
def test_determinism(tiny):
    z = torch.randn(3, 64)
    with torch.no_grad():
        noise = tiny.make_noise()
        a, b = tiny([z], noise=noise)[0], tiny([z], noise=noise)[0]
        c, d = tiny([z], randomize_noise=False)[0], tiny([z], randomize_noise=False)[0]
        set_seed(5); e = tiny([z])[0]
        set_seed(5); f = tiny([z])[0]
        set_seed(6); g = tiny([z])[0]
    assert torch.equal(a, b) and torch.equal(c, d) and torch.equal(e, f)
    assert not torch.allclose(e, g)
    set_seed(1); G1 = make_generator(GenConfig.tiny())
    set_seed(1); G2 = make_generator(GenConfig.tiny())
    for (k, v), v2 in zip(G1.state_dict().items(), G2.state_dict().values()): assert torch.equal(v, v2), k


def test_train_step_runs():
    "One D+G step on the tiny pair: finite losses, gradients reach every generator parameter."
    set_seed(0)
    cfg = GenConfig.tiny()
    G, D = make_generator(cfg), make_discriminator(cfg)
    fake = G([torch.randn(4, cfg.style_dim)])[0]
    loss = F.softplus(-D(fake)).mean() + F.softplus(D(torch.randn(4, 3, 32, 32))).mean()
    loss.backward()
    assert torch.isfinite(loss)
    no_grad = [n for n, p in G.named_parameters() if p.grad is None]
    assert no_grad == [], no_grad


# ---------------------------------------------------------------- (6) bad checkpoints
@pytest.fixture
def files(tmp_path, tiny):
    sd = tiny.state_dict()
    torch.save({'g_ema': {k: v for k, v in sd.items() if k != 'convs.3.activate.bias'}},
               tmp_path / 'missing.pt')
    torch.save({'g_ema': {**sd, 'convs.2.conv.modulation.bias': torch.zeros(7)}}, tmp_path / 'shape.pt')
    torch.save({'g_ema': {**sd, 'foo.bar': torch.zeros(1)}}, tmp_path / 'unexpected.pt')
    (tmp_path / 'text.pt').write_text('this is not a checkpoint\n' * 10)
    torch.save({'g_ema': sd}, tmp_path / 'full.pt')
    data = (tmp_path / 'full.pt').read_bytes()
    (tmp_path / 'truncated.pt').write_bytes(data[:len(data) // 2])
    torch.save({'g_ema': sd, 'obj': Opaque()}, tmp_path / 'pickle.pt')
    torch.save([1, 2, 3], tmp_path / 'list.pt')
    torch.save({'state_dict': sd}, tmp_path / 'otherkey.pt')
    (tmp_path / 'empty.pt').write_bytes(b'')
    return tmp_path


@pytest.mark.parametrize('name,msg', [
    ('missing', 'missing keys: convs.3.activate.bias'),
    ('shape', 'shape conflicts: convs.2.conv.modulation.bias (7,) vs model (64,)'),
    ('unexpected', 'unexpected keys: foo.bar'),
    ('text', 'not a PyTorch checkpoint'),
    ('truncated', 'truncated or corrupt'),
    ('pickle', 'weights-only load refuses'),
    ('list', 'expected a dict, got list'),
    ('otherkey', "expected a 'g_ema' entry"),
    ('empty', 'the file is empty'),
    ('nonexistent', 'no such checkpoint file'),
])
@pytest.mark.parametrize('loader', [load_rosinality, load_generator])
def test_bad_checkpoints(files, name, msg, loader):
    path = files / f'{name}.pt'
    with pytest.raises(CheckpointError) as e: loader(path)
    assert msg in str(e.value), str(e.value)
    assert str(path) in str(e.value)
    err = e.value  # no torch traceback chained to it
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    assert len(str(e.value)) < 600


def test_long_key_lists_are_truncated(tmp_path, tiny):
    torch.save({'g_ema': {'style.1.weight': torch.zeros(64, 64), 'conv1.conv.weight':
                          torch.zeros(1, 64, 64, 3, 3)}}, tmp_path / 'sparse.pt')
    with pytest.raises(CheckpointError, match=r'missing keys: .*\(\+\d+ more\)'):
        load_rosinality(tmp_path / 'sparse.pt')


# ---------------------------------------------------------------- (7) CPU/GPU parity
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('fused', [True, False])
def test_cpu_gpu_parity(tiny, fused):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    set_fused(tiny, fused)
    D = make_discriminator(GenConfig.tiny())
    z = torch.randn(4, 64)
    with torch.no_grad():
        img_cpu, _, feats_cpu = tiny([z], randomize_noise=False, return_features=True)
        d_cpu = D(img_cpu)
        Gc, Dc = tiny.to('cuda'), D.to('cuda')
        img_gpu, _, feats_gpu = Gc([z.cuda()], randomize_noise=False, return_features=True)
        d_gpu = Dc(img_gpu)
    torch.testing.assert_close(img_gpu.cpu(), img_cpu, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(feats_gpu[-1].cpu(), feats_cpu[-1], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(d_gpu.cpu(), d_cpu, rtol=1e-4, atol=1e-4)


def test_channel_max_changes_shapes_not_names():
    "`channel_max` narrows every layer; the keys stay rosinality's and the widths are inferred back."
    cfg = GenConfig(64, 32, 2, channel_max=32)
    G = make_generator(cfg)
    widths = {r: 32 for r in (4, 8, 16, 32, 64)}
    assert _shapes(G) == generator_keys(64, 32, 2, widths)
    inferred = infer_config(G.state_dict())
    assert inferred.channels == widths and inferred.size == 64
    load_state_dict_strict(make_generator(inferred), G.state_dict())
