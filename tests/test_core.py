"Course profiles: settings.ini and the built-in presets must agree; errors are clear."
import configparser
from dataclasses import fields
from pathlib import Path
import pytest
import torch
from handsoff_nb import core
from handsoff_nb.core import Profile, load_profile, img2tensor, tensor2img, atomic_save

ROOT = Path(__file__).resolve().parent.parent

@pytest.mark.parametrize('name', ['cpu', 'gpu', 'test'])
def test_ini_matches_builtin(name):
    from_ini = load_profile(name, ROOT/'settings.ini')
    builtin = Profile(name=name, **core._PRESETS[name])
    assert from_ini == builtin, f"settings.ini [{name}] and core._PRESETS drifted apart"

def test_env_selects_profile(monkeypatch, tmp_path):
    monkeypatch.setenv('HANDSOFF_PROFILE', 'test')
    monkeypatch.chdir(tmp_path)  # no settings.ini here or above: presets or the package's ini
    assert load_profile().resolution == 32

def test_missing_key_is_named(tmp_path):
    cp = configparser.ConfigParser(); cp.read(ROOT/'settings.ini')
    cp.remove_option('cpu', 'gan_steps')
    with open(tmp_path/'settings.ini', 'w') as f: cp.write(f)
    with pytest.raises(ValueError, match='gan_steps'): load_profile('cpu', tmp_path/'settings.ini')

def test_unknown_key_is_named(tmp_path):
    cp = configparser.ConfigParser(); cp.read(ROOT/'settings.ini')
    cp.set('cpu', 'colour', '3')
    with open(tmp_path/'settings.ini', 'w') as f: cp.write(f)
    with pytest.raises(ValueError, match='colour'): load_profile('cpu', tmp_path/'settings.ini')

def test_image_round_trip_and_errors():
    u = torch.randint(0, 256, (5, 7, 3), dtype=torch.uint8).numpy()
    assert (tensor2img(img2tensor(u)) == u).all()
    with pytest.raises(ValueError, match='RGB'): img2tensor(u[..., 0])


def test_atomic_save_leaves_old_file_on_failure(tmp_path):
    p = tmp_path/'x.pt'; atomic_save({'a': torch.zeros(1)}, p)
    with pytest.raises(Exception): atomic_save({'a': lambda: 0}, p)  # unpicklable
    assert torch.load(p, weights_only=True)['a'].shape == (1,)


def test_shared_helpers_keep_their_old_addresses():
    "`atomic_save` and `confusion` moved down into `core`; the modules they came from still export them."
    from handsoff_nb import quality, train_gan
    assert train_gan.atomic_save is core.atomic_save
    assert quality.confusion is core.confusion and quality.iou_from_confusion is core.iou_from_confusion
