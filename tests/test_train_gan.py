"GAN training loop: losses, interrupt safety and resumption, checkpoint format."
import math
import pytest
import torch
from handsoff_nb.stylegan2 import GenConfig, load_generator
from handsoff_nb.train_gan import (TrainConfig, train_gan, load_state, d_logistic_loss, g_nonsaturating_loss,
                                   d_r1_penalty, atomic_save)

CFG = GenConfig.tiny()

def batches(start=0, b=2):
    g = torch.Generator().manual_seed(start)
    while True: yield torch.rand(b, 3, CFG.size, CFG.size, generator=g) * 2 - 1

def interrupting(after, b=2):
    it = batches(0, b)
    for i in range(after): yield next(it)
    raise KeyboardInterrupt

def test_losses_match_hand_values():
    r, f = torch.tensor([[0.]]), torch.tensor([[0.]])
    assert math.isclose(d_logistic_loss(r, f).item(), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(g_nonsaturating_loss(f).item(), math.log(2), rel_tol=1e-6)
    x = torch.randn(3, 3, 4, 4, requires_grad=True)
    pred = (x * 3).sum((1, 2, 3))
    assert math.isclose(d_r1_penalty(pred, x).item(), 9 * 48, rel_tol=1e-5)

def test_interrupt_keeps_progress_and_resume_finishes(tmp_path):
    tc = TrainConfig(steps=5, batch=2, ckpt_every=100, sample_every=100, d_reg_every=2)
    with pytest.raises(KeyboardInterrupt):
        train_gan(interrupting(3), CFG, tc, tmp_path, 'cpu', progress=False)
    assert load_state(tmp_path/'last.pt', 'cpu').step == 3  # saved on the way out
    s = train_gan(batches(), tc=tc, out_dir=tmp_path, device='cpu', progress=False)
    assert s.step == 5 and [o['step'] for o in s.log] == [1, 2, 3, 4, 5]
    assert not (tmp_path/'last.pt.tmp').exists()

def test_checkpoint_is_rosinality_layout(tmp_path):
    train_gan(batches(), CFG, TrainConfig(steps=1, batch=2), tmp_path, 'cpu', progress=False)
    ck = torch.load(tmp_path/'last.pt', weights_only=True)
    assert {'g', 'd', 'g_ema', 'g_optim', 'd_optim'} <= set(ck)
    G, _, cfg = load_generator(tmp_path/'last.pt')  # loads through the rosinality path
    assert cfg.size == CFG.size and cfg.style_dim == CFG.style_dim

def test_seeded_runs_are_identical(tmp_path):
    tc = TrainConfig(steps=2, batch=2, d_reg_every=2)
    a = train_gan(batches(), CFG, tc, tmp_path/'a', 'cpu', progress=False)
    b = train_gan(batches(), CFG, tc, tmp_path/'b', 'cpu', progress=False)
    for (k, va), vb in zip(a.g_ema.state_dict().items(), b.g_ema.state_dict().values()):
        assert torch.allclose(va, vb, atol=1e-6), k

def test_atomic_save_leaves_old_file_on_failure(tmp_path):
    p = tmp_path/'x.pt'; atomic_save({'a': torch.zeros(1)}, p)
    with pytest.raises(Exception): atomic_save({'a': lambda: 0}, p)  # unpicklable
    assert torch.load(p, weights_only=True)['a'].shape == (1,)

def test_new_nested_out_dir_gets_sample_grids(tmp_path):
    out = tmp_path/'new'/'run'  # does not exist yet: the first sample grid must not crash the run
    train_gan(batches(), CFG, TrainConfig(steps=2, batch=2, sample_every=1, ckpt_every=100), out, 'cpu',
              progress=False)
    assert sorted(p.name for p in out.glob('samples_*.png')) == ['samples_000001.png', 'samples_000002.png']
