"""The GPU check behind `tools/gpu_check.sh`: one command, one JSON summary (printed and written to a file).

    python tools/gpu_check.py OUT.json          # what gpu_check.sh runs
    python tools/gpu_check.py --gan OUT.json    # only the GAN speed part (a child process of the above)

Without CUDA it prints {"skipped": "no CUDA"} and exits 0. With CUDA (expected about 3 minutes on one H100) it runs:
- the CUDA tests: every test whose name has `cuda` or `gpu` in the test files that skip without CUDA;
- `HANDSOFF_PROFILE=cpu handsoff-nb demo` and `handsoff-nb benchmark quick` on the GPU, timed;
- GAN training speed at the `[gpu]` profile (`gan_batch`, the `train-gan` recipe `auto_config`, `toy64s`):
  the bare step (`d_step` + `g_step`, batch on the device) after a warm-up, the same step reading its losses
  every step (`.item()`, what the step did before), `train_gan` with ToyFaces rendered on the device, and
  `train_gan` with ToyFaces rendered on the CPU (what `handsoff-nb train-gan` does today); also at batch 64;
- whether one training step waits for the device anywhere (`torch.cuda.set_sync_debug_mode('error')`);
- peak GPU memory (`torch.cuda.max_memory_allocated`) of the GAN part.
Each part runs in its own process with a time limit (in all at most about 10 minutes); logs go beside the JSON.
Exit 0 when every part passed.
"""
import json, os, re, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = 'import sys; from handsoff_nb.cli import main; sys.exit(main())'  # `handsoff-nb`, installed or not
WARMUP, STEPS = 10, 50


def cuda_tests() -> list:
    "Test files with a CUDA-only test (skipped elsewhere)."
    return sorted(str(f.relative_to(ROOT)) for f in (ROOT/'tests').glob('test_*.py')
                  if 'skipif(not torch.cuda.is_available()' in f.read_text())


def run(name:str, args:list, logs:Path, timeout:int, env:dict|None=None) -> dict:
    "Run `args` (a python command line), log its output to `logs/name.log` → rc, seconds, the tail on failure."
    t = time.time()
    try:
        r = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, **(env or {})})
        rc, text = r.returncode, r.stdout + r.stderr
    except subprocess.TimeoutExpired as e:
        rc, text = 'timeout', f"{e.stdout or ''}{e.stderr or ''}"
        text = text.decode(errors='replace') if isinstance(text, bytes) else text
    (logs/f'{name}.log').write_text(text)
    res = dict(ok=rc == 0, rc=rc, sec=round(time.time() - t, 1))
    if rc != 0: res['tail'] = text[-800:]
    print(f"[gpu_check] {name}: {'ok' if rc == 0 else 'FAILED'} ({res['sec']} s)", file=sys.stderr, flush=True)
    return res


def pytest_counts(log:str) -> dict:
    "passed/failed/skipped/error counts of pytest's closing line."
    return {k: int(n) for n, k in re.findall(r'(\d+) (passed|failed|skipped|errors?)\b', log)}


def _rate(fn, batch:int, steps:int=STEPS) -> dict:
    "Time `steps` calls of `fn` after `WARMUP`, synchronising the device around the timed block."
    import torch
    for _ in range(WARMUP): fn()
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(steps): fn()
    torch.cuda.synchronize(); sec = time.perf_counter() - t
    return dict(steps_per_s=round(steps / sec, 2), images_per_s=round(steps * batch / sec, 1))


def _train_gan_rate(gcfg, tc, batch:int, data_device:str, steps:int=STEPS) -> dict:
    "`train_gan` itself (logging, bar off) on ToyFaces rendered on `data_device`, timed after `WARMUP` steps."
    import torch
    from handsoff_nb.data import toyfaces_loader
    from handsoff_nb.train_gan import train_gan
    marks = {}
    def data(start):
        for i, b in enumerate(toyfaces_loader('gan_train', gcfg.size, batch, seed=start, device=data_device)):
            if i == WARMUP: torch.cuda.synchronize(); marks['t'] = time.perf_counter()
            yield b
    tc.steps = WARMUP + steps
    with tempfile.TemporaryDirectory() as d:
        train_gan(data, gcfg, tc, d, 'cuda', progress=False)  # returns after its last loss read: synchronised
        sec = time.perf_counter() - marks['t']
    return dict(steps_per_s=round(steps / sec, 2), images_per_s=round(steps * batch / sec, 1))


def gan_speed() -> dict:
    "GAN training speed at the `[gpu]` profile (and at batch 64), and the peak GPU memory."
    import torch
    from handsoff_nb.core import load_profile
    from handsoff_nb.stylegan2 import GenConfig
    from handsoff_nb.train_gan import auto_config, new_state, d_step, g_step
    p = load_profile('gpu')
    gcfg = GenConfig.toy64s()  # `handsoff-nb train-gan`'s default config
    res = dict(config='toy64s', profile='gpu', warmup=WARMUP, steps=STEPS, runs={})
    for batch in dict.fromkeys((p.gan_batch, 64)):
        s = new_state(gcfg, auto_config(gcfg.size, batch), 'cuda')
        real = torch.rand(batch, 3, gcfg.size, gcfg.size, device='cuda') * 2 - 1
        def step():
            out = {**d_step(s, real), **g_step(s, batch, real.device)}; s.step += 1
            return out
        def step_reading_losses(): return [v.item() for v in step().values()]  # one wait per loss
        r = dict(step=_rate(step, batch), step_reading_losses_every_step=_rate(step_reading_losses, batch))
        r['step_waits_for_device'] = _waits(lambda: [step() for _ in range(16)])  # one lazy R1 among them
        r['train_gan_data_on_gpu'] = _train_gan_rate(gcfg, auto_config(gcfg.size, batch), batch, 'cuda')
        r['train_gan_data_on_cpu'] = _train_gan_rate(gcfg, auto_config(gcfg.size, batch), batch, 'cpu')
        res['runs'][f'batch{batch}'] = r
        print(f"[gpu_check] gan batch {batch}: {json.dumps(r)}", file=sys.stderr, flush=True)
    res['peak_gpu_mem_gib'] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
    return res


def _waits(fn):
    "False if `fn` runs without a host-device synchronisation (CUDA's sync debug mode), else the error text."
    import torch
    torch.cuda.synchronize(); torch.cuda.set_sync_debug_mode('error')
    try: fn(); return False
    except RuntimeError as e: return str(e)[:300]
    finally: torch.cuda.set_sync_debug_mode(0)


def main(argv:list) -> int:
    gan_only = argv[:1] == ['--gan']
    argv = argv[1:] if gan_only else argv
    out = Path(argv[0]) if argv else Path(os.environ['OUT'])/'gpu_check.json' if os.environ.get('OUT') \
        else ROOT/'runs'/'gpu_check.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        import torch
        has_cuda = torch.cuda.is_available()
    except ImportError: has_cuda = False
    if not has_cuda: res = {'skipped': 'no CUDA'}
    elif gan_only: res = gan_speed()
    else: res = check(out)
    out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res))
    return 0 if res.get('ok', True) else 1


def check(out:Path) -> dict:
    "Every part, each in its own process → the summary."
    import torch
    t0, logs = time.time(), out.parent/'gpu_check_logs'
    logs.mkdir(exist_ok=True)
    res = dict(device=torch.cuda.get_device_name(0), torch=torch.__version__, cuda=torch.version.cuda,
               python=sys.version.split()[0])
    tmp = Path(tempfile.mkdtemp(prefix='gpu_check_'))
    files = cuda_tests()
    res['cuda_tests'] = run('cuda_tests', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-rs', *files,
                                           '-k', 'cuda or gpu'], logs, 150)
    res['cuda_tests'].update(files=files, **pytest_counts((logs/'cuda_tests.log').read_text()))
    res['demo'] = run('demo', ['-c', CLI, 'demo', '--out', str(tmp/'demo')], logs, 180, {'HANDSOFF_PROFILE': 'cpu'})
    res['benchmark_quick'] = run('benchmark_quick', ['-c', CLI, 'benchmark', 'quick', '--out',
                                                     str(tmp/'downstream_quick.json')], logs, 120)
    gan_json = tmp/'gan.json'
    res['gan'] = run('gan', [str(Path(__file__).resolve()), '--gan', str(gan_json)], logs, 150)
    if gan_json.exists(): res['gan'].update(json.loads(gan_json.read_text()))
    res['peak_gpu_mem_gib'] = res['gan'].get('peak_gpu_mem_gib')
    res['ok'] = all(res[k]['ok'] for k in ('cuda_tests', 'demo', 'benchmark_quick', 'gan')) \
        and res['cuda_tests'].get('passed', 0) > 0 and not res['cuda_tests'].get('skipped') \
        and not any(r.get('step_waits_for_device') for r in res['gan'].get('runs', {}).values())
    res['sec'] = round(time.time() - t0, 1)
    res['logs'] = str(logs)
    return res


if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
