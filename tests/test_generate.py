"Dense tests of `handsoff_nb.generate`: a real SIGKILL mid-run, resume, determinism, bad settings."
import hashlib, json, os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pytest, torch
from handsoff_nb.generate import (generate_dataset, keep_mask, latents_for, image_seed, shard_done, work_part,
                                  save_preview, show_preview, PREVIEW_COLS, fingerprint)

SCRIPT = textwrap.dedent('''
    import sys, time, torch
    from handsoff_nb.stylegan2 import GenConfig, make_generator
    from handsoff_nb.generate import generate_dataset
    torch.manual_seed(0); torch.set_num_threads(1)
    G = make_generator(GenConfig.tiny()).eval()
    with torch.no_grad(): w_avg = G.mean_latent(256)
    def labeler(ws):  # a deterministic labeler; slow on purpose so the run can be killed midway
        time.sleep(float(sys.argv[2]))
        with torch.no_grad(): img = G.synthesis(ws, randomize_noise=False).clamp(-1, 1)
        return dict(img=img, mask=(img[:, 0] > 0).long(), score=img.std((1, 2, 3)))
    generate_dataset(G, labeler, sys.argv[1], n=60, w_avg=w_avg, seed=1, shard_size=10, batch_size=5,
                     drop_frac=.2, progress=False)
''')

def run(tmp:Path, out:Path, delay:float=0., **kw):
    f = tmp/'gen.py'; f.write_text(SCRIPT)
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    return subprocess.Popen([sys.executable, str(f), str(out), str(delay)], env=env, **kw)

def digest(d:Path) -> dict:
    return {str(f.relative_to(d)): hashlib.sha1(f.read_bytes()).hexdigest() for f in sorted(d.rglob('*')) if f.is_file()}

def test_sigkill_then_resume_gives_the_same_dataset(tmp_path):
    ref = tmp_path/'ref'; assert run(tmp_path, ref).wait(120) == 0
    out = tmp_path/'killed'
    p = run(tmp_path, out, delay=0.3)
    t0 = time.time()
    while not shard_done(out, 1) and time.time() - t0 < 60: time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    done = [k for k in range(6) if shard_done(out, k)]
    assert 2 <= len(done) < 6, done                      # killed in the middle of the run
    assert not (out/'dataset.json').exists()
    before = {k: v for k, v in digest(out).items() if k.startswith(tuple(f'shard_00000{k}/' for k in done))}
    mtimes = {k: (out/f'shard_{k:06d}'/'manifest.json').stat().st_mtime_ns for k in done}
    assert run(tmp_path, out).wait(120) == 0             # the same command resumes
    after = digest(out)
    assert {k: after[k] for k in before} == before       # finished shards untouched...
    assert mtimes == {k: (out/f'shard_{k:06d}'/'manifest.json').stat().st_mtime_ns for k in done}  # ...not rewritten
    assert after == digest(ref)                          # and the result equals an uninterrupted run
    assert not list(out.glob('.*tmp*'))                  # no partial files left
    idx = json.loads((out/'dataset.json').read_text())
    assert idx['complete'] and idx['n_images'] == 60 and idx['n_kept'] == 48

def test_rerun_with_other_settings_is_refused(tmp_path):
    torch.manual_seed(0)
    from handsoff_nb.stylegan2 import GenConfig, make_generator
    G = make_generator(GenConfig.tiny()).eval()
    lab = lambda ws: dict(img=torch.zeros(len(ws), 3, 32, 32), mask=torch.zeros(len(ws), 32, 32, dtype=torch.long),
                          score=torch.arange(len(ws)).float())
    w_avg = torch.zeros(1, G.style_dim)
    generate_dataset(G, lab, tmp_path, n=8, w_avg=w_avg, shard_size=4, progress=False)
    with pytest.raises(ValueError, match='other settings'):
        generate_dataset(G, lab, tmp_path, n=8, w_avg=w_avg, shard_size=4, seed=5, progress=False)

def test_latents_are_per_image_and_seeded():
    torch.manual_seed(0)
    from handsoff_nb.stylegan2 import GenConfig, make_generator
    G = make_generator(GenConfig.tiny()).eval()
    w_avg = torch.zeros(1, G.style_dim)
    a = latents_for(G, [image_seed(2, i) for i in range(4)], w_avg)
    b = latents_for(G, [image_seed(2, i) for i in range(4)], w_avg)
    assert torch.equal(a, b)
    assert not torch.allclose(a, latents_for(G, [image_seed(3, i) for i in range(4)], w_avg))
    torch.testing.assert_close(latents_for(G, [image_seed(2, 3)], w_avg), a[3:], atol=1e-5, rtol=0)

def test_keep_mask_and_work_part():
    s = torch.tensor([.5, .1, .9, .3, .7])
    assert keep_mask(s, .4).tolist() == [True, True, False, True, False]
    assert keep_mask(s, 0).all()
    with pytest.raises(ValueError): keep_mask(s, 1.)
    assert work_part(3, 2) == (3, 2)
    with pytest.raises(ValueError, match='shard index'): work_part(2, 5)


def test_preview_has_column_titles_a_legend_and_overlays(tmp_path):
    from handsoff_nb.core import CLASSES, KEYPOINTS, overlay
    from handsoff_nb.data import render_toyfaces
    b = render_toyfaces(range(3), 32)
    fig = show_preview(b, n=3)
    assert [a.get_title() for a in fig.axes[:4]] == list(PREVIEW_COLS)  # the first group's titles
    assert [a.get_title() for a in fig.axes[4:8]] == list(PREVIEW_COLS)  # and the second's
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(CLASSES) + list(KEYPOINTS)
    shown = fig.axes[1].get_images()[0].get_array()
    assert (shown == overlay(b['img'][0], b['mask'][0], alpha=0.45)).all()  # column 2: the mask over the image
    f = save_preview({k: v for k, v in b.items() if k != 'depth'}, tmp_path/'p.png', n=2)
    assert f.exists() and f.stat().st_size > 1000


def test_fingerprint_tells_models_apart():
    from handsoff_nb.stylegan2 import GenConfig, make_generator
    torch.manual_seed(0); a = make_generator(GenConfig.tiny())
    torch.manual_seed(0); b = make_generator(GenConfig.tiny())
    assert fingerprint(a) == fingerprint(b) and fingerprint(a, None) == fingerprint(a)
    with torch.no_grad(): next(b.parameters()).add_(1e-3)
    assert fingerprint(a) != fingerprint(b)
