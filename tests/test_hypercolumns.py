"Dense invariants of `handsoff_nb.hypercolumns`: the factorised layer vs the naive oracle, sampling."
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from handsoff_nb.stylegan2 import GenConfig, make_generator
from handsoff_nb.hypercolumns import *


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    "Small tensors: one thread is faster, and the test machine's two cores are shared."
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def rand_feats(shapes, B=2, dtype=torch.float32, seed=0):
    "Random feature maps (B,C,r,r) for `shapes` = [(C, r), ...]."
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(B, c, r, r, generator=g, dtype=dtype) for c, r in shapes]


def naive_linear(lin, feats, size):
    "Oracle: a full Linear on the materialised hypercolumns → (B,D,H,W)."
    return lin(hypercolumns(feats, size).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def naive_loop(feats, size):
    "Oracle of the oracle: hypercolumns pixel by pixel from a per-layer loop."
    size = (size, size) if isinstance(size, int) else size
    ups = [F.interpolate(f, size=size, mode='bilinear', align_corners=False) for f in feats]
    return torch.stack([torch.cat([u[:, :, y, x] for u in ups], 1)
                        for y in range(size[0]) for x in range(size[1])], -1).view(
        len(feats[0]), -1, *size)


SHAPES = [
    [(8, 4), (8, 8), (8, 8), (4, 16), (4, 16)],     # StyleGAN-like pyramid up to the label size
    [(5, 4), (3, 32)],                              # a block larger than the label size (downsample)
    [(7, 16)],                                      # one block at exactly the label size
    [(6, 3), (2, 5), (4, 7)],                       # odd resolutions
]


@pytest.mark.parametrize('shapes', SHAPES)
@pytest.mark.parametrize('size', [16, (12, 20)])
def test_factorised_equals_naive_float64(shapes, size):
    "Eq. (2) is exact: float64 agreement to 1e-10 (only summation order differs)."
    feats = rand_feats(shapes, dtype=torch.float64)
    channels = [c for c, _ in shapes]
    lin = nn.Linear(sum(channels), 9).double()
    proj = FactorisedProjection.from_linear(lin, channels)
    torch.testing.assert_close(proj(feats, size), naive_linear(lin, feats, size), atol=1e-10, rtol=0)


@pytest.mark.parametrize('shapes', SHAPES)
def test_factorised_equals_naive_float32(shapes):
    "The stated float32 tolerance: atol 1e-5 (values of order 1)."
    feats = rand_feats(shapes)
    channels = [c for c, _ in shapes]
    lin = nn.Linear(sum(channels), 16)
    proj = FactorisedProjection.from_linear(lin, channels)
    torch.testing.assert_close(proj(feats, 16), naive_linear(lin, feats, 16), atol=1e-5, rtol=0)


def test_hypercolumns_match_pixel_loop():
    feats = rand_feats(SHAPES[0], dtype=torch.float64)
    torch.testing.assert_close(hypercolumns(feats, 8), naive_loop(feats, 8))
    assert hypercolumns(feats, (6, 10)).shape == (2, 32, 6, 10)


def test_factorised_gradients_equal_naive():
    "Training sees the same gradients through either form."
    feats = rand_feats(SHAPES[0], dtype=torch.float64)
    channels = [c for c, _ in SHAPES[0]]
    lin = nn.Linear(sum(channels), 6).double()
    proj = FactorisedProjection.from_linear(lin, channels)
    assert proj.weights[0].dtype == torch.float64  # follows the Linear's dtype
    target = torch.randn(2, 6, 16, 16, dtype=torch.float64)
    (proj(feats, 16) - target).pow(2).sum().backward()
    (naive_linear(lin, feats, 16) - target).pow(2).sum().backward()
    torch.testing.assert_close(torch.cat([w.grad for w in proj.weights], 1), lin.weight.grad)
    torch.testing.assert_close(proj.bias.grad, lin.bias.grad)


def test_from_linear_and_weight_roundtrip():
    lin = nn.Linear(10, 4)
    proj = FactorisedProjection.from_linear(lin, (3, 7))
    assert [tuple(w.shape) for w in proj.weights] == [(4, 3), (4, 7)]
    assert torch.equal(proj.weight, lin.weight) and torch.equal(proj.bias, lin.bias)
    lin0 = nn.Linear(10, 4, bias=False)
    nobias = FactorisedProjection.from_linear(lin0, (3, 7))
    assert nobias.bias is None
    feats = rand_feats([(3, 4), (7, 8)])
    torch.testing.assert_close(nobias(feats, 8), naive_linear(lin0, feats, 8), atol=1e-5, rtol=0)


def test_from_linear_rejects_wrong_channels():
    with pytest.raises(RuntimeError):
        FactorisedProjection.from_linear(nn.Linear(10, 4), (3, 8))


def test_fresh_projection_has_linear_init_scale():
    "Weights are initialised like one nn.Linear over all C, not per block."
    torch.manual_seed(0)
    proj = FactorisedProjection((1000, 24), 64)
    bound = 1 / (1024 ** 0.5)
    assert proj.weight.abs().max() <= bound and proj.weight.abs().max() > 0.9 * bound


@pytest.mark.parametrize('shapes', SHAPES)
def test_project_at_equals_dense(shapes):
    "The first layer at sampled pixels (grid_sample, eq. 4) equals the dense map read there."
    feats = rand_feats(shapes)
    channels = [c for c, _ in shapes]
    proj = FactorisedProjection(channels, 12)
    idx = sample_pixels(2, 16, 300, generator=torch.Generator().manual_seed(1))
    dense = proj(feats, 16)
    torch.testing.assert_close(project_at(proj, feats, idx, 16), take_pixels(dense, idx),
                               atol=1e-5, rtol=0)
    hc = hypercolumns(feats, 16)
    torch.testing.assert_close(torch.cat(sample_features(feats, idx, 16), -1), take_pixels(hc, idx),
                               atol=1e-5, rtol=0)


def test_project_at_non_square():
    feats = rand_feats([(4, 4), (3, 8)])
    proj = FactorisedProjection((4, 3), 5)
    H, W = 6, 10
    idx = torch.randint(0, H * W, (2, 50), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(project_at(proj, feats, idx, (H, W)),
                               take_pixels(proj(feats, (H, W)), idx), atol=1e-5, rtol=0)


def test_pixel_grid_coords_corners():
    g = pixel_grid_coords(torch.tensor([[0, 3, 12, 15]]), 4)
    assert g.shape == (1, 1, 4, 2)
    torch.testing.assert_close(g[0, 0], torch.tensor([[-.75, -.75], [.75, -.75], [-.75, .75],
                                                      [.75, .75]]))


def test_feature_channels_generator_and_config_agree():
    for cfg in (GenConfig.tiny(), GenConfig.toy64(), GenConfig(256, 64, 2, channel_max=64)):
        G = make_generator(cfg)
        assert feature_channels(G) == feature_channels(cfg)
        assert len(feature_channels(cfg)) == G.num_layers
    G = make_generator(GenConfig.tiny()).eval()
    ws = torch.randn(2, G.n_latent, G.style_dim)
    with torch.no_grad(): img, feats = generate_features(G, ws)
    assert tuple(f.shape[1] for f in feats) == feature_channels(G)
    assert img.shape == (2, 3, 32, 32)
    with torch.no_grad(): img2, feats2 = generate_features(G, ws)
    assert torch.equal(img, img2) and all(torch.equal(a, b) for a, b in zip(feats, feats2))
    with pytest.raises(ValueError): generate_features(G, ws[:, :3])


def test_hypercolumn_bytes():
    assert hypercolumn_bytes((10, 20), 8, n_images=3) == 3 * 30 * 64 * 4
    assert hypercolumn_bytes(GenConfig(256, 512, 8), 256) == 5376 * 256 * 256 * 4
    G = make_generator(GenConfig.tiny())
    assert hypercolumn_bytes(G, 32, bytes_per=2) == sum(feature_channels(G)) * 32 * 32 * 2


def _mask_with_rare_class():
    m = torch.zeros(3, 16, 16, dtype=torch.long)
    m[:, 4:12, 4:12] = 1          # 64 px
    m[:, 7:9, 7:8] = 2            # 2 px: rare
    m[1, 0, :] = 5                # 16 px, image 1 only
    return m


def test_balanced_sampling_shares():
    "Eq. (3): each class present in an image gets an equal share of its samples."
    m = _mask_with_rare_class()
    idx = sample_pixels(3, 16, 6000, m, balanced=True, generator=torch.Generator().manual_seed(0))
    lab = take_pixels(m, idx)
    for i in range(3):
        present = torch.unique(m[i])
        share = torch.bincount(lab[i], minlength=8)[present].float() / 6000
        assert (share - 1 / len(present)).abs().max() < 0.03, (i, share)
        assert set(torch.unique(lab[i]).tolist()) == set(present.tolist())  # nothing absent


def test_uniform_sampling_follows_area():
    m = _mask_with_rare_class()
    idx = sample_pixels(3, 16, 6000, m, generator=torch.Generator().manual_seed(0))
    share2 = (take_pixels(m, idx)[0] == 2).float().mean()
    assert share2 < 0.03  # 2 of 256 px ≈ 0.008
    assert idx.min() >= 0 and idx.max() < 256 and idx.dtype == torch.long


def test_sampling_is_seeded():
    m = _mask_with_rare_class()
    a, b, c = (sample_pixels(3, 16, 100, m, True, torch.Generator().manual_seed(s)) for s in (0, 0, 1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ValueError, match='mask'): sample_pixels(3, 16, 10, balanced=True)
    with pytest.raises(ValueError): sample_pixels(2, 16, 10, m, balanced=True)


def test_take_pixels():
    x = torch.arange(2 * 3 * 4 * 4).view(2, 3, 4, 4)
    idx = torch.tensor([[0, 5], [15, 1]])
    assert take_pixels(x, idx).tolist() == [[[0, 16, 32], [5, 21, 37]], [[63, 79, 95], [49, 65, 81]]]
    assert take_pixels(x[:, 0], idx).tolist() == [[0, 5], [63, 49]]
