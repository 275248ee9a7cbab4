"tools/gpu_check.sh: without CUDA it says so in its one JSON line and exits 0 (the CPU side of the GPU check)."
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _check(tmp_path, *args, **env):
    env = {**os.environ, 'PYTHON': sys.executable, 'CUDA_VISIBLE_DEVICES': '', **env}  # no GPU, even on a GPU box
    return subprocess.run(['bash', str(ROOT/'tools'/'gpu_check.sh'), *args], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path)

def test_skips_cleanly_without_cuda(tmp_path):
    r = _check(tmp_path, str(tmp_path/'res'/'gpu.json'))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {'skipped': 'no CUDA'}
    assert json.loads((tmp_path/'res'/'gpu.json').read_text()) == {'skipped': 'no CUDA'}

def test_writes_into_OUT_when_no_path_is_given(tmp_path):
    r = _check(tmp_path, OUT=str(tmp_path/'out'))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '{"skipped": "no CUDA"}'
    assert json.loads((tmp_path/'out'/'gpu_check.json').read_text()) == {'skipped': 'no CUDA'}
