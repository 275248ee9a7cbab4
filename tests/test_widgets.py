"Dense tests of `handsoff_nb.widgets`: the widget logic, driven without a browser."
import numpy as np
import pytest
import torch

pytest.importorskip('ipywidgets')
from handsoff_nb.core import data_samples_dir
from handsoff_nb.data import load_labeled_folder, labeled_samples_path
from handsoff_nb.generate import LGLabeler
from handsoff_nb.inversion import make_encoder
from handsoff_nb.label_generator import LGConfig, make_label_generator
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.widgets import (LAYER_GROUPS, InversionViewer, LatentExplorer, compose,
                                 edit_latent, label_panels, layer_rows, pca_directions, seed_w)

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def gen():
    G, w_avg, _ = load_generator(data_samples_dir()/'toyfaces_g64.pt')
    return G.eval(), w_avg


@pytest.fixture(scope='module')
def few(gen):
    d = load_labeled_folder(labeled_samples_path(), size=gen[0].size)
    return {k: (v[:4] if torch.is_tensor(v) or k == 'names' else v) for k, v in d.items()}


@pytest.fixture(scope='module')
def labeler(gen, few):
    "An untrained label generator: real shapes and plumbing, no training time."
    G = gen[0]
    labels = {k: few[k] for k in ('mask', 'kps', 'depth')}
    lg = make_label_generator(LGConfig.for_generator(G, labels, ensemble_size=2)).eval()
    return LGLabeler(G, lg)


@pytest.fixture(scope='module')
def explorer(gen):
    return LatentExplorer(gen[0], gen[1], seed=3, n_samples=4096)


def _reset(ex):
    ex.seed.value, ex.psi.value, ex.layers.value = 3, .7, 'all'
    for c in ex.coeffs: c.value = 0.


@pytest.mark.parametrize('control, value',
                         [('psi', .3), ('seed', 4), ('coeff0', 1.5), ('coeff3', -2.)])
def test_slider_changes_png(explorer, control, value):
    _reset(explorer)
    coeff = control.startswith('coeff')
    w = explorer.coeffs[int(control[-1])] if coeff else getattr(explorer, control)
    png0, n0 = explorer.image.value, len(explorer.times)
    w.value = value  # what a mouse drag does: the observer fires `update`
    assert explorer.image.value != png0
    assert explorer.image.value[:4] == b'\x89PNG'
    assert len(explorer.times) == n0 + 1 and explorer.times[-1] > 0
    w.value = {'psi': .7, 'seed': 3}.get(control, 0.)
    assert explorer.image.value == png0  # back to the start: the same bytes


def test_layer_toggle_matters_only_with_an_edit(explorer):
    _reset(explorer)
    png0 = explorer.image.value
    explorer.layers.value = 'fine'
    assert explorer.image.value == png0  # c = 0: nothing to move, whichever rows
    explorer.coeffs[0].value = 3.
    fine = explorer.image.value
    explorer.layers.value = 'coarse'
    assert explorer.image.value not in (fine, png0)
    _reset(explorer)


@pytest.mark.parametrize('seed', [0, 7, 123456])
def test_identity_latent_is_exactly_mapped(explorer, gen, seed):
    G = gen[0]
    z = torch.randn(G.style_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad(): w = G.mapping(z[None])
    for g in LAYER_GROUPS:
        ws = explorer.latent(seed, 1., [0.] * len(explorer.coeffs), g)
        assert ws.shape == (1, G.n_latent, G.style_dim)
        assert torch.equal(ws, w[:, None].expand(1, G.n_latent, -1))


def test_truncation_endpoints(explorer, gen):
    G, w_avg = gen
    ws = explorer.latent(5, 0., [0.] * len(explorer.coeffs))
    mean = w_avg.reshape(1, 1, -1).expand(1, G.n_latent, -1)
    torch.testing.assert_close(ws, mean, atol=1e-5, rtol=0)
    half = explorer.latent(5, .5, [0.] * len(explorer.coeffs))
    torch.testing.assert_close(half[0, 0], (w_avg[0] + seed_w(G, 5)[0]) / 2, atol=1e-5, rtol=0)


@pytest.mark.parametrize('group', LAYER_GROUPS)
def test_layer_selection_changes_only_chosen_rows(explorer, gen, group):
    G = gen[0]
    c = [1.5, -1., .5, 2.][:len(explorer.coeffs)]
    base = explorer.latent(11, .7, [0.] * len(c), group)
    ws = explorer.latent(11, .7, c, group)
    rows = set(layer_rows(G.n_latent, group))
    changed = {r for r in range(G.n_latent) if not torch.equal(ws[0, r], base[0, r])}
    assert changed == rows and rows
    delta = (torch.tensor(c) * explorer.sigma) @ explorer.V
    for r in rows: torch.testing.assert_close(ws[0, r] - base[0, r], delta, atol=1e-5, rtol=0)


@pytest.mark.parametrize('n_latent', [3, 4, 10, 14, 18])
def test_layer_groups_partition_rows(n_latent):
    thirds = [list(layer_rows(n_latent, g)) for g in ('coarse', 'middle', 'fine')]
    assert sum(thirds, []) == list(range(n_latent))  # disjoint, ordered, covering
    assert all(len(t) >= 1 for t in thirds)
    assert list(layer_rows(n_latent, 'all')) == list(range(n_latent))
    with pytest.raises(ValueError, match='layers must be'): layer_rows(n_latent, 'everything')


def test_pca_directions(gen):
    V, sigma = pca_directions(gen[0], k=6, n=4096)
    torch.testing.assert_close(V @ V.T, torch.eye(6), atol=1e-4, rtol=0)
    assert (sigma[:-1] >= sigma[1:]).all() and (sigma > 0).all()
    V2, sigma2 = pca_directions(gen[0], k=6, n=4096)
    assert torch.equal(V, V2) and torch.equal(sigma, sigma2)  # seeded, signs fixed
    assert (V.gather(1, V.abs().argmax(1, keepdim=True)) > 0).all()


def test_edit_latent_rows_and_scale():
    V, sigma = torch.eye(3, 8), torch.tensor([2., 1., .5])
    w = torch.zeros(1, 8)
    ws = edit_latent(w, 5, V, sigma, [1., 0., -2.], range(1, 3))
    expect = torch.zeros(5, 8)
    expect[1:3, 0], expect[1:3, 2] = 2., -1.
    assert torch.equal(ws[0], expect)


def test_explorer_with_labeler_renders_all_panels(gen, labeler):
    ex = LatentExplorer(gen[0], gen[1], labeler, n_pca=2, seed=1, n_samples=1024)
    r = ex.render(ex.latent(**ex.state()))
    assert list(r['panels']) == ['image', 'labels', 'depth', 'uncertainty']
    assert all(a.shape == (64, 64, 3) and a.dtype == np.uint8 for a in r['panels'].values())
    assert r['out']['kps'].shape == (1, 5, 3)
    assert 'uncertainty score' in ex.status.value
    png0 = ex.image.value
    ex.psi.value = .2
    assert ex.image.value != png0


def test_label_panels_and_compose():
    img = torch.zeros(1, 3, 8, 8)
    mask = torch.zeros(1, 8, 8, dtype=torch.long)
    mask[0, 2:4, 2:4] = 1
    p = label_panels(dict(img=img, mask=mask, depth=torch.rand(1, 1, 8, 8)))
    assert list(p) == ['image', 'labels', 'depth']
    assert (p['labels'] != p['image']).any(axis=-1).sum() == 4  # only the 4 labelled pixels are tinted
    plain = compose(p, scale=2, gap=4, title_h=10)
    assert plain.shape == (10 + 16, 3 * 16 + 2 * 4, 3)
    big = compose(p, scale=6, gap=4, title_h=10)
    with_kp = compose(p, kps=torch.tensor([[3., 2., 1.]]), scale=6, gap=4, title_h=10)
    changed = np.argwhere((with_kp != big).any(-1)) - [10, 0]  # (row, col) in the first panel
    assert len(changed) and (changed[:, 1] < 48).all()        # only on the first panel
    # centred on pixel (x=3, y=2): rows 12..17, columns 18..23 at scale 6
    np.testing.assert_allclose(changed.mean(0), [2.5 * 6, 3.5 * 6], atol=0.75)


def test_inversion_viewer_shapes(gen, few, labeler):
    G = gen[0]
    E = make_encoder(G, w_avg=gen[1])
    iv = InversionViewer(G, E, few, labeler, refine_steps=2)
    assert [n for n, _ in iv.pick.options] == few['names']
    v = iv.view(1)
    assert list(v['panels']) == ['x', 'x labels', 'E(x)', 'E(x) labels']
    assert all(a.shape == (G.size, G.size, 3) and a.dtype == np.uint8 for a in v['panels'].values())
    x_u8 = ((few['img'][1].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()
    assert np.array_equal(v['panels']['x'], x_u8)
    s = v['scores']['E(x)']
    assert 0 <= s['miou'] <= 1 and s['mse'] > 0
    png0 = iv.image.value
    iv.pick.value = 2
    assert iv.image.value != png0
    ws = iv.refine(steps=2)
    assert ws.shape == (1, G.n_latent, G.style_dim)
    assert iv.refine(2, 2) is ws  # cached
    v2 = iv.view(2)
    assert list(v2['panels'])[-2:] == ['refined 2', 'refined 2 labels']
    assert v2['scores']['refined 2']['mse'] != v2['scores']['E(x)']['mse']
    assert list(iv.view(1)['panels']) == list(v['panels'])  # other images are unaffected


def test_inversion_viewer_without_labeler(gen, few):
    G = gen[0]
    iv = InversionViewer(G, make_encoder(G, w_avg=gen[1]), few)
    v = iv.view(0)
    assert list(v['panels']) == ['x', 'x labels', 'E(x)']
    assert set(v['scores']['E(x)']) == {'mse'}


def test_torch_threads_restores():
    from handsoff_nb.widgets import torch_threads
    torch.set_num_threads(1)
    with torch_threads(2): assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 1
    with torch_threads(None): assert torch.get_num_threads() == 1
    with pytest.raises(RuntimeError):
        with torch_threads(2): raise RuntimeError('inside')
    assert torch.get_num_threads() == 1


def test_inversion_viewer_upload(gen, few, labeler):
    import datetime, io
    from PIL import Image
    from handsoff_nb.data import render_toyfaces, SPLITS
    G = gen[0]
    iv = InversionViewer(G, make_encoder(G, w_avg=gen[1]), few, labeler)
    n0, png0 = len(iv.pick.options), iv.image.value
    face = render_toyfaces([SPLITS['test'][3]], 80)['img'][0]  # not square-sized to G: resized
    a = ((face.permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()
    buf = io.BytesIO(); Image.fromarray(a).save(buf, format='PNG')
    i = iv.add_image(buf.getvalue(), 'face.png')
    assert i == len(few['names']) and len(iv.pick.options) == n0 + 1
    assert iv.pick.value == i and iv.pick.label == 'face.png (upload)'
    assert iv.image.value != png0 and iv.image.value[:4] == b'\x89PNG'
    assert iv.status.value.endswith('no truth for uploads') and 'miou' not in iv.status.value
    v = iv.view(i)
    assert list(v['panels']) == ['x', 'E(x)', 'E(x) labels'] and v['truth'] is False
    assert all(p.shape == (G.size, G.size, 3) for p in v['panels'].values())
    assert iv.item(i)[0].shape == (1, 3, G.size, G.size) and iv.item(i)[1] is None
    assert iv.item(i)[0].abs().max() <= 1
    # a PIL image works too, and the labeled images keep their truth
    assert iv.add_image(Image.fromarray(a), 'pil') == i + 1
    iv.pick.value = 0
    assert 'miou' in iv.status.value and iv.view(0)['truth'] is True
    # a bad upload: a message in the status line, no new choice, no exception
    assert iv.add_image(b'%PDF-1.4 not an image', 'notes.pdf') is None
    assert 'notes.pdf' in iv.status.value and 'not an image' in iv.status.value
    assert len(iv.pick.options) == n0 + 2 and iv.pick.value == 0
    # through the FileUpload observer, as the browser does it
    iv.upload.value = ({'name': 'up.png', 'type': 'image/png', 'size': len(buf.getvalue()),
                        'content': memoryview(buf.getvalue()),
                        'last_modified': datetime.datetime.now()},)
    assert iv.pick.label == 'up.png (upload)' and len(iv.pick.options) == n0 + 3


def test_inversion_viewer_refines_an_upload(gen, few):
    G = gen[0]
    l1 = lambda x, y: (x - y).abs().mean((1, 2, 3))  # a cheap stand-in for LPIPS
    iv = InversionViewer(G, make_encoder(G, w_avg=gen[1]), few, lpips=l1)
    i = iv.add_image(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8), 'noise')
    ws = iv.refine(i, 1)
    assert ws.shape == (1, G.n_latent, G.style_dim)
    assert list(iv.view(i)['panels']) == ['x', 'E(x)', 'refined 1']


# ---- the labeling widget (09b): paint, fill, undo, save, reopen; no browser
import importlib.util, json
needs_anywidget = pytest.mark.skipif(importlib.util.find_spec('anywidget') is None, reason='anywidget not installed')


@pytest.fixture(scope='module')
def pool(tmp_path_factory):
    from handsoff_nb.suggest import POOL_SEEDS, write_pool
    return write_pool(tmp_path_factory.mktemp('pool'), POOL_SEEDS[:4])


@needs_anywidget
@pytest.mark.parametrize('r', [0, 1, 2, 5])
def test_stroke_is_union_of_disks_along_line(r):
    "Oracle: a stroke equals a brute-force union of eq. (1) disks centred on eq. (2)'s pixels."
    from handsoff_nb.labeling import LabelState, line_points
    s = LabelState(size=32)
    pts = [(3, 4), (20, 9), (20, 9), (5, 28)]
    s.paint(pts, 5, r)
    want = np.zeros((32, 32), bool)
    yy, xx = np.mgrid[:32, :32]
    for p0, p1 in zip(pts, pts[1:]):
        for x, y in line_points(p0, p1): want |= (xx - x) ** 2 + (yy - y) ** 2 <= r * r
    np.testing.assert_array_equal(s.mask == 5, want)


@needs_anywidget
def test_line_points_connected_and_symmetric():
    from handsoff_nb.labeling import line_points
    rng = np.random.default_rng(0)
    for _ in range(200):
        p0, p1 = [tuple(int(v) for v in rng.integers(-5, 70, 2)) for _ in range(2)]
        pts = line_points(p0, p1)
        assert pts[0] == p0 and pts[-1] == p1
        steps = np.abs(np.diff(np.array(pts), axis=0))
        assert (steps.max(1) <= 1).all()  # 8-connected: a 4-connected fill cannot cross it
        assert len(pts) == max(abs(p1[0] - p0[0]), abs(p1[1] - p0[1])) + 1


@needs_anywidget
def test_fill_stays_inside_a_diagonal_outline():
    "A closed outline drawn with one-pixel diagonal strokes holds a 4-connected fill."
    from handsoff_nb.labeling import LabelState
    s = LabelState(size=32)
    diamond = [(16, 4), (28, 16), (16, 28), (4, 16), (16, 4)]
    s.paint(diamond, 1, 0)
    n = s.fill(16, 16, 7)
    assert n > 0 and (s.mask[0] == 0).all() and s.mask[16, 16] == 7
    assert int((s.mask == 7).sum()) == n and s.mask[2, 2] == 0  # nothing leaked outside
    assert s.fill(0, 0, 0) == 0  # same class: nothing to do
    assert s.fill(99, 0, 3) == 0  # off the image


@needs_anywidget
def test_undo_restores_every_step():
    from handsoff_nb.labeling import LabelState
    s = LabelState(size=16, max_undo=3)
    states = []
    for c in (1, 2, 3, 4):
        states.append((s.mask.copy(), s.kps.copy()))
        s.paint([(c, c)], c, 0) if c < 4 else s.place(0, 1.5, 2.5, False)
    for m, k in reversed(states[1:]):  # only the last 3 are kept
        assert s.undo()
        np.testing.assert_array_equal(s.mask, m); np.testing.assert_array_equal(s.kps, k)
    assert not s.undo()


@needs_anywidget
def test_canvas_messages_and_sync():
    from handsoff_nb.labeling import MaskCanvas
    cv = MaskCanvas(size=8, scale=4)
    assert cv.mask == bytes(64) and len(cv.kps) == 5 and len(cv.palette) == 8
    assert cv.handle(dict(event='stroke', points=[[0, 0], [7, 7]], cls=3, radius=0))
    m = np.frombuffer(cv.mask, np.uint8).reshape(8, 8)
    np.testing.assert_array_equal(m, np.eye(8, dtype=np.uint8) * 3)
    assert cv.handle(dict(event='fill', x=7, y=0, cls=1))
    assert np.frombuffer(cv.mask, np.uint8).reshape(8, 8)[0, 7] == 1
    assert np.frombuffer(cv.mask, np.uint8).reshape(8, 8)[7, 0] == 0  # the diagonal closes the upper triangle
    assert cv.handle(dict(event='keypoint', k=1, x=2.25, y=3.5, visible=True))
    assert cv.kps[1] == [2.25, 3.5, 1.0]
    assert not cv.handle(dict(event='nonsense'))
    assert cv.undo() and cv.kps[1] == [0., 0., 0.]


@needs_anywidget
def test_painter_saves_reopens_and_continues(pool, tmp_path):
    from handsoff_nb.labeling import LabelPainter, truth_suggestion, labeled_names
    from handsoff_nb.suggest import toyface_truth
    out = tmp_path/'labels'
    p = LabelPainter(pool, out, suggestion=truth_suggestion)
    names = p.names
    assert p.i == 0 and p.start == 'suggestion'
    p.pick_class(4)
    assert p.canvas.cls == 4
    p.tool.value = 'erase'; p.pick_class(2)
    assert p.tool.value == 'paint'  # picking a class goes back to painting
    p.brush.value = 0
    p.canvas.handle(dict(event='stroke', points=[[1, 1], [1, 5]], cls=p.canvas.cls, radius=p.canvas.brush))
    p.save_next()
    assert labeled_names(out) == [names[0]] and p.i == 1
    p.skip()  # leave image 1 unlabeled
    p.save_next()  # saves image 2 → opens image 3
    assert p.i == 3
    # reopen: continues at the first unlabeled image (1), and image 0 shows what was saved
    q = LabelPainter(pool, out, suggestion=truth_suggestion)
    assert q.i == 1 and q.start == 'suggestion'
    q.show(0)
    truth = toyface_truth([names[0]])['mask'][0].numpy()
    assert q.start == 'saved' and (q.canvas.labels.mask[1:6, 1] == 2).all()
    assert (q.canvas.labels.mask != truth).sum() == ((truth[1:6, 1] != 2)).sum()
    q.show(0, saved=False)  # reset: back to the suggestion
    np.testing.assert_array_equal(q.canvas.labels.mask, truth)
    q.show(1)
    assert q.accept_rest() == 2  # images 1 and 3
    assert labeled_names(out) == sorted(names)
    got = load_labeled_folder(out)
    assert got['meta']['n_images'] == 4 and got['kps'].shape == (4, 5, 3)
    assert json.loads((out/'meta.json').read_text())['provenance']['tool'].endswith('LabelPainter')


@needs_anywidget
def test_interrupted_save_is_repaired(pool, tmp_path):
    from handsoff_nb.labeling import LabelPainter, labeled_names
    out = tmp_path/'labels'
    p = LabelPainter(pool, out)
    assert p.start == 'blank' and int(p.canvas.labels.mask.sum()) == 0
    p.save_next()
    # a kernel killed mid-save: the labels of the next image written, its image not; and a temporary file
    nm = p.names[1]
    (out/'masks'/f'{nm}.png').write_bytes((out/'masks'/f'{p.names[0]}.png').read_bytes())
    (out/'images'/f'.{nm}.png.tmp').write_bytes(b'half')
    with pytest.raises(ValueError): load_labeled_folder(out)
    q = LabelPainter(pool, out)
    assert sorted(f.name for f in q.repaired) == [f'.{nm}.png.tmp', f'{nm}.png']
    assert q.i == 1 and labeled_names(out) == [p.names[0]]
    assert len(load_labeled_folder(out)['img']) == 1


@needs_anywidget
def test_painter_names_order_and_errors(pool, tmp_path):
    from handsoff_nb.labeling import LabelPainter
    from handsoff_nb.suggest import read_pool
    img, names = read_pool(pool, 64)
    p = LabelPainter((img, names), tmp_path/'x', names=[names[2], names[0]])
    assert p.names == [names[2], names[0]] and torch.equal(p.img[0], img[2])
    with pytest.raises(ValueError, match='not in the pool'): LabelPainter(pool, tmp_path/'y', names=['nope'])


@needs_anywidget
def test_judge_suggestion_is_a_mask(pool):
    from handsoff_nb.labeling import judge_suggestion
    from handsoff_nb.suggest import read_pool, toyface_truth
    img, names = read_pool(pool, 64)
    m = judge_suggestion()(img[0], names[0])['mask']
    truth = toyface_truth(names[:1])['mask'][0]
    assert m.shape == (64, 64) and (m == truth).float().mean() > 0.8  # the judge is a good start
