"""The widget in a real browser (issue 7, part 2): JupyterLab + headless Chromium driven by Playwright.

Starts JupyterLab (localhost only, token off, `--allow-root` as root) on a tiny notebook that shows a
`LatentExplorer`, opens it in the system Chromium (`/usr/bin/chromium`, no browser download), runs all
cells, drags a PCA slider and asserts the widget's picture changed. Screenshots go to
`runs/browser_test/` (or `$HANDSOFF_ARTIFACTS`). Skipped, with the reason, when Chromium, the `playwright`
package or `jupyterlab` is missing.

Status: a skeleton. It has not yet run anywhere (no Chromium, Playwright or JupyterLab where it was written),
so the selectors (`.widget-image`, `.noUi-handle`) and the JupyterLab command are unverified.
"""
import importlib.util, json, os, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
ARTIFACTS = Path(os.environ.get('HANDSOFF_ARTIFACTS', ROOT/'runs'/'browser_test'))


def _missing() -> str | None:
    "Why this test cannot run here, or None."
    if not Path(CHROMIUM).is_file(): return f"no Chromium at {CHROMIUM} (Debian package `chromium`; set $CHROMIUM)"
    for mod in ('playwright', 'jupyterlab', 'ipykernel', 'ipywidgets'):
        if importlib.util.find_spec(mod) is None: return f"Python package `{mod}` not installed"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))

DEMO = f"""import torch
torch.set_num_threads(1)
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.widgets import LatentExplorer
G, w_avg, _ = load_generator({str(ROOT/'data_samples'/'toyfaces_g64.pt')!r})
ex = LatentExplorer(G, w_avg, seed=3, n_pca=2)
ex"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _write_demo(d:Path) -> Path:
    nb = dict(nbformat=4, nbformat_minor=5, metadata=dict(kernelspec=dict(name='python3', display_name='Python 3',
                                                                          language='python')),
              cells=[dict(cell_type='code', id='demo', metadata={}, execution_count=None, outputs=[], source=DEMO)])
    (d/'widget_demo.ipynb').write_text(json.dumps(nb))
    return d/'widget_demo.ipynb'


@pytest.fixture
def lab(tmp_path):
    "A JupyterLab server on a free localhost port, serving `tmp_path`; stopped afterwards."
    _write_demo(tmp_path)
    port = _free_port()
    cmd = [sys.executable, '-m', 'jupyter', 'lab', '--no-browser', f'--ServerApp.port={port}',
           '--ServerApp.ip=127.0.0.1', "--ServerApp.token=", "--ServerApp.password=",
           f'--ServerApp.root_dir={tmp_path}', '--LabApp.expose_app_in_browser=True']
    if hasattr(os, 'geteuid') and os.geteuid() == 0: cmd.append('--allow-root')
    log = open(tmp_path/'jupyter.log', 'w')
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                            env={**os.environ, 'OMP_NUM_THREADS': '1'})
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):
            if proc.poll() is not None: break
            try:
                if urllib.request.urlopen(f'{url}/api/status', timeout=1).status == 200: break
            except OSError: time.sleep(0.5)
        else: pytest.fail(f"JupyterLab did not answer in 60 s; log: {tmp_path/'jupyter.log'}")
        if proc.poll() is not None: pytest.fail(f"JupyterLab exited: {(tmp_path/'jupyter.log').read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        try: proc.wait(15)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
        log.close()


def test_slider_changes_picture_in_browser(lab):
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=['--no-sandbox'])
        try:
            page = browser.new_page(viewport=dict(width=1280, height=900))
            page.goto(f'{lab}/lab/tree/widget_demo.ipynb')
            page.wait_for_function('() => window.jupyterapp !== undefined', timeout=60_000)
            page.wait_for_selector('.jp-Notebook', timeout=60_000)
            page.wait_for_timeout(2_000)  # let the kernel start
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            img = page.wait_for_selector('.widget-image', timeout=120_000)
            page.wait_for_function("() => (document.querySelector('.widget-image').src || '').length > 0")
            before_src, before = img.get_attribute('src'), img.screenshot(path=str(ARTIFACTS/'before.png'))
            handle = page.locator('.noUi-handle').nth(1)  # 0: ψ, 1: the first PCA direction
            box = handle.bounding_box()
            page.mouse.move(box['x'] + box['width'] / 2, box['y'] + box['height'] / 2)
            page.mouse.down()
            page.mouse.move(box['x'] + box['width'] / 2 + 80, box['y'] + box['height'] / 2, steps=5)
            page.mouse.up()
            page.wait_for_function("(old) => document.querySelector('.widget-image').src !== old",
                                   arg=before_src, timeout=30_000)
            page.wait_for_timeout(500)
            after = img.screenshot(path=str(ARTIFACTS/'after.png'))
            page.screenshot(path=str(ARTIFACTS/'page.png'))
        finally:
            browser.close()
    assert before != after, f"the picture did not change; see {ARTIFACTS}"
