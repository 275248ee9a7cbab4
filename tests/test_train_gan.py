"GAN training loop: losses, interrupt safety and resumption, checkpoint format."
import math
import pytest
import torch
from handsoff_nb.stylegan2 import GenConfig, load_generator
from handsoff_nb.train_gan import (TrainConfig, train_gan, load_state, new_state, d_step, g_step,
                                   d_logistic_loss, g_nonsaturating_loss, d_r1_penalty)

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

def test_new_nested_out_dir_gets_sample_grids(tmp_path):
    out = tmp_path/'new'/'run'  # does not exist yet: the first sample grid must not crash the run
    train_gan(batches(), CFG, TrainConfig(steps=2, batch=2, sample_every=1, ckpt_every=100), out, 'cpu',
              progress=False)
    assert sorted(p.name for p in out.glob('samples_*.png')) == ['samples_000001.png', 'samples_000002.png']

# ---------------------------------------------------------------- the step never waits for the device

def _step(s, real):
    out = {**d_step(s, real), **g_step(s, len(real), real.device)}; s.step += 1
    return out

def test_step_reads_no_loss_back(monkeypatch):
    "`d_step`/`g_step` never read a value out of the autograd graph (`.item()` etc.: a device wait on a GPU)."
    s = new_state(CFG, TrainConfig(batch=2, d_reg_every=1, mixing=0.9), 'cpu')
    real = next(batches())
    for name in ('item', 'tolist', '__float__', '__bool__'):
        orig = getattr(torch.Tensor, name)
        def guard(self, *a, _orig=orig, _name=name):
            assert self.grad_fn is None, f"`{_name}` read a loss back inside the step"
            return _orig(self, *a)
        monkeypatch.setattr(torch.Tensor, name, guard)
    out = _step(s, real)
    monkeypatch.undo()
    assert set(out) == {'d_loss', 'r1', 'g_loss'}
    assert all(isinstance(v, torch.Tensor) and v.grad_fn is None and v.ndim == 0 for v in out.values())

def test_log_every_moves_only_the_reading(tmp_path):
    "Losses read every step or every few steps: the same log, in the checkpoints too, also after Ctrl-C."
    tc = TrainConfig(steps=5, batch=2, d_reg_every=2, mixing=0.9, ckpt_every=2, sample_every=100)
    strip = lambda log: [{k: v for k, v in o.items() if k != 'sec'} for o in log]
    a = train_gan(batches(), CFG, tc, tmp_path/'a', 'cpu', progress=False, log_every=1)
    b = train_gan(batches(), CFG, tc, tmp_path/'b', 'cpu', progress=False, log_every=3)
    assert strip(a.log) == strip(b.log) and [o['step'] for o in b.log] == [1, 2, 3, 4, 5]
    assert set(b.log[2]) == {'step', 'sec', 'd_loss', 'r1', 'g_loss'} and isinstance(b.log[2]['r1'], float)
    assert strip(load_state(tmp_path/'b'/'last.pt', 'cpu').log) == strip(a.log)
    with pytest.raises(KeyboardInterrupt):
        train_gan(interrupting(3), CFG, tc, tmp_path/'c', 'cpu', progress=False, log_every=10)
    assert strip(load_state(tmp_path/'c'/'last.pt', 'cpu').log) == strip(a.log)[:3]

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_train_step_never_waits():
    "On a GPU, 16 steps (one lazy R1, style mixing on) run with CUDA's sync debug mode set to 'error'."
    s = new_state(CFG, TrainConfig(batch=4, d_reg_every=16, mixing=0.9), 'cuda')
    real = torch.rand(4, 3, CFG.size, CFG.size, device='cuda') * 2 - 1
    _step(s, real); torch.cuda.synchronize()  # first step: optimiser state is created
    torch.cuda.set_sync_debug_mode('error')
    try:
        for _ in range(16): out = _step(s, real)
    finally: torch.cuda.set_sync_debug_mode(0)
    assert all(v.is_cuda and torch.isfinite(v) for v in out.values())
