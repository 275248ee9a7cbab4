"""From N labels to a segmenter, end to end through the command line with the shipped models: `generate` →
`train-segmenter` (fine-tuned on the labeled few) → `predict` on images nobody labeled; and one clear error for
each kind of bad input. Also the label multiplier (eq. 3 of 08a) on hand-made curves."""
import contextlib, io, json
from pathlib import Path
import pytest
import torch
from handsoff_nb.cli import main
from handsoff_nb.data import load_labeled_folder, save_labeled_folder, render_toyfaces
from handsoff_nb.evaluate import load_generated, predict
from handsoff_nb.segmenter import label_multiplier, load_segmenter, read_images


def run(argv) -> tuple:
    "`handsoff-nb argv` in this process → (exit code, stdout, stderr)."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope='module')
def made(tmp_path_factory):
    "A small HandsOff dataset of the shipped generator, and a segmenter trained on it then fine-tuned on 4 labels."
    d = tmp_path_factory.mktemp('seg')
    rc, out, err = run(['--profile', 'test', 'generate', '--out', d/'hs', '--n', 12, '--n-labeled', 4,
                        '--refine-steps', 2, '--lg-steps', 2, '--ensemble', 1, '--shard-size', 6])
    assert rc == 0, err
    rc, out, err = run(['train-segmenter', d/'hs', '--labeled', 'data_samples/toyfaces_labeled', '--n-labeled', 4,
                        '--steps', 4, '--ft-steps', 2, '--batch', 4, '--out', d/'seg'])
    assert rc == 0, err
    return d, out


def test_train_segmenter_saves_provenance_and_held_out_scores(made):
    d, out = made
    net, info = load_segmenter(d/'seg'/'segmenter.pt', 'cpu')
    assert (info['size'], info['n_labeled'], info['ft_steps'], info['steps']) == (64, 4, 2, 4)
    assert info['n_generated'] == len(load_labeled_folder(d/'hs'/'dataset'/'shard_000000')['img']) + \
        len(load_labeled_folder(d/'hs'/'dataset'/'shard_000001')['img'])
    assert info['test'] == 'toyfaces' and 0 <= info['scores']['miou'] <= 1 and 'pck' in info['scores']
    assert json.loads((d/'seg'/'segmenter.json').read_text()) == info
    assert 'fine-tuned on 4 labeled' in out and 'held-out (toyfaces): mIoU' in out


def test_predict_labels_new_images(made, tmp_path):
    d, _ = made
    new = render_toyfaces(range(2_000_900, 2_000_905), 64)
    save_labeled_folder({'img': new['img'], 'mask': new['mask']}, tmp_path/'new')
    rc, out, err = run(['predict', d/'seg'/'segmenter.pt', tmp_path/'new'/'images', '--out', tmp_path/'pred'])
    assert rc == 0, err
    pred = load_labeled_folder(tmp_path/'pred')
    assert pred['img'].shape == (5, 3, 64, 64) and pred['mask'].shape == (5, 64, 64)
    assert pred['kps'].shape == (5, 5, 3) and pred['depth'].shape == (5, 1, 64, 64)
    assert torch.allclose(pred['img'], new['img'], atol=1 / 127)  # the images are copied alongside their labels
    assert (tmp_path/'pred'/'predictions.png').stat().st_size > 1000
    rc2, _, err2 = run(['predict', d/'seg'/'segmenter.pt', tmp_path/'new', '--out', tmp_path/'pred'])
    assert rc2 == 0, err2  # a rerun overwrites: a prediction is reproducible


def test_resume_skips_the_first_stage(made, tmp_path):
    d, _ = made
    before = (d/'seg'/'stage1.pt').stat().st_mtime_ns
    rc, _, err = run(['train-segmenter', d/'hs', '--steps', 4, '--batch', 4, '--test', 'none', '--out', d/'seg'])
    assert rc == 0, err
    assert (d/'seg'/'stage1.pt').stat().st_mtime_ns == before
    _, info = load_segmenter(d/'seg'/'segmenter.pt', 'cpu')
    assert info['n_labeled'] is None and info['scores'] is None


def test_generate_with_a_segmenter(made, tmp_path):
    "Eq. (4) of 08a: `generate --segmenter` labels new samples of G with the trained segmenter."
    d, _ = made
    seg = d/'seg'/'segmenter.pt'
    rc, _, err = run(['generate', '--segmenter', seg, '--out', tmp_path/'rl', '--n', 6, '--shard-size', 3])
    assert rc == 0, err
    idx = json.loads((tmp_path/'rl'/'dataset'/'dataset.json').read_text())
    assert idx['complete'] and idx['n_images'] == 6
    ds = load_generated(tmp_path/'rl')
    assert ds['kps'].shape[1:] == (5, 3) and ds['depth'].shape[1:] == (1, 64, 64)
    agree = (predict(load_segmenter(seg, 'cpu')[0], ds['img'])['mask'] == ds['mask']).float().mean()
    assert agree > 0.95, agree  # the saved masks are the segmenter's (up to the images' 8-bit rounding)
    _one_error(*run(['generate', '--segmenter', seg, '--labeled', d, '--out', tmp_path/'x'])[::2], 'leave out')
    _one_error(*run(['generate', '--segmenter', tmp_path/'none.pt', '--out', tmp_path/'x'])[::2], 'no such segmenter')


def test_an_ensemble_of_members_trains_predicts_and_labels_g(made, tmp_path):
    "Eq. (5) of 08a: `train-segmenter --members 2` averages two seeds; `predict` and `generate --segmenter` read it."
    d, _ = made
    rc, out, err = run(['train-segmenter', d/'hs', '--labeled', 'data_samples/toyfaces_labeled', '--n-labeled', 4,
                        '--steps', 4, '--ft-steps', 2, '--batch', 4, '--members', 2, '--out', tmp_path/'ens'])
    assert rc == 0, err
    assert '2 members averaged' in out
    ens, info = load_segmenter(tmp_path/'ens'/'segmenter.pt', 'cpu')
    assert info['members'] == 2 and len(ens.nets) == 2
    a, b = (torch.load(f/'stage1.pt', weights_only=True)['state_dict'] for f in (d/'seg', tmp_path/'ens'))
    assert all(torch.equal(a[k], b[k]) for k in a)  # member 0 has the single segmenter's seed and first stage
    assert not torch.equal(ens.nets[0].seg.weight, ens.nets[1].seg.weight)  # member 1 trained with seed 1
    x = render_toyfaces(range(2_000_900, 2_000_903), 64)['img']
    with torch.no_grad():
        p = torch.stack([m(x)['logits'].softmax(1) for m in ens.nets]).mean(0)
        assert torch.allclose(ens(x)['logits'].exp(), p, atol=1e-5)
    rc, _, err = run(['predict', tmp_path/'ens'/'segmenter.pt', d/'hs'/'dataset'/'shard_000000', '--out', tmp_path/'p'])
    assert rc == 0, err
    want = predict(ens, load_labeled_folder(d/'hs'/'dataset'/'shard_000000')['img'])['mask']
    assert (load_labeled_folder(tmp_path/'p')['mask'] == want).float().mean() > 0.95
    rc, _, err = run(['generate', '--segmenter', tmp_path/'ens'/'segmenter.pt', '--out', tmp_path/'rl', '--n', 3])
    assert rc == 0, err
    assert load_generated(tmp_path/'rl')['mask'].shape == (3, 64, 64)
    _one_error(*run(['train-segmenter', d/'hs', '--members', 0])[::2], '--members')


def _one_error(rc, err, *words):
    assert rc == 2 and len(err.splitlines()) == 1 and err.startswith('error: '), (rc, err)
    for w in words: assert w in err, (w, err)


def test_bad_input_is_one_error_line(made, tmp_path):
    d, _ = made
    _one_error(*run(['train-segmenter', tmp_path, '--out', tmp_path/'s'])[::2], 'dataset.json')
    _one_error(*run(['train-segmenter', d/'hs', '--n-labeled', 0])[::2], '--n-labeled')
    _one_error(*run(['train-segmenter', d/'hs', '--ft-lr', 0])[::2], '--ft-lr')
    big = render_toyfaces(range(3), 32)
    save_labeled_folder(big, tmp_path/'small')
    _one_error(*run(['train-segmenter', d/'hs', '--labeled', tmp_path/'small', '--out', tmp_path/'s'])[::2],
               '32×32', '64×64')
    _one_error(*run(['predict', d/'hs'/'label_generator.pt', tmp_path/'small', '--out', tmp_path/'p'])[::2],
               'not a segmenter file')
    _one_error(*run(['predict', d/'seg'/'segmenter.pt', tmp_path/'small', '--out', tmp_path/'p'])[::2],
               '--resize')
    _one_error(*run(['predict', d/'seg'/'segmenter.pt', tmp_path/'missing', '--out', tmp_path/'p'])[::2],
               'no such folder')
    (tmp_path/'junk').mkdir(); (tmp_path/'junk'/'a.png').write_text('not an image')
    _one_error(*run(['predict', d/'seg'/'segmenter.pt', tmp_path/'junk', '--out', tmp_path/'p'])[::2],
               'not a readable image')
    rc, _, err = run(['predict', d/'seg'/'segmenter.pt', tmp_path/'small', '--resize', '--out', tmp_path/'p'])
    assert rc == 0, err


def test_read_images_takes_a_folder_or_its_images(tmp_path):
    save_labeled_folder(render_toyfaces(range(2), 32), tmp_path/'f')
    a, na = read_images(tmp_path/'f', 32)
    b, nb = read_images(tmp_path/'f'/'images', 32)
    assert torch.equal(a, b) and na == nb == ['0000', '0001']


def test_label_multiplier_interpolates_in_log_n():
    s = {'few-shot': {'2': {'miou': [0.2, 0]}, '4': {'miou': [0.4, 0]}, '16': {'miou': [0.8, 0]},
                      '50': {'miou': [0.9, 0]}},
         'handsoff+ft': {'2': {'miou': [0.3, 0]}, '4': {'miou': [0.6, 0]}, '16': {'miou': [0.95, 0]}}}
    m2, m4, m16 = (label_multiplier(s, n) for n in (2, 4, 16))
    assert abs(m2['n_equiv'] - 2 ** 1.5) < 1e-9 and abs(m2['multiplier'] - 2 ** 0.5) < 1e-9
    assert abs(m4['n_equiv'] - 8) < 1e-9 and not m4['lower_bound']
    assert m16 == dict(n_equiv=50, multiplier=50 / 16, lower_bound=True, upper_bound=False)
    worse = {'few-shot': s['few-shot'], 'handsoff+ft': {'4': {'miou': [0.1, 0]}}}
    w = label_multiplier(worse, 4)
    assert w['multiplier'] == 0.5 and w['upper_bound']  # below the curve: at most its smallest N
