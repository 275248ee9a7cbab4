"Every exercise checker: True on a reference solution, False on a plausible wrong answer, None on None."
import contextlib, io, math
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from handsoff_nb import exercises as ex
from handsoff_nb.exercises import CHECKERS, checker, expect, expect_close

torch.set_num_threads(1)


# ---- reference solutions (kept out of the notebooks, so students do not see them) ----
def _render_mask(seed, size):
    from handsoff_nb.data import render_toyfaces
    return render_toyfaces([seed], size)['mask']


def _mask_disagreement():
    m128, m32 = _render_mask(0, 128), _render_mask(0, 32)
    down = F.interpolate(m128[None].float(), size=32, mode='nearest-exact')[0].long()
    return (down != m32).float().mean().item()


def _floor_count():
    u = np.arange(256, dtype=np.uint8)
    x = torch.from_numpy(u).float() / 127.5 - 1
    return int((((x + 1) * 127.5).floor() != torch.arange(256)).sum())


def _glasses():
    from handsoff_nb.data import SPLITS, face_params
    return int(face_params(SPLITS['labeled'])['glasses'].sum())


def _rarest():
    from handsoff_nb.core import CLASSES
    from handsoff_nb.data import SPLITS, render_toyfaces
    m = render_toyfaces(SPLITS['test'][:256], 64)['mask']
    return CLASSES[int(torch.bincount(m.flatten(), minlength=8).argmin())]


def _resize_kps(kps, old, new):
    out = kps.clone()
    out[:, :2] = (kps[:, :2] + .5) * new / old - .5
    return out


def _size_from_keys(sd):
    return 2 ** (len({k.split('.')[1] for k in sd if k.startswith('to_rgbs.')}) + 2)


def _modw(weight, s):
    w = weight * s[:, None, :, None, None]
    return w / (w.pow(2).sum((2, 3, 4), keepdim=True) + 1e-8).sqrt()


def _iou(cm):
    tp = cm.diag().double()
    union = cm.sum(0).double() + cm.sum(1).double() - tp
    return tp / union  # 0/0 = NaN for absent classes


def _fd1(a, b):
    return float((a.mean() - b.mean()) ** 2 + (a.std() - b.std()) ** 2)


def _lr(t, lr=0.1, up=0.05, down=0.25):
    return lr * min(1., t / up) * (0.5 - 0.5 * math.cos(math.pi * min(1., (1 - t) / down)))


def _unit(f):
    return f / (f.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)


def _lpips_layer(fx, fy, w):
    return ((_unit(fx) - _unit(fy)).pow(2) * w[:, None, None]).sum(1).mean((1, 2))


def _hc(feats, size):
    return torch.cat([F.interpolate(f, size=size, mode='bilinear', align_corners=False)
                      for f in feats], 1)


def _ent(p, dim):
    return -(p * p.clamp_min(1e-12).log()).sum(dim)


def _mi(probs):
    return _ent(probs.mean(0), 1) - _ent(probs, 2).mean(0)


def _score(unc, top):
    k = max(1, round(top * unc[0].numel()))
    return unc.flatten(1).topk(k, 1).values.mean(1)


def _edit(w, n_latent, V, sigma, coeffs, rows):
    ws = w[:, None].repeat(1, n_latent, 1)
    ws[:, list(rows)] += (torch.tensor(coeffs) * sigma) @ V
    return ws


def _pck(pred, true, size, alpha):
    vis = true[..., 2] > .5
    d = (pred - true[..., :2]).norm(dim=-1)
    return float((d[vis] <= alpha * size).double().mean())


@checker
def _power(answer):
    expect(not (isinstance(answer, (int, float)) and answer == 20), "that is 2·10, not 2¹⁰")
    expect_close(answer, 1024, 'your power', rel=0)
    return "2¹⁰ = 1024"


RIGHT = {
    'check_img2tensor': lambda u: torch.from_numpy(u).permute(2, 0, 1).float() / 127.5 - 1,
    'check_floor_roundtrip': _floor_count,
    'check_pixel_centres': lambda size: (torch.arange(size) * 2 + 1) / size - 1,
    'check_mask_disagreement': _mask_disagreement,
    'check_glasses_count': _glasses,
    'check_rarest_class': _rarest,
    'check_resize_keypoints': _resize_kps,
    'check_depth_step': lambda: 5 / 65535 / 2,
    'check_n_latent': lambda size: 2 * int(math.log2(size)) - 2,
    'check_truncation': lambda w, w_avg, psi: w_avg + psi * (w - w_avg),
    'check_modulated_weight': _modw,
    'check_d_loss': lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(),
    'check_r1_weight': lambda: 10 / 2 * 16,
    'check_ema_decay': lambda: 0.5 ** (16 / 10_000),
    'check_size_from_keys': _size_from_keys,
    'check_noise_buffers': lambda: 7,
    'check_iou': _iou,
    'check_frechet_1d': _fd1,
    'check_lr_schedule': _lr,
    'check_regression_loss': lambda a, b, s: ((a - b) / s[:, None]).pow(2).mean(),
    'check_unit_normalize': _unit,
    'check_lpips_layer': _lpips_layer,
    'check_hypercolumns': _hc,
    'check_hc_channels': lambda: 64 * 3 + 64 * 2 + 32 * 2,
    'check_ensemble_mi': _mi,
    'check_uncertainty_score': _score,
    'check_image_seed': lambda: 3_000_000_021,
    'check_drop_count': lambda: 12,
    'check_layer_rows': lambda: range(3, 7),
    'check_edit_latent': _edit,
    'check_flip_permutation': lambda: (1, 0, 2, 4, 3),
    'check_pck': _pck,
    'check_render_seeds': lambda: range(2_000_000, 2_000_008),
    'check_exit_code': lambda: 2,
    'check_my_checker': _power,
}
FUNCTION_ANSWERS = {'check_img2tensor', 'check_pixel_centres', 'check_resize_keypoints',
                    'check_n_latent', 'check_truncation', 'check_modulated_weight', 'check_d_loss',
                    'check_size_from_keys', 'check_iou', 'check_frechet_1d', 'check_lr_schedule',
                    'check_regression_loss', 'check_unit_normalize', 'check_lpips_layer',
                    'check_hypercolumns', 'check_ensemble_mi', 'check_uncertainty_score',
                    'check_edit_latent', 'check_pck', 'check_my_checker'}

WRONG = {  # plausible mistakes, each aimed at one hint
    'check_img2tensor': lambda u: torch.from_numpy(u).float() / 127.5 - 1,  # channels last
    'check_floor_roundtrip': 0,
    'check_pixel_centres': lambda size: torch.linspace(-1, 1, size),  # edges
    'check_mask_disagreement': 0.0,
    'check_glasses_count': 0,
    'check_rarest_class': 'eye',
    'check_resize_keypoints': lambda kps, old, new: kps * torch.tensor([new / old, new / old, 1.]),
    'check_depth_step': 5 / 65535,
    'check_n_latent': lambda size: int(math.log2(size)),
    'check_truncation': lambda w, w_avg, psi: psi * w,
    'check_modulated_weight': lambda weight, s: weight * s[:, None, :, None, None],
    'check_d_loss': lambda r, f: F.softplus(r).mean() + F.softplus(-f).mean(),  # swapped
    'check_r1_weight': 5.0,
    'check_ema_decay': 1 - 0.5 ** (16 / 10_000),
    'check_size_from_keys': lambda sd: len({k.split('.')[1] for k in sd if k.startswith('to_rgbs.')}),
    'check_noise_buffers': 8,
    'check_iou': lambda cm: cm.diag() / cm.sum(1),  # recall
    'check_frechet_1d': lambda a, b: float((a.mean() - b.mean()) ** 2
                                           + (a.std(unbiased=False) - b.std(unbiased=False)) ** 2),
    'check_lr_schedule': lambda t: 0.1,
    'check_regression_loss': lambda a, b, s: (a - b).pow(2).mean(),
    'check_unit_normalize': lambda f: f / f.norm(dim=(2, 3), keepdim=True),
    'check_lpips_layer': lambda fx, fy, w: ((fx - fy).pow(2) * w[:, None, None]).sum(1).mean((1, 2)),
    'check_hypercolumns': lambda feats, size: torch.cat([F.interpolate(f, size) for f in feats], 1),
    'check_hc_channels': 7,
    'check_ensemble_mi': lambda p: _ent(p.mean(0), 1),
    'check_uncertainty_score': lambda unc, top: unc.flatten(1).mean(1),
    'check_image_seed': 321,
    'check_drop_count': 13,
    'check_layer_rows': [3, 4, 5],
    'check_edit_latent': lambda w, n, V, sigma, c, rows: _edit(w, n, V, sigma, c, range(n)),
    'check_flip_permutation': range(5),
    'check_pck': lambda pred, true, size, alpha: float(((pred - true[..., :2]).norm(dim=-1)
                                                        <= alpha * size).double().mean()),
    'check_render_seeds': range(8),
    'check_exit_code': 1,
    'check_my_checker': ex.check_glasses_count,  # a checker, but for another question
}

NAMES = [f.__name__ for fs in CHECKERS.values() for f in fs]


def test_every_checker_has_solutions():
    assert set(NAMES) == set(RIGHT) == set(WRONG)
    public = {n for n in dir(ex) if n.startswith('check_')}
    assert public == set(NAMES), public ^ set(NAMES)


def _quiet(fn, answer):
    with contextlib.redirect_stdout(io.StringIO()) as out: v = fn(answer)
    return v, out.getvalue()


@pytest.mark.parametrize('name', NAMES)
def test_checker(name):
    chk = getattr(ex, name)
    right = RIGHT[name] if name in FUNCTION_ANSWERS else RIGHT[name]()
    v, out = _quiet(chk, right)
    assert v is True and out.startswith('✓ correct'), out
    v, out = _quiet(chk, WRONG[name])
    assert v is False and out.startswith('✗ not yet'), out
    v, out = _quiet(chk, None)
    assert v is None and out.strip() == 'not answered yet'


def test_checker_survives_a_crashing_answer():
    v, out = _quiet(ex.check_truncation, lambda w, w_avg, psi: 1 / 0)
    assert v is False and 'ZeroDivisionError' in out
