"ToyFaces: determinism, label consistency, labeled-folder round trips and errors, shipped samples."
import json, shutil
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image
from handsoff_nb.core import CLASSES, KEYPOINTS
from handsoff_nb.data import (SPLITS, ToyFaces, toyfaces_loader, render_toyfaces, render_params,
                              face_params, save_labeled_folder, load_labeled_folder,
                              make_labeled_samples, labeled_samples_path, LabeledFolderError)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT/'data_samples'/'toyfaces_labeled'


# ---------------------------------------------------------------- rendering
@pytest.mark.parametrize('size', [32, 64, 37])
def test_determinism_across_batch_composition(size):
    ref = render_toyfaces(range(100, 140), size)
    for seeds in ([117], [139, 100, 117], list(range(125, 140)) + [101], [100] * 3):
        got = render_toyfaces(seeds, size)
        idx = [s - 100 for s in seeds]
        for k in ref: assert torch.equal(ref[k][idx], got[k]), (seeds, k)

def test_determinism_across_chunks_and_threads():
    ref = render_toyfaces(range(20), 32)
    one = render_params(face_params(range(20)), 32, chunk_pixels=1)  # one image per chunk
    n = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = render_toyfaces(range(20), 32)
    finally: torch.set_num_threads(n)
    for k in ref:
        assert torch.equal(ref[k], one[k]), k
        assert torch.equal(ref[k], single[k]), k

def test_same_seed_same_face_any_input_type():
    a = render_toyfaces([3, 4], 32)
    for seeds in (range(3, 5), torch.tensor([3, 4]), np.array([3, 4])):
        b = render_toyfaces(seeds, 32)
        for k in a: assert torch.equal(a[k], b[k])

def test_output_contract():
    o = render_toyfaces(range(64), 64)
    assert o['img'].shape == (64, 3, 64, 64) and o['img'].dtype == torch.float32
    assert o['mask'].shape == (64, 64, 64) and o['mask'].dtype == torch.long
    assert o['kps'].shape == (64, len(KEYPOINTS), 3) and o['depth'].shape == (64, 1, 64, 64)
    assert o['img'].min() >= -1 and o['img'].max() <= 1
    assert o['depth'].min() >= 0 and o['depth'].max() <= 1
    assert o['mask'].min() >= 0 and o['mask'].max() < len(CLASSES)
    assert set(o['kps'][..., 2].unique().tolist()) <= {0., 1.}
    assert (o['depth'][:, 0][o['mask'] > 0] < 1).all()  # every face pixel is nearer than the wall
    assert (torch.bincount(o['mask'].flatten(), minlength=len(CLASSES)) > 0).all()  # all occur

def test_keypoints_agree_with_masks():
    "Oracle: visible eye centres on eye pixels, nose tips on nose pixels, mouth corners by a mouth."
    o = render_toyfaces(SPLITS['test'][:300], 64)
    k, m = o['kps'], o['mask']
    vis = k[..., 2] > 0
    assert vis.float().mean() > 0.9
    xy = k[..., :2].round().long().clamp(0, 63)
    cls_at = m[torch.arange(len(m))[:, None], xy[..., 1], xy[..., 0]]  # (B,5)
    assert ((k[..., :2] >= -0.5) & (k[..., :2] < 63.5)).all(-1)[vis].all()
    assert (cls_at[:, :2][vis[:, :2]] == 3).float().mean() > 0.97
    assert (cls_at[:, 2][vis[:, 2]] == 2).float().mean() > 0.97
    near = torch.nn.functional.max_pool2d((m == 6).float()[:, None], 5, 1, 2)[:, 0]  # mouth ±2 px
    near_at = near[torch.arange(len(m))[:, None], xy[..., 1], xy[..., 0]][:, 3:]
    assert near_at[vis[:, 3:]].mean() > 0.97

def test_depth_shading_agree():
    "Lit from the left, a face is brighter on its left half; lit from the right, on its right half."
    p = face_params([5, 5])
    p['light_x'] = torch.tensor([-0.8, 0.8], dtype=torch.float64)
    o = render_params(p, 64)
    skin = o['mask'] == 1
    lum = o['img'].mean(1)
    cx = int(o['kps'][0, 2, 0])
    left = lambda i: lum[i, :, :cx][skin[i, :, :cx]].mean() - lum[i, :, cx:][skin[i, :, cx:]].mean()
    assert left(0) > 0.05 and left(1) < -0.05

def test_glasses_are_rare_and_eye_class():
    p = face_params(range(20_000, 25_000))
    assert 0.03 < p['glasses'].mean() < 0.05
    seeds = [20_000 + i for i in torch.nonzero(p['glasses'][:300])[:, 0].tolist()][:3]
    q = face_params(seeds)
    with_g = render_params(q, 64)
    q['glasses'][:] = 0
    without = render_params(q, 64)
    assert ((with_g['mask'] == 3).sum((1, 2)) > (without['mask'] == 3).sum((1, 2))).all()

def test_splits_disjoint_and_datasets():
    rs = list(SPLITS.values())
    for i, a in enumerate(rs):
        for b in rs[i + 1:]: assert a.stop <= b.start or b.stop <= a.start
    assert len(SPLITS['labeled']) == 50
    ds = ToyFaces('test', size=32, n=5)
    assert len(ds) == 5
    with pytest.raises(IndexError): ds[5]
    assert torch.equal(ds[2]['mask'], render_toyfaces([SPLITS['test'][2]], 32)['mask'][0])
    with pytest.raises(ValueError, match='Unknown split'): ToyFaces('nope')
    with pytest.raises(ValueError, match='n=0'): ToyFaces('labeled', n=0)
    it = toyfaces_loader('labeled', 32, batch_size=3, seed=7)
    b1, b2 = next(it), next(it)
    assert b1['img'].shape == (3, 3, 32, 32) and not torch.equal(b1['img'], b2['img'])
    again = next(toyfaces_loader('labeled', 32, batch_size=3, seed=7))
    assert torch.equal(b1['img'], again['img'])

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cpu_gpu_parity():
    a = render_toyfaces(range(32), 64)
    b = render_toyfaces(range(32), 64, device='cuda')
    assert (a['mask'] != b['mask'].cpu()).float().mean() < 1e-3
    assert (a['img'] - b['img'].cpu()).abs().max() < 1e-3 or \
           ((a['img'] - b['img'].cpu()).abs() > 1e-3).float().mean() < 1e-3


# ---------------------------------------------------------------- labeled folders
@pytest.fixture
def folder(tmp_path):
    "A valid labeled folder of 4 images (32 px) with keypoints and depth."
    save_labeled_folder(render_toyfaces(range(4), 32), tmp_path/'ok', names=['a', 'b', 'c', 'd'])
    return tmp_path/'ok'

def test_round_trip(folder):
    batch = render_toyfaces(range(4), 32)
    back = load_labeled_folder(folder)
    assert back['names'] == ['a', 'b', 'c', 'd']
    assert torch.equal(back['mask'], batch['mask'])
    assert torch.equal(back['kps'], batch['kps'])
    assert (back['img'] - batch['img']).abs().max() <= 1 / 127.5
    scale = back['meta']['depth_scale']
    assert (back['depth'] - batch['depth']).abs().max() <= scale / 2 + 1e-7
    assert back['meta']['classes'] == list(CLASSES)

def test_round_trip_without_optional_labels_and_large_depth(tmp_path):
    b = render_toyfaces(range(2), 32)
    save_labeled_folder(dict(img=b['img'], mask=b['mask']), tmp_path/'plain')
    back = load_labeled_folder(tmp_path/'plain')
    assert set(back) == {'img', 'mask', 'names', 'meta'} and back['names'] == ['0000', '0001']
    deep = dict(img=b['img'], mask=b['mask'], depth=b['depth'] * 7.5)  # metres, say
    save_labeled_folder(deep, tmp_path/'deep')
    back = load_labeled_folder(tmp_path/'deep')
    assert (back['depth'] - deep['depth']).abs().max() <= 7.5 / 65535
    with pytest.raises(FileExistsError): save_labeled_folder(deep, tmp_path/'deep')
    save_labeled_folder(deep, tmp_path/'deep', overwrite=True)

def test_resize(folder):
    full, half = load_labeled_folder(folder), load_labeled_folder(folder, size=16)
    assert half['img'].shape == (4, 3, 16, 16) and half['mask'].dtype == torch.long
    assert half['depth'].shape == (4, 1, 16, 16)
    assert torch.allclose(half['kps'][..., :2], (full['kps'][..., :2] + 0.5) / 2 - 0.5, atol=1e-5)
    assert set(half['mask'].unique().tolist()) <= set(full['mask'].unique().tolist())
    assert load_labeled_folder(folder, size=(20, 24))['img'].shape == (4, 3, 20, 24)

def _gray(f): Image.open(f).convert('L').save(f)
def _rgba(f): Image.open(f).convert('RGBA').save(f)
def _palette(f): Image.open(f).convert('P').save(f)
def _corrupt(f): f.write_bytes(b'\x89PNG\r\n\x1a\n' + b'garbage' * 20)
def _truncated(f): f.write_bytes(f.read_bytes()[:200])
def _cls9(f): Image.fromarray(np.full((32, 32), 9, np.uint8)).save(f)
def _small(f): Image.fromarray(np.zeros((16, 16), np.uint8)).save(f)
def _rgb_mask(f): Image.open(f).convert('RGB').save(f)
def _badjson(f): f.write_text('{"keypoints": [[1, 2, 1], ')
def _badshape(f): f.write_text(json.dumps({'keypoints': [[1, 2], [3, 4]]}))
def _nokey(f): f.write_text(json.dumps({'points': []}))
def _fewer(f): f.write_text(json.dumps({'keypoints': [[1, 2, 1]] * 3, 'names': ['x'] * 3}))
def _depth8(f): Image.fromarray(np.zeros((32, 32), np.uint8)).save(f)

@pytest.mark.parametrize('rel, damage, expect', [
    ('images/b.png', _gray, "image mode is 'L'"),
    ('images/b.png', _rgba, "image mode is 'RGBA'"),
    ('images/b.png', _palette, "image mode is 'P'"),
    ('images/b.png', _corrupt, 'cannot read this image'),
    ('images/b.png', _truncated, 'cannot read this image'),
    ('masks/c.png', _cls9, 'class ids [9] out of range 0..7'),
    ('masks/c.png', _small, 'mask is 16×16, its image is 32×32'),
    ('masks/c.png', _rgb_mask, "mask mode is 'RGB'"),
    ('masks/c.png', _corrupt, 'cannot read this mask'),
    ('keypoints/d.json', _badjson, 'not a keypoints JSON'),
    ('keypoints/d.json', _badshape, 'keypoints must be a list of [x, y, v]'),
    ('keypoints/d.json', _nokey, 'not a keypoints JSON'),
    ('keypoints/d.json', _fewer, '3 keypoints'),
    ('depth/a.png', _depth8, "depth mode is 'L'"),
    ('depth/a.png', _corrupt, 'cannot read this depth map'),
    ('meta.json', _badjson, 'malformed JSON'),
])
def test_damaged_file_is_named(folder, rel, damage, expect):
    damage(folder/rel)
    with pytest.raises(LabeledFolderError) as e: load_labeled_folder(folder)
    msg = str(e.value)
    assert str(folder/rel) in msg and expect in msg, msg

def test_missing_mask_names_image_and_mask(folder):
    (folder/'masks/b.png').unlink()
    with pytest.raises(LabeledFolderError, match=r'images/b\.png: no matching file masks/b\.png'):
        load_labeled_folder(folder)

def test_mask_without_image_is_named(folder):
    (folder/'images/b.png').unlink()
    with pytest.raises(LabeledFolderError, match=r'masks/b\.png: no matching image'):
        load_labeled_folder(folder)

@pytest.mark.parametrize('sub, fn', [('keypoints', 'c.json'), ('depth', 'c.png')])
def test_missing_optional_label_is_named(folder, sub, fn):
    (folder/sub/fn).unlink()
    with pytest.raises(LabeledFolderError, match=rf'images/c\.png: no matching file {sub}/{fn}'):
        load_labeled_folder(folder)

def test_image_size_mismatch_between_images(folder):
    for sub in ('images', 'masks', 'keypoints', 'depth'): shutil.rmtree(folder/sub)
    save_labeled_folder(render_toyfaces([1], 32), folder, names=['a'], overwrite=True)
    save_labeled_folder(render_toyfaces([2], 24), folder/'x', names=['b'])
    for sub in ('images', 'masks', 'keypoints', 'depth'): shutil.move(folder/'x'/sub/(
        'b.json' if sub == 'keypoints' else 'b.png'), folder/sub)
    shutil.rmtree(folder/'x')
    with pytest.raises(LabeledFolderError, match=r'images/b\.png: size \(24, 24\) differs'):
        load_labeled_folder(folder)
    assert load_labeled_folder(folder, size=32)['img'].shape == (2, 3, 32, 32)

def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(LabeledFolderError, match='images: missing folder'):
        load_labeled_folder(tmp_path)
    (tmp_path/'images').mkdir()
    with pytest.raises(LabeledFolderError, match='images: empty folder'):
        load_labeled_folder(tmp_path)

def test_masks_folder_missing(folder):
    shutil.rmtree(folder/'masks')
    with pytest.raises(LabeledFolderError, match='masks: missing folder'):
        load_labeled_folder(folder)

def test_unexpected_file_and_hidden_files(folder):
    (folder/'images/.DS_Store').write_bytes(b'x')  # hidden: ignored
    assert len(load_labeled_folder(folder)['names']) == 4
    (folder/'images/notes.txt').write_text('hi')
    with pytest.raises(LabeledFolderError, match=r'images/notes\.txt: unexpected file'):
        load_labeled_folder(folder)

def test_depth_needs_scale(folder):
    meta = json.loads((folder/'meta.json').read_text())
    del meta['depth_scale']
    (folder/'meta.json').write_text(json.dumps(meta))
    with pytest.raises(LabeledFolderError, match=r"meta\.json: needs 'depth_scale'"):
        load_labeled_folder(folder)

def test_n_classes(folder):
    m = load_labeled_folder(folder)['mask'].max().item()
    with pytest.raises(LabeledFolderError, match='out of range'):
        load_labeled_folder(folder, n_classes=m)


# ---------------------------------------------------------------- shipped samples
def test_shipped_samples_regenerate(tmp_path):
    "The shipped folder equals a fresh render: masks exactly, images within one 8-bit step."
    assert labeled_samples_path() == SHIPPED
    shipped = load_labeled_folder(SHIPPED)
    fresh = render_toyfaces(SPLITS['labeled'], 64)
    assert shipped['names'] == [f'toyface_{s}' for s in SPLITS['labeled']]
    assert torch.equal(shipped['mask'], fresh['mask'])
    assert (shipped['img'] - fresh['img']).abs().max() <= 1 / 127.5 + 1e-6
    assert torch.allclose(shipped['kps'], fresh['kps'], atol=1e-4)
    assert (shipped['depth'] - fresh['depth']).abs().max() <= 1 / 65535
    make_labeled_samples(tmp_path/'regen')
    assert (tmp_path/'regen'/'meta.json').read_text() == (SHIPPED/'meta.json').read_text()
    for sub in ('images', 'masks', 'depth'):
        for f in sorted((SHIPPED/sub).iterdir()):
            a = np.asarray(Image.open(f)).astype(int)
            b = np.asarray(Image.open(tmp_path/'regen'/sub/f.name)).astype(int)
            assert np.abs(a - b).max() <= (0 if sub == 'masks' else 1), f
    assert sum(f.stat().st_size for f in SHIPPED.rglob('*') if f.is_file()) < 1_000_000
