"The GAN report tells a trained generator from an untrained one, on every number it reports."
import torch
import pytest
from handsoff_nb.core import data_samples_dir
from handsoff_nb.quality import gan_quality, load_unet, judge_path, area_distance
from handsoff_nb.stylegan2 import load_generator, make_generator


@pytest.fixture(scope='module')
def reports():
    torch.manual_seed(0)
    judge = load_unet(judge_path(), 'cpu').eval()
    G, _, cfg = load_generator(data_samples_dir()/'toyfaces_g64.pt')
    rand = make_generator(cfg).eval()  # the same architecture, randomly initialised
    return {name: gan_quality(g.eval(), judge, n=200) for name, g in [('shipped', G), ('random', rand)]}


def test_random_generator_worse_on_every_number(reports):
    s, r = reports['shipped'], reports['random']
    assert s['fd_gan_real'] < r['fd_gan_real']
    assert s['area_gan_real'] < r['area_gan_real']
    assert s['complete_fake'] > r['complete_fake']


def test_real_vs_real_is_the_floor(reports):
    s = reports['shipped']
    assert s['fd_real_real'] < s['fd_gan_real'] and s['area_real_real'] < s['area_gan_real']


def test_area_distance():
    a = torch.rand(500, 8) * 0.1
    assert area_distance(a, a) == 0
    expect = (0.05 / a.mean(0)).mean().item()  # a shift by δ moves every quantile by δ: δ / mean area
    assert abs(area_distance(a + 0.05, a) - expect) < 1e-4 * expect
