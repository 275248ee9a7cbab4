"""Careless input: a count that makes no sense, or a labeled folder whose size differs from the
generator's, gets one `error:` line on stderr and exit code 2 before any work; a deliberate resize is announced.
Also: progress in logs, the shipped-files API, and `handsoff-nb notebooks`."""
import contextlib, io, json, subprocess, sys
from pathlib import Path
import pytest
from handsoff_nb.cli import main
from handsoff_nb.core import LineLog, course_root, data_samples_dir, in_package, shipped_path
from handsoff_nb.data import shipped_labeled
from handsoff_nb.stylegan2 import shipped_generator

ROOT = Path(__file__).resolve().parent.parent


def run(argv) -> tuple:
    "`handsoff-nb argv` in this process → (exit code, stdout, stderr)."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def assert_one_error(rc, out, err, *words):
    assert rc == 2, (rc, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), err
    for w in words: assert w in lines[0], (w, lines[0])
    assert out == '', out  # nothing was done, so nothing was reported


CARELESS = {  # id → (argv after the output option, words the error must contain)
    'render --n -3': (['render', '--n', '-3'], ['--n', '-3']),
    'render --n 0': (['render', '--n', '0'], ['--n', 'positive']),
    'render --size 0': (['render', '--size', '0'], ['--size']),
    'generate --n -5': (['generate', '--n', '-5'], ['--n', '-5']),
    'generate --n 0': (['generate', '--n', '0'], ['--n']),
    'generate --n-labeled 0': (['generate', '--n-labeled', '0'], ['--n-labeled']),
    'generate --lg-steps 0': (['generate', '--lg-steps', '0'], ['--lg-steps']),
    'generate --ensemble 0': (['generate', '--ensemble', '0'], ['--ensemble']),
    'generate --refine-steps -1': (['generate', '--refine-steps', '-1'], ['--refine-steps', 'at least 0']),
    'generate --shard-size 0': (['generate', '--shard-size', '0'], ['--shard-size']),
    'generate --num-shards 0': (['generate', '--num-shards', '0'], ['--num-shards']),
    'generate --shard-index 2 --num-shards 2': (['generate', '--shard-index', '2', '--num-shards', '2'],
                                                ['--shard-index']),
    'generate --drop-frac 1.5': (['generate', '--drop-frac', '1.5'], ['--drop-frac']),
    'generate --trust-drop 1': (['generate', '--trust-drop', '1'], ['--trust-drop', '[0, 1)']),
    'demo --n -1': (['demo', '--n', '-1'], ['--n', 'at least 2']),
    'demo --n-generate 0': (['demo', '--n-generate', '0'], ['--n-generate']),
    'gan-quality --n -10': (['gan-quality', 'data_samples/toyfaces_g64.pt', '--n', '-10'], ['--n', '-10']),
    'gan-quality --n 1': (['gan-quality', 'data_samples/toyfaces_g64.pt', '--n', '1'], ['--n', 'at least 2']),
    'train-encoder --steps 0': (['train-encoder', '--steps', '0'], ['--steps']),
    'train-encoder --batch -4': (['train-encoder', '--batch', '-4'], ['--batch']),
    'train-encoder --lpips-steps -1': (['train-encoder', '--lpips-steps', '-1'], ['--lpips-steps']),
    'train-gan --steps 0': (['train-gan', '--steps', '0'], ['--steps']),
    'train-gan --batch -2': (['train-gan', '--batch', '-2'], ['--batch']),
    'train-gan --eval-n 0': (['train-gan', '--eval-n', '0'], ['--eval-n']),
    'train-gan --d-warmup -1': (['train-gan', '--d-warmup', '-1'], ['--d-warmup']),
    'benchmark --threads 0': (['benchmark', '--threads', '0'], ['--threads']),
    'benchmark --set steps=0': (['benchmark', '--set', 'steps=0'], ['steps=0']),
    'benchmark --set Ns=0,16': (['benchmark', '--set', 'Ns=0,16'], ['Ns=(0, 16)']),
    'benchmark --set test_n=-5': (['benchmark', '--set', 'test_n=-5'], ['test_n=-5']),
    'benchmark --set drop_frac=1': (['benchmark', '--set', 'drop_frac=1'], ['drop_frac']),
}
_OUT_OPT = {'benchmark': '--work'}  # where each subcommand would write


@pytest.mark.parametrize('case', list(CARELESS))
def test_careless_count_is_one_error_line_before_any_work(case, tmp_path, monkeypatch):
    argv, words = CARELESS[case]
    monkeypatch.chdir(ROOT)  # gan-quality's checkpoint path is relative to the checkout
    out = tmp_path/'out'
    rc, o, e = run(argv + [_OUT_OPT.get(argv[0], '--out'), out])
    assert_one_error(rc, o, e, *words)
    assert not out.exists(), f"{case} wrote {sorted(out.rglob('*'))}"


@pytest.fixture(scope='module')
def folder128(tmp_path_factory) -> Path:
    "A labeled folder of two 128×128 ToyFaces (the shipped generator makes 64×64)."
    d = tmp_path_factory.mktemp('lab')/'faces128'
    assert run(['render', '--n', '2', '--size', '128', '--out', d])[0] == 0
    return d


def test_labeled_folder_of_another_size_is_an_error(folder128, tmp_path):
    rc, o, e = run(['generate', '--labeled', folder128, '--out', tmp_path/'hs', '--n', '2', '--lg-steps', '1'])
    assert_one_error(rc, o, e, '128×128', '64×64', '--resize')
    assert not (tmp_path/'hs').exists()


def test_benchmark_labeled_folder_of_another_size_is_an_error(folder128, tmp_path):
    rc, o, e = run(['benchmark', '--labeled', folder128, '--work', tmp_path/'bw', '--out', tmp_path/'b.json'])
    assert_one_error(rc, o, e, '128×128', '64×64')
    assert not (tmp_path/'bw').exists()


def test_deliberate_resize_is_announced(folder128, tmp_path):
    rc, o, e = run(['generate', '--labeled', folder128, '--resize', '--out', tmp_path/'hs', '--n', '2',
                    '--lg-steps', '30', '--ensemble', '1', '--n-labeled', '2', '--device', 'cpu'])
    assert rc == 0, e
    notices = [l for l in e.splitlines() if l.startswith('notice:')]
    assert len(notices) == 1 and '128×128 to 64×64' in notices[0], e
    assert json.loads((tmp_path/'hs'/'dataset'/'dataset.json').read_text())['n_images'] == 2


def test_log_lines_in_a_redirected_command(tmp_path):
    "A subcommand's stderr redirected to a file: progress bars arrive as lines, no carriage return."
    r = subprocess.run([sys.executable, '-c', 'import sys; from handsoff_nb.cli import main; sys.exit(main())',
                        'generate', '--out', str(tmp_path/'hs'), '--n', '4', '--lg-steps', '30', '--ensemble', '1',
                        '--n-labeled', '2', '--shard-size', '2', '--refine-steps', '0', '--device', 'cpu'],
                       capture_output=True, text=True, timeout=300, cwd=ROOT, env={'OMP_NUM_THREADS': '1',
                       'PATH': '/usr/bin:/bin', 'HOME': str(tmp_path)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert '\r' not in r.stderr
    lines = r.stderr.splitlines()
    assert any(l.startswith('label generator: 100%') for l in lines), lines
    assert max(map(len, lines)) < 200, max(lines, key=len)


def test_line_log_keeps_ordinary_text_and_throttles_redraws():
    buf = io.StringIO()
    log = LineLog(buf, every=3600)
    log.write('plain text\n')
    for i in range(50): log.write(f'\rbar: {2 * i:3d}%|')
    log.write('\n')
    log.write('after\n')
    assert buf.getvalue().splitlines() == ['plain text', 'bar:   0%|', 'bar:  98%|', 'after']


def test_shipped_api_from_the_checkout():
    root = course_root()
    assert (root/'settings.ini').is_file() and data_samples_dir() == root/'data_samples'
    assert not in_package(root)  # an editable checkout: nothing is inside an installed package
    G, w_avg, cfg = shipped_generator()
    assert not G.training and shipped_labeled()['img'].shape[-1] == G.size == cfg.size
    assert shipped_path('judge').name == 'judge_unet.pt'
    with pytest.raises(FileNotFoundError, match='not shipped'): shipped_path('nothing.pt')


def test_info_names_the_course_files(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # outside the checkout: the editable install still finds it beside the package
    rc, o, e = run(['info'])
    assert rc == 0, e
    info = json.loads(o)
    assert info['installed'] is False and Path(info['course']) == ROOT and info['notebooks'] >= 18
    assert 'toyfaces_labeled' in info['shipped']


@pytest.mark.parametrize('argv', [['train-encoder', '--steps', '2']], ids=lambda a: ' '.join(a))  # refinement is pixels alone: no lpips
def test_missing_lpips_is_one_error_line_before_any_work(argv, tmp_path, monkeypatch):
    "Without the optional `lpips` package (a plain wheel install), steps that need it stop before any work."
    import handsoff_nb.cli
    monkeypatch.setattr(handsoff_nb.cli, '_has_lpips', lambda: False)
    out = tmp_path/'out'
    rc, o, e = run(argv + [_OUT_OPT.get(argv[0], '--out'), out])
    assert_one_error(rc, o, e, 'lpips')
    assert not out.exists()


@pytest.mark.parametrize('given,expected', [(None, 'PASSIVE'), ('ACTIVE', 'ACTIVE')])
def test_command_sets_the_openmp_wait_policy_unless_given(given, expected, tmp_path):
    "The console script lets idle OpenMP threads sleep (a busy core must not stall every op); a user's choice stays."
    env = {'PATH': '/usr/bin:/bin', 'HOME': str(tmp_path), 'OMP_NUM_THREADS': '1', **({'OMP_WAIT_POLICY': given} if given else {})}
    r = subprocess.run([sys.executable, '-c', 'import sys; from handsoff_nb.cli import main; sys.exit(main())', 'info'],
                       capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)['omp_wait_policy'] == expected


def _image_folder(d, n=3, size=40):
    "A folder of `n` small RGB PNGs of a non-square-friendly size."
    from PIL import Image
    import numpy as np
    d.mkdir()
    for i in range(n):
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (size, size + 8, 3), dtype=np.uint8)).save(d/f'{i}.png')
    return d


@pytest.mark.parametrize('cmd', ['train-gan', 'train-encoder'])
def test_data_folder_errors_are_one_line_before_any_work(cmd, tmp_path):
    "An empty, missing or unreadable `--data` folder: one `error:` line naming it, exit 2, nothing written."
    empty = tmp_path/'empty'; empty.mkdir()
    bad = tmp_path/'bad'; bad.mkdir(); (bad/'x.png').write_text('not an image')
    for d, words in [(empty, ['no .png']), (tmp_path/'missing', ['no such folder']), (bad, ['x.png'])]:
        out = tmp_path/f'out_{d.name}'
        rc, o, e = run([cmd, '--data', d, '--out', out, '--steps', '1'])
        errs = [l for l in e.splitlines() if l.startswith('error: ')]  # a load progress bar may come first
        assert rc == 2 and len(errs) == 1 and e.splitlines()[-1] == errs[0] and 'Traceback' not in e, (rc, e)
        for w in words: assert w in errs[0], (w, e)
        assert not (out/'last.pt').exists() and not (out/'regression').exists()


def test_train_gan_warm_start_from_a_generator_file(tmp_path):
    "`train-gan --init G.pt`: G and g_ema start from the file, D trains alone for `--d-warmup` steps; a missing file is one error."
    import torch
    from handsoff_nb.stylegan2 import GenConfig, make_generator, save_generator
    G0 = make_generator(GenConfig.tiny())
    ck = save_generator(G0, tmp_path/'g.pt', GenConfig.tiny())
    d = _image_folder(tmp_path/'imgs', size=32)
    rc, o, e = run(['train-gan', '--init', ck, '--data', d, '--out', tmp_path/'run', '--steps', '3', '--batch', '2',
                    '--d-warmup', '2', '--eval-every', '0'])
    assert rc == 0, e
    st = torch_load(tmp_path/'run'/'last.pt')
    tc = st['train_config']
    assert (tc['init'], tc['d_warmup'], tc['ema_rampup']) == (str(ck), 2, None)
    assert [('g_loss' in r) for r in json.loads(st['log'])] == [False, False, True]
    assert st['config']['size'] == 32  # the warm start's architecture, not --config's
    w = G0.state_dict()['to_rgb1.conv.weight']
    assert not torch.equal(st['g_ema']['to_rgb1.conv.weight'], w)  # one G step moved the EMA ...
    assert (st['g_ema']['to_rgb1.conv.weight'] - w).abs().max() < 0.05  # ... from the file's weights, not random ones
    rc, o, e = run(['train-gan', '--init', tmp_path/'nope.pt', '--data', d, '--out', tmp_path/'run2', '--steps', '1'])
    assert_one_error(rc, o, e, 'nope.pt')
    assert not (tmp_path/'run2'/'last.pt').exists()


def test_train_encoder_tunes_on_a_data_folder(tmp_path):
    "`train-encoder --data DIR` runs eq. (6b) on the folder's images and says so in the encoder file."
    from handsoff_nb.inversion import load_encoder
    from handsoff_nb.stylegan2 import GenConfig, make_generator, save_generator
    ck = save_generator(make_generator(GenConfig.tiny()), tmp_path/'g.pt', GenConfig.tiny())
    d = _image_folder(tmp_path/'imgs')
    rc, o, e = run(['train-encoder', ck, '--data', d, '--out', tmp_path/'enc', '--steps', '2', '--batch', '2',
                    '--lpips-steps', '2'])
    assert rc == 0, e
    assert 'LPIPS tuning on 3 real images from' in o
    ck_e = torch_load(tmp_path/'enc'/'encoder_tuned.pt')
    assert ck_e['extra']['tuned_on'].startswith('3 real images') and load_encoder(tmp_path/'enc'/'encoder_tuned.pt')


def torch_load(p):
    import torch
    return torch.load(p, weights_only=True)


def test_train_encoder_offset_stage_on_a_data_folder(tmp_path):
    "`train-encoder --offset-layer K` adds eq. (6c)'s stage: an encoder file whose head predicts block K's offset."
    from handsoff_nb.inversion import load_encoder
    from handsoff_nb.stylegan2 import GenConfig, make_generator, save_generator
    ck = save_generator(make_generator(GenConfig.tiny()), tmp_path/'g.pt', GenConfig.tiny())
    d = _image_folder(tmp_path/'imgs')
    rc, o, e = run(['train-encoder', ck, '--data', d, '--out', tmp_path/'enc', '--steps', '2', '--batch', '2',
                    '--lpips-steps', '0', '--offset-layer', '2', '--offset-steps', '3'])
    assert rc == 0, e
    assert 'offset tuning, eq. (6c), block 2, on 3 real images' in o
    E = load_encoder(tmp_path/'enc'/'encoder_offset.pt')
    ex = torch_load(tmp_path/'enc'/'encoder_offset.pt')['extra']
    assert E.cfg.offset_layer == 2 and E.offset_head is not None and ex['steps'] == 3 and ex['offset_layer'] == 2
    for argv, words in ((['--offset-layer', '2'], ['--data']), (['--offset-layer', '99', '--data', d], ['--offset-layer', '0..'])):
        rc, o, e = run(['train-encoder', ck, '--out', tmp_path/'bad', '--steps', '1', '--lpips-steps', '0', *argv])
        errs = [l for l in e.splitlines() if l.startswith('error: ')]
        assert rc == 2 and len(errs) == 1 and 'Traceback' not in e, (rc, e)
        for w in words: assert w in errs[0], (w, e)


# ---- suggest (09a): which images to label, one name per line; careless input → one error line
@pytest.fixture(scope='module')
def pool(tmp_path_factory):
    from handsoff_nb.suggest import POOL_SEEDS, write_pool
    return write_pool(tmp_path_factory.mktemp('pool'), POOL_SEEDS[:10])


@pytest.mark.parametrize('method', ['random', 'kmeans', 'kcenter'])
def test_suggest_prints_names_and_copies(pool, tmp_path, method):
    from handsoff_nb.suggest import suggest
    rc, out, err = run(['suggest', '--pool', pool, '--n', 4, '--method', method, '--copy-to', tmp_path/'pick'])
    assert rc == 0, err
    names = out.split('\n')[:-1]
    assert len(names) == 4 == len(set(names)) and all((pool/f'{n}.png').exists() for n in names)
    assert names == suggest(pool, 4, method=method)  # the API's answer, in its order
    assert sorted(f.name for f in (tmp_path/'pick').iterdir()) == sorted(f'{n}.png' for n in names)
    rc2, out2, _ = run(['suggest', '--pool', pool, '--n', 4, '--method', method])
    assert (rc2, out2) == (0, out)  # deterministic


def test_suggest_default_is_seeded_random(pool):
    from handsoff_nb.suggest import suggest
    outs = [run(['suggest', '--pool', pool, '--n', 5, *a])[1].split() for a in ([], ['--seed', '0'], ['--seed', '1'])]
    assert outs[0] == outs[1] == suggest(pool, 5, method='random', seed=0) != outs[2]


def test_suggest_reads_images_subfolder_and_whole_pool(pool, tmp_path):
    import shutil
    shutil.copytree(pool, tmp_path/'lab'/'images')
    rc, out, err = run(['suggest', '--pool', tmp_path/'lab', '--n', 10])
    assert rc == 0 and sorted(out.split()) == sorted(f.stem for f in pool.iterdir())


@pytest.mark.parametrize('argv, words', [
    (['--n', '0'], ['--n', 'positive']),
    (['--n', '-2'], ['--n', '-2']),
    (['--n', '11'], ['asked for 11', 'only 10']),
])
def test_suggest_careless_counts(pool, argv, words):
    assert_one_error(*run(['suggest', '--pool', pool, *argv]), *words)


def test_suggest_missing_or_empty_pool(tmp_path):
    assert_one_error(*run(['suggest', '--pool', tmp_path/'nowhere', '--n', 2]), 'nowhere', 'no such folder')
    (tmp_path/'empty').mkdir()
    assert_one_error(*run(['suggest', '--pool', tmp_path/'empty', '--n', 2]), 'no images')
    (tmp_path/'bad').mkdir(); (tmp_path/'bad'/'x.png').write_text('not a png')
    assert_one_error(*run(['suggest', '--pool', tmp_path/'bad', '--n', 1, '--method', 'kmeans']), 'x.png', 'cannot read')
