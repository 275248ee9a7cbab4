"LPIPS: the torchvision op patch, all backbone paths (offline), the eq. (2) oracle, gradients."
import os, subprocess, sys, urllib.request
import pytest
import torch
from torch import nn
from handsoff_nb import perceptual as P
from handsoff_nb.perceptual import (patch_torchvision_ops, import_lpips, unit_normalize,
    lpips_from_features, LPIPSInfo, backbone_url, hub_cache_file, load_backbone, make_lpips,
    check_images, resize_for_lpips, lpips_distance, lpips_features, lin_weights, PerceptualLoss,
    ToyFeatureNet, BaselineLPIPS, load_toy_backbone)

EPS = 1e-5  # float32 agreement between the package and eq. (2)

# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope='module')
def tvm():
    import_lpips()
    import torchvision.models as tvm
    return tvm

@pytest.fixture(scope='module')
def alex_features_sd(tvm):
    "A randomly initialised torchvision AlexNet state dict: the ImageNet file's keys and shapes."
    torch.manual_seed(123)
    sd = {f'features.{k}': v for k, v in tvm.alexnet(weights=None).features.state_dict().items()}
    sd['classifier.1.weight'] = torch.zeros(2, 2)  # extra keys (as in the real file) are ignored
    return sd

@pytest.fixture(scope='module')
def alex():
    "The offline metric: package lin weights, random AlexNet trunk (seed 0)."
    return make_lpips(backbone='random')[0]

@pytest.fixture(scope='module')
def squeeze(): return make_lpips('squeeze', backbone='random')[0]

@pytest.fixture
def no_network(monkeypatch):
    "Fail loudly if anything tries to download; `calls` records attempts."
    calls = []
    def boom(*a, **k):
        calls.append(a)
        raise AssertionError(f"network access attempted: {a}")
    monkeypatch.setattr(torch.hub, 'load_state_dict_from_url', boom)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', boom)
    monkeypatch.setattr(urllib.request, 'urlopen', boom)
    return calls

@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path/'torch_home'))
    return tmp_path/'torch_home'

def _imgs(b=2, h=32, w=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 3, h, w, generator=g) * 2 - 1
    y = (x + 0.3 * torch.randn(b, 3, h, w, generator=g)).clamp(-1, 1)
    return x, y

def _random_warnings(rec): return [w for w in rec if 'RANDOM' in str(w.message)]

def _w(model, sl, idx, name='weight'):
    "A parameter of the lpips trunk: slice `sl`, torchvision layer index `idx`."
    return getattr(getattr(model.net, f'slice{sl}').get_submodule(str(idx)), name)

# ---------------------------------------------------------------- 1. importing lpips

def test_patch_is_idempotent():
    first = patch_torchvision_ops()
    lib = P._tv_lib
    assert patch_torchvision_ops() == first and patch_torchvision_ops() == first
    assert P._tv_lib is lib  # defined at most once per process
    assert hasattr(torch.ops.torchvision, 'nms') and hasattr(torch.ops.torchvision, 'qnms')
    assert import_lpips() is import_lpips()

def test_stand_in_ops_fail_clearly():
    if not patch_torchvision_ops(): pytest.skip("torchvision's own C++ ops load here")
    import torchvision
    with pytest.raises(RuntimeError, match="custom C"):
        torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)

def _run(code):
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)

def test_import_is_lazy():
    r = _run("import sys, handsoff_nb, handsoff_nb.perceptual\n"
             "bad = [m for m in ('torchvision', 'lpips') if m in sys.modules]\n"
             "assert not bad, bad")
    assert r.returncode == 0, r.stderr

# Stand-in `torchvision` packages replay the import order of the real ones without a 3 GB download. The
# "matching pair" one registers nms/qnms itself on import, and aborts the process (as torchvision 0.29.1's
# `_C_stable.so` does, exit 134) if a schema was defined before it; the "missing ops" one fails as the CUDA
# wheel beside a CPU torch does until the schemas exist.
_REGISTERS = """import os, sys, torch
from . import extension
if hasattr(torch.ops.torchvision, 'nms'):  # the real one: 'Tried to register an operator ... multiple times'
    sys.stderr.write('stand-in torchvision: nms registered twice\\n'); sys.stderr.flush(); os.abort()
_lib = torch.library.Library('torchvision', 'DEF')
for _n in ('nms', 'qnms'): _lib.define(_n + '(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
__version__ = 'stand-in, registers its ops'
"""
_MISSING = """import torch
from . import extension
if not hasattr(torch.ops.torchvision, 'nms'): raise RuntimeError('operator torchvision::nms does not exist')
__version__ = 'stand-in, ops missing'
"""
_OTHER_ERROR = "raise RuntimeError('CUDA driver initialization failed')\n"
_EXTENSION = "import sys\nsys.imports_of_extension = getattr(sys, 'imports_of_extension', 0) + 1\n"
_LPIPS = "import torchvision\n__version__ = 'stand-in'\nclass LPIPS: pass\n"

def _run_with(tmp_path, tv_init, code, lpips=True):
    "Run `code` in a fresh interpreter that finds stand-in `torchvision` (and `lpips`) packages first."
    (tmp_path/'torchvision').mkdir()
    (tmp_path/'torchvision'/'__init__.py').write_text(tv_init)
    (tmp_path/'torchvision'/'extension.py').write_text(_EXTENSION)
    if lpips: (tmp_path/'lpips').mkdir(); (tmp_path/'lpips'/'__init__.py').write_text(_LPIPS)
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(tmp_path), os.environ.get('PYTHONPATH', '')])}
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120, env=env)

def test_stand_ins_abort_like_the_real_pair(tmp_path):
    "The 'matching pair' stand-in really does kill a process that defines a schema before importing it."
    r = _run_with(tmp_path, _REGISTERS, "import torch\nlib = torch.library.Library('torchvision', 'DEF')\n"
                  "lib.define('nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')\n"
                  "import torchvision")
    assert r.returncode != 0 and 'registered twice' in r.stderr

def test_matching_pair_registers_its_own_ops(tmp_path):
    "torch 2.14.1 + torchvision 0.29.1: the import works as is, so we define no schema (which would abort)."
    r = _run_with(tmp_path, _REGISTERS,
                  "import sys, torch\nfrom handsoff_nb import perceptual as P\n"
                  "lp = P.import_lpips()\n"
                  "assert lp.__version__ == 'stand-in' and P._tv_lib is None, P._tv_lib\n"
                  "assert sys.modules['torchvision'].__version__.startswith('stand-in, registers')\n"
                  "assert P.patch_torchvision_ops() is False and torch.ops.torchvision.nms\n"
                  "assert sys.imports_of_extension == 1\n"
                  "print('ok')")
    assert r.returncode == 0 and r.stdout.strip() == 'ok', (r.returncode, r.stderr[-2000:])

def test_missing_ops_get_stand_ins_after_a_clean_retry(tmp_path):
    "CPU torch + CUDA torchvision: the import fails, then the schemas are defined and a fresh import succeeds."
    r = _run_with(tmp_path, _MISSING,
                  "import sys, torch\nfrom handsoff_nb import perceptual as P\n"
                  "assert not hasattr(torch.ops.torchvision, 'nms')\n"
                  "lp = P.import_lpips()\n"
                  "assert lp.__version__ == 'stand-in' and P._tv_lib is not None\n"
                  "assert P.patch_torchvision_ops() is True and torch.ops.torchvision.qnms\n"
                  "assert sys.imports_of_extension == 2, sys.imports_of_extension  # half-import dropped\n"
                  "print('ok')")
    assert r.returncode == 0 and r.stdout.strip() == 'ok', (r.returncode, r.stderr[-2000:])

def test_other_import_errors_are_not_patched(tmp_path):
    "Any other failure of torchvision's import is raised as it is, and no schema is defined."
    r = _run_with(tmp_path, _OTHER_ERROR,
                  "import torch\nfrom handsoff_nb import perceptual as P\n"
                  "try: P.import_lpips()\n"
                  "except RuntimeError as e: assert 'CUDA driver' in str(e)\n"
                  "else: raise AssertionError('no error')\n"
                  "assert P._tv_lib is None and not hasattr(torch.ops.torchvision, 'nms')\n"
                  "print('ok')")
    assert r.returncode == 0 and r.stdout.strip() == 'ok', (r.returncode, r.stderr[-2000:])

def test_recovers_after_a_failed_plain_import():
    "A user who ran `import lpips` first (and got the nms error) can still call `import_lpips()`."
    r = _run("try:\n    import lpips\nexcept RuntimeError: pass\n"
             "from handsoff_nb.perceptual import import_lpips\n"
             "assert import_lpips().LPIPS")
    assert r.returncode == 0, r.stderr

# ---------------------------------------------------------------- 2. backbones

def test_hub_cache_path_follows_torch_home(empty_torch_home):
    assert hub_cache_file('alex') == empty_torch_home/'hub'/'checkpoints'/'alexnet-owt-7be5be79.pth'
    assert hub_cache_file('vgg').name == 'vgg16-397923af.pth'
    assert hub_cache_file('squeeze').name == 'squeezenet1_1-b8a52dc0.pth'
    assert backbone_url('alex').endswith('/alexnet-owt-7be5be79.pth')

def test_cache_file_is_used(empty_torch_home, alex_features_sd, no_network, recwarn):
    f = hub_cache_file('alex')
    f.parent.mkdir(parents=True)
    torch.save(alex_features_sd, f)
    model, info = make_lpips()
    assert (info.backbone, info.source, info['net']) == ('imagenet', str(f), 'alex')
    assert torch.equal(_w(model, 1, 0), alex_features_sd['features.0.weight'])
    assert torch.equal(_w(model, 5, 10, 'bias'), alex_features_sd['features.10.bias'])
    assert not no_network and not _random_warnings(recwarn)
    assert make_lpips(backbone='imagenet')[1].backbone == 'imagenet'

def test_explicit_weights_file(tmp_path, empty_torch_home, alex_features_sd, alex, no_network,
                               recwarn):
    torch.save(alex_features_sd, tmp_path/'trunk.pth')
    model, info = make_lpips(backbone_weights=tmp_path/'trunk.pth')
    assert (info.backbone, info.source) == ('file', str(tmp_path/'trunk.pth'))
    assert torch.equal(_w(model, 3, 6), alex_features_sd['features.6.weight'])
    x, y = _imgs()
    assert not torch.allclose(lpips_distance(model, x, y), lpips_distance(alex, x, y))
    assert not no_network and not _random_warnings(recwarn)

def test_lpips_trunk_format_and_module_prefix(alex):
    sd = {'module.' + k: v + 1 for k, v in alex.net.state_dict().items()}  # lpips keys + DP prefix
    model = make_lpips(backbone='random', seed=5)[0]
    load_backbone(model, sd)
    assert torch.equal(_w(model, 2, 3), _w(alex, 2, 3) + 1)

def test_random_fallback_warns_and_reports(empty_torch_home, no_network):
    with pytest.warns(UserWarning, match='RANDOM'):
        model, info = make_lpips(allow_download=False)
    assert info['backbone'] == 'random' and info.source == 'seed=0'
    assert info.lin == 'lpips v0.1 (package)' and 'random' in str(info)
    assert model.info == info
    assert no_network == []  # torch.hub.load_state_dict_from_url never called

def test_imagenet_required_but_missing(empty_torch_home, no_network):
    with pytest.raises(FileNotFoundError, match='allow_download'):
        make_lpips(backbone='imagenet')
    assert no_network == []

def test_allow_download_uses_torch_hub(empty_torch_home, alex_features_sd, monkeypatch):
    calls = []
    def fake_download(url, **kw):
        calls.append((url, kw))
        return alex_features_sd
    monkeypatch.setattr(torch.hub, 'load_state_dict_from_url', fake_download)
    model, info = make_lpips(allow_download=True)
    assert calls and calls[0][0] == backbone_url('alex') and calls[0][1]['check_hash']
    assert (info.backbone, info.source) == ('imagenet', backbone_url('alex'))
    assert torch.equal(_w(model, 1, 0), alex_features_sd['features.0.weight'])

def test_explicit_random_is_seeded_and_silent(recwarn, alex):
    m0, info = make_lpips(backbone='random', seed=0)
    m1, _ = make_lpips(backbone='random', seed=1)
    w = lambda m: m.net.slice1.get_submodule('0').weight
    assert torch.equal(w(m0), w(alex)) and not torch.equal(w(m0), w(m1))
    assert info.backbone == 'random' and not _random_warnings(recwarn)

def test_seeding_leaves_global_rng_alone():
    torch.manual_seed(7); a = torch.rand(3)
    torch.manual_seed(7); make_lpips('squeeze', backbone='random'); b = torch.rand(3)
    assert torch.equal(a, b)

def test_frozen_eval_device(alex):
    assert not alex.training and not any(p.requires_grad for p in alex.parameters())
    assert all(p.device.type == 'cpu' for p in alex.parameters())

@pytest.mark.parametrize('kw, exc, match', [
    (dict(net='resnet'), ValueError, 'net must be'),
    (dict(backbone='imagenet1k'), ValueError, 'backbone'),
    (dict(backbone='file'), ValueError, 'backbone_weights'),
    (dict(backbone='random', backbone_weights='x.pth'), ValueError, 'backbone_weights'),
    (dict(backbone='toyfaces'), ValueError, 'backbone_weights'),
])
def test_bad_arguments(kw, exc, match):
    with pytest.raises(exc, match=match): make_lpips(**kw)

def test_wrong_weights_file_is_named(tmp_path, tvm):
    torch.save(tvm.squeezenet1_1(weights=None).state_dict(), tmp_path/'squeeze.pth')
    with pytest.raises(KeyError, match='features'):
        make_lpips('alex', backbone_weights=tmp_path/'squeeze.pth')

def test_squeezenet_file(tmp_path, tvm):
    sd = tvm.squeezenet1_1(weights=None).state_dict()
    torch.save(sd, tmp_path/'sq.pth')
    model, info = make_lpips('squeeze', backbone_weights=tmp_path/'sq.pth')
    assert info.net == 'squeeze'
    sq = model.net.slice2.get_submodule('3.squeeze').weight
    assert torch.equal(sq, sd['features.3.squeeze.weight'])

# ---------------------------------------------------------------- toy backbone

def test_toy_backbone_roundtrip(tmp_path):
    torch.manual_seed(0)
    net = ToyFeatureNet(chns=(8, 16, 16), strides=(2, 1, 2))
    torch.save(net.state_dict(), tmp_path/'toy.pth')
    back = load_toy_backbone(tmp_path/'toy.pth')
    assert back.chns == [8, 16, 16] and back.strides.tolist() == [2, 1, 2]
    x = torch.randn(2, 3, 32, 32)
    for a, b in zip(net(x), back(x)): assert torch.equal(a, b)
    assert [f.shape[-1] for f in back(x)] == [16, 16, 8]
    model, info = make_lpips(backbone='toyfaces', backbone_weights=tmp_path/'toy.pth')
    assert (info.net, info.backbone, info.lin) == ('toy', 'toyfaces', 'uniform 1/C_l')
    assert not any(p.requires_grad for p in model.parameters()) and not model.training
    x, y = _imgs(h=64, w=64)
    ref = lpips_from_features(net(x), net(y), [torch.full((c,), 1 / c) for c in (8, 16, 16)])
    torch.testing.assert_close(lpips_distance(model, x, y), ref, atol=1e-6, rtol=1e-5)

# ------------------------------------------------------------ 3. the distance: oracle, hand cases

@pytest.mark.parametrize('net, hw', [('alex', (32, 32)), ('alex', (64, 64)), ('alex', (80, 96)),
                                     ('squeeze', (32, 32))])  # squeeze: slow first call per shape
def test_package_matches_eq2(net, hw, alex, squeeze):
    model = alex if net == 'alex' else squeeze
    x, y = _imgs(3, *hw)
    d = lpips_distance(model, x, y)
    xr, yr = resize_for_lpips(x), resize_for_lpips(y)
    ref = lpips_from_features(lpips_features(model, xr), lpips_features(model, yr),
                              lin_weights(model))
    assert d.shape == (3,) and (d > 0).all()
    torch.testing.assert_close(d, ref, atol=EPS, rtol=EPS)

def test_package_per_layer_matches_eq2(alex):
    x, y = _imgs(2, 64, 64)
    _, per_layer = alex(x, y, retPerLayer=True)
    fx, fy, ws = lpips_features(alex, x), lpips_features(alex, y), lin_weights(alex)
    for l in range(5):
        ref = lpips_from_features([fx[l]], [fy[l]], [ws[l]])
        torch.testing.assert_close(per_layer[l].flatten(), ref, atol=EPS, rtol=EPS)

def test_lin_weights_are_the_package_files(alex):
    sd = torch.load(P.Path(import_lpips().__file__).parent/'weights/v0.1/alex.pth',
                    map_location='cpu', weights_only=True)
    ws = lin_weights(alex)
    assert [w.shape[0] for w in ws] == [64, 192, 384, 256, 256]
    for l, w in enumerate(ws): assert torch.equal(w, sd[f'lin{l}.model.1.weight'].flatten())

def test_identical_images_give_zero(alex):
    x, _ = _imgs(2)
    assert torch.equal(lpips_distance(alex, x, x), torch.zeros(2))

class _Identity(nn.Module):
    "A one-layer trunk whose features are the pixels themselves."
    def forward(self, img): return [img]

def test_hand_computed_one_layer():
    red, green, blue = (torch.zeros(1, 3, 4, 4) for _ in range(3))
    red[:, 0], green[:, 1], blue[:, 2] = 1., 1., 1.
    model = BaselineLPIPS(_Identity(), [3])
    # unit vectors e_r, e_g: squared difference (1, 1, 0), uniform w = 1/3 → 2/3
    assert torch.allclose(model(red, green).flatten(), torch.tensor([2 / 3]))
    # weights (1, 2, 3): red vs green → 1 + 2 = 3; green vs blue → 2 + 3 = 5
    ws = [torch.tensor([1., 2., 3.])]
    d = lpips_from_features([torch.cat([red, green])], [torch.cat([green, blue])], ws)
    assert torch.allclose(d, torch.tensor([3., 5.]))
    # the spatial mean: red vs an image that is green on half its pixels → half of 2/3
    half = red.clone(); half[..., :2] = green[..., :2]
    assert torch.allclose(model(red, half).flatten(), torch.tensor([1 / 3]))
    # scale invariance of eq. (1): brightness scaling of a colour changes nothing
    assert torch.allclose(model(red, 0.25 * red).flatten(), torch.zeros(1), atol=1e-7)

def test_unit_normalize():
    f = torch.randn(2, 5, 3, 3)
    torch.testing.assert_close(unit_normalize(f).norm(dim=1), torch.ones(2, 3, 3))
    zeros = torch.zeros(1, 4, 2, 2)
    assert torch.equal(unit_normalize(zeros), zeros)  # eps: no NaN

def test_resize_for_lpips():
    x = torch.randn(1, 3, 32, 48)
    assert resize_for_lpips(x).shape == (1, 3, 64, 96)
    big = torch.randn(1, 3, 64, 64)
    assert resize_for_lpips(big) is big
    assert resize_for_lpips(big, max_size=32).shape == (1, 3, 32, 32)
    const = torch.full((1, 3, 16, 16), 0.5)
    torch.testing.assert_close(resize_for_lpips(const), torch.full((1, 3, 64, 64), 0.5))

def test_min_size_handles_toy_resolutions(alex):
    for s in (16, 32, 64):
        x, y = _imgs(1, s, s)
        assert lpips_distance(alex, x, y).isfinite().all()
    x, y = _imgs(1, 16, 16)
    with pytest.raises(ValueError, match='too small'):
        lpips_distance(alex, x, y, min_size=16)

# ---------------------------------------------------------------- 4. the loss: gradients

def test_perceptual_loss_gradients(alex):
    loss_fn = PerceptualLoss(alex)
    x, y = _imgs(3)
    x.requires_grad_(True)
    loss = loss_fn(x, y)
    assert loss.ndim == 0
    torch.testing.assert_close(loss, lpips_distance(alex, x, y).mean())
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and x.grad.isfinite().all()
    assert all(p.grad is None and not p.requires_grad for p in loss_fn.parameters())
    assert str(loss_fn.info).startswith('LPIPS-alex')

def test_perceptual_loss_stays_eval_inside_a_training_parent(alex):
    parent = nn.ModuleDict(dict(enc=nn.Linear(2, 2), loss=PerceptualLoss(alex)))
    parent.train()
    assert parent['enc'].training and parent['loss'].training
    assert not parent['loss'].model.training  # no dropout in the lin layers
    x, y = _imgs(2)
    assert torch.equal(parent['loss'](x, y), parent['loss'](x, y))  # deterministic

def test_perceptual_loss_builds_its_model(empty_torch_home):
    with pytest.warns(UserWarning, match='RANDOM'):
        loss_fn = PerceptualLoss(net='squeeze')
    assert loss_fn.info.backbone == 'random' and loss_fn.info.net == 'squeeze'

def test_gradcheck_float64():
    torch.manual_seed(0)
    net = ToyFeatureNet(chns=(4, 6), strides=(2, 1)).double()
    model = BaselineLPIPS(net, net.chns).eval().requires_grad_(False)
    x = (torch.rand(2, 3, 6, 6, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    y = torch.rand(2, 3, 6, 6, dtype=torch.float64) * 2 - 1
    f = lambda a: lpips_distance(model, a, y, min_size=6)
    assert torch.autograd.gradcheck(f, (x,), fast_mode=True)

# ---------------------------------------------------------------- bad inputs

@pytest.mark.parametrize('x, y, match', [
    (torch.zeros(3, 32, 32), torch.zeros(3, 32, 32), r'\(B,3,H,W\)'),
    (torch.zeros(2, 1, 32, 32), torch.zeros(2, 1, 32, 32), 'expand'),
    (torch.zeros(2, 4, 32, 32), torch.zeros(2, 4, 32, 32), 'RGB'),
    (torch.zeros(2, 3, 32, 32), torch.zeros(2, 3, 32, 48), 'differ'),
    (torch.zeros(2, 3, 32, 32), torch.full((2, 3, 32, 32), 255.), r'\[-1,1\]'),
    (torch.full((2, 3, 32, 32), -3.), torch.zeros(2, 3, 32, 32), r'\[-1,1\]'),
    (torch.full((2, 3, 32, 32), float('nan')), torch.zeros(2, 3, 32, 32), 'NaN'),
    ([[0.]], torch.zeros(2, 3, 32, 32), r'\(B,3,H,W\)'),
])
def test_bad_inputs(x, y, match, alex):
    with pytest.raises(ValueError, match=match): lpips_distance(alex, x, y)

def test_small_overshoot_is_allowed(alex):
    "Raw generator outputs overshoot [-1,1] a little; that is fine."
    x, y = _imgs(1)
    assert lpips_distance(alex, 1.5 * x, y).isfinite().all()
    check_images(1.9 * x, y)
    with pytest.raises(ValueError): check_images(1.9 * x, y, range_tol=0.5)

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_matches_cpu(alex):
    x, y = _imgs(2)
    m, _ = make_lpips(backbone='random', device='cuda')
    torch.testing.assert_close(lpips_distance(m, x.cuda(), y.cuda()).cpu(),
                               lpips_distance(alex, x, y), atol=1e-4, rtol=1e-4)

# ---------------------------------------------------------------- toy trunk training (sketch)

def test_train_toy_backbone_learns_a_simple_mask():
    "The pretext task is learnable: the mask 'red channel > 0' gets easier within 25 steps."
    from handsoff_nb.perceptual import train_toy_backbone
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(16, 3, 16, 16, generator=g) * 2 - 1
    masks = (imgs[:, 0] > 0).long()
    net, losses = train_toy_backbone(imgs, masks, steps=25, batch_size=8, lr=1e-2, n_classes=2,
                                     net=ToyFeatureNet((8, 8), (1, 1)))
    assert len(losses) == 25 and not net.training
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5
    # seeded: the default trunk, the head and the batches all come from `seed`
    runs = [train_toy_backbone(imgs, masks, steps=1, batch_size=2, seed=3)[1] for _ in range(2)]
    assert runs[0] == runs[1]

def test_info_reads_like_a_record():
    info = LPIPSInfo('alex', 'random', 'seed=0', 'lpips v0.1 (package)')
    assert info['backbone'] == info.backbone == 'random'
    assert str(info) == 'LPIPS-alex | trunk: random (seed=0) | w: lpips v0.1 (package)'
    with pytest.raises(Exception): info.backbone = 'imagenet'  # frozen: a record, not a setting
