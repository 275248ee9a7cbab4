"""The widget in a real browser: JupyterLab + headless Chromium driven by Playwright.

Starts JupyterLab (localhost only, token off, `--allow-root` as root, its own config/runtime/settings
directories) on a one-cell notebook that shows a `LatentExplorer` over the shipped
`data_samples/toyfaces_g64.pt`, opens it in the system Chromium (`/usr/bin/chromium` or `$CHROMIUM`;
Playwright's own browser download is never used), runs the notebook, drags the `PC0` slider and asserts
that the widget's picture changed: the PNG bytes behind the `<img>` and the screenshots of it.
Screenshots (`before.png`, `after.png`, `page.png`) and logs go to `runs/browser_test/`, or to
`$HANDSOFF_ARTIFACTS/browser_test/`; the test prints their paths (run pytest with `-s` to see them).
Skipped, with the reason, when Chromium or one of the Python packages `playwright`, `jupyterlab`,
`ipykernel`, `ipywidgets` is missing (`pip install -e ".[browser]"`, `apt-get install chromium`).

Verified with JupyterLab 4.6, ipywidgets 8.1 (noUiSlider sliders, `img.widget-image` with a `blob:` URL),
Playwright 1.65 and Debian's Chromium 150.
"""
import importlib.util, io, json, os, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
ARTIFACTS = (Path(os.environ['HANDSOFF_ARTIFACTS'])/'browser_test' if os.environ.get('HANDSOFF_ARTIFACTS')
             else ROOT/'runs'/'browser_test')
# Without these Chromium waits on refused connections (updates, sync, QUIC probes) on an offline machine.
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']


def _missing() -> str | None:
    "Why this test cannot run here, or None."
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (Debian package `chromium`, or set $CHROMIUM)"
    for mod in ('playwright', 'jupyterlab', 'ipykernel', 'ipywidgets'):
        if importlib.util.find_spec(mod) is None:
            return f"Python package `{mod}` not installed (pip install -e '.[browser]')"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=f"browser test: {_missing()}")

G_PATH = ROOT/'data_samples'/'toyfaces_g64.pt'
DEMO = f"""import torch
torch.set_num_threads(1)
from handsoff_nb.stylegan2 import load_generator
from handsoff_nb.widgets import LatentExplorer
G, w_avg, _ = load_generator({str(G_PATH)!r})
ex = LatentExplorer(G, w_avg, seed=3, n_pca=2)
ex"""
SIZE = (3 * 64, 3 * 64 + 12)  # the picture `compose` draws: one 64×64 panel at scale 3 under a 12 px title


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _write_demo(d:Path, source:str=DEMO, name:str='widget_demo.ipynb') -> Path:
    nb = dict(nbformat=4, nbformat_minor=5,
              metadata=dict(kernelspec=dict(name='python3', display_name='Python 3', language='python')),
              cells=[dict(cell_type='code', id='demo', metadata={}, execution_count=None, outputs=[], source=source)])
    (d/name).write_text(json.dumps(nb))
    return d/name


def _lab_env(d:Path) -> dict:
    "Environment for a JupyterLab that reads no user config, fetches no news and leaves nothing behind."
    dirs = {k: d/v for k, v in dict(JUPYTER_CONFIG_DIR='config', JUPYTER_DATA_DIR='data', JUPYTER_RUNTIME_DIR='runtime',
                                     JUPYTERLAB_SETTINGS_DIR='settings', JUPYTERLAB_WORKSPACES_DIR='workspaces',
                                     IPYTHONDIR='ipython').items()}
    for p in dirs.values(): p.mkdir(parents=True, exist_ok=True)
    notif = dirs['JUPYTERLAB_SETTINGS_DIR']/'@jupyterlab'/'apputils-extension'/'notification.jupyterlab-settings'
    notif.parent.mkdir(parents=True)
    notif.write_text(json.dumps(dict(fetchNews='false', checkForUpdates=False)))
    return {**os.environ, **{k: str(v) for k, v in dirs.items()}, 'OMP_NUM_THREADS': '1',
            'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture
def lab(tmp_path):
    "A JupyterLab server on a free localhost port, serving `tmp_path/nb`; stopped afterwards → (url, log path)."
    nbdir = tmp_path/'nb'; nbdir.mkdir()
    _write_demo(nbdir)
    yield from _serve(tmp_path, nbdir)


def _serve(tmp_path:Path, nbdir:Path):
    "Run JupyterLab on `nbdir` until the generator is closed → yields (url, log path)."
    port, logp = _free_port(), tmp_path/'jupyter.log'
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ServerApp.ip=127.0.0.1', f'--ServerApp.port={port}',
           '--ServerApp.port_retries=0', '--IdentityProvider.token=', '--ServerApp.password=',
           f'--ServerApp.root_dir={nbdir}', '--LabApp.expose_app_in_browser=True', '--LabApp.news_url=None',
           '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
    if hasattr(os, 'geteuid') and os.geteuid() == 0: cmd.append('--allow-root')
    log = open(logp, 'w')
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=nbdir, env=_lab_env(tmp_path),
                            start_new_session=True)  # its kernels are in its own process group: stopped with it
    url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None: pytest.fail(f"JupyterLab exited ({proc.returncode}):\n{logp.read_text()[-3000:]}")
            try:
                if urllib.request.urlopen(f'{url}/api/status', timeout=2).status == 200: break
            except OSError: pass
            if time.monotonic() > deadline: pytest.fail(f"JupyterLab did not answer in 90 s:\n{logp.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, logp
    finally:
        proc.terminate()
        try: proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9); proc.wait()
        log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(logp, ARTIFACTS/'jupyter.log')


# JS predicates, evaluated in the page.
KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && !!w.content && w.content.widgets.length > 0;
}"""
# 'image' once the widget's picture is loaded; 'error: …' when the cell printed a traceback; else null
WIDGET_OR_ERROR = """() => {
  const img = document.querySelector('.jp-OutputArea img.widget-image');
  if (img && img.complete && img.naturalWidth > 0) return 'image';
  for (const o of document.querySelectorAll('.jp-OutputArea-output'))
    if (/Traceback|Error/.test(o.innerText)) return 'error: ' + o.innerText.slice(-2000);
  return null;
}"""
IMG_STATE = """async (img) => {
  const buf = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  return {src: img.src, w: img.naturalWidth, h: img.naturalHeight, bytes: Array.from(buf)};
}"""


def _pixel_spread(png:bytes) -> float:
    "Standard deviation of a PNG's pixel values: ~0 for a blank picture."
    import numpy as np
    from PIL import Image
    return float(np.asarray(Image.open(io.BytesIO(png)).convert('RGB'), dtype=float).std())


def test_slider_changes_picture_in_browser(lab):
    from playwright.sync_api import sync_playwright
    url, jlog = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for f in ('before.png', 'after.png', 'widget.png', 'page.png', 'console.log'): (ARTIFACTS/f).unlink(missing_ok=True)
    console, t0 = [], time.monotonic()
    with sync_playwright() as p:
        # Playwright's launch uses a fresh temporary profile (user-data-dir) each time.
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000)
        page = browser.new_page(viewport=dict(width=900, height=1200))
        page.on('console', lambda m: console.append(f'{m.type}: {m.text}'))
        page.on('pageerror', lambda e: console.append(f'pageerror: {e}'))
        try:
            page.goto(f'{url}/lab/tree/widget_demo.ipynb', timeout=60_000)
            page.wait_for_function(KERNEL_IDLE, timeout=90_000, polling=250)
            # no file browser: the notebook gets the width, so the whole widget fits in the screenshots
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
            state = page.wait_for_function(WIDGET_OR_ERROR, timeout=120_000, polling=250).json_value()
            assert state == 'image', f"the demo cell failed in the browser:\n{state}"
            img = page.locator('.jp-OutputArea img.widget-image')
            before = img.evaluate(IMG_STATE)
            assert (before['w'], before['h']) == SIZE, f"unexpected picture size {before['w']}×{before['h']}"
            before_png = img.screenshot(path=str(ARTIFACTS/'before.png'))
            assert _pixel_spread(before_png) > 10, "the picture is blank"

            # drag PC0's noUiSlider handle most of the way right (value 0 → about +2.5 σ)
            slider = page.locator('.widget-hslider', has=page.locator('.widget-label', has_text='PC0'))
            readout = slider.locator('.widget-readout')
            assert readout.inner_text().strip() == '0.00'
            slider.scroll_into_view_if_needed()  # the notebook scrolls to the (tall) picture's end
            track, handle = slider.locator('.noUi-target').bounding_box(), slider.locator('.noUi-handle').bounding_box()
            assert 0 < handle['y'] < page.viewport_size['height'], f"slider handle off screen: {handle}"
            y = handle['y'] + handle['height'] / 2
            page.mouse.move(handle['x'] + handle['width'] / 2, y)
            page.mouse.down()
            page.mouse.move(track['x'] + 0.9 * track['width'], y, steps=8)
            page.mouse.up()
            page.wait_for_function("(old) => { const i = document.querySelector('.jp-OutputArea img.widget-image');"
                                   " return i.src !== old && i.complete && i.naturalWidth > 0; }",
                                   arg=before['src'], timeout=60_000, polling=250)
            # the kernel redraws once per slider value it receives: wait until the picture settles
            last, settled = None, 0
            while settled < 3:
                page.wait_for_timeout(300)
                src = img.get_attribute('src')
                settled, last = (settled + 1, src) if src == last else (0, src)
            after = img.evaluate(IMG_STATE)
            after_png = img.screenshot(path=str(ARTIFACTS/'after.png'))
            value = float(readout.inner_text())
            page.locator('.jp-OutputArea-output:has(img.widget-image)').screenshot(path=str(ARTIFACTS/'widget.png'))
            page.screenshot(path=str(ARTIFACTS/'page.png'))
        except Exception:
            page.screenshot(path=str(ARTIFACTS/'page.png'))
            raise
        finally:
            (ARTIFACTS/'console.log').write_text('\n'.join(console))
            browser.close()
    secs = time.monotonic() - t0
    print(f"\nbrowser test ({secs:.0f} s in the browser): PC0 slider 0.00 → {value:.2f}; screenshots:\n  "
          + '\n  '.join(str(ARTIFACTS/f) for f in ('before.png', 'after.png', 'widget.png', 'page.png')))
    assert value > 1, f"the slider did not move (PC0 = {value})"
    assert bytes(before['bytes']) != bytes(after['bytes']), "the widget's PNG did not change"
    assert before_png != after_png, f"the picture on screen did not change; see {ARTIFACTS}"
    assert _pixel_spread(after_png) > 10, "the picture is blank after the move"


# The labeling widget (09b): paint a stroke and place two keypoints with the mouse, save, check the files.
LABEL_DEMO = """import torch
torch.set_num_threads(1)
from handsoff_nb.labeling import LabelPainter, truth_suggestion
p = LabelPainter({pool!r}, {out!r}, suggestion=truth_suggestion, scale={scale})
p"""
LABEL_SCALE = 6
CANVAS_READY = """() => {
  const c = document.querySelector('.handsoff-label canvas');
  if (c && c.width > 0 && c.dataset.tool) return 'canvas';
  for (const o of document.querySelectorAll('.jp-OutputArea-output'))
    if (/Traceback|Error/.test(o.innerText)) return 'error: ' + o.innerText.slice(-2000);
  return null;
}"""


@pytest.fixture
def labeling_lab(tmp_path):
    "JupyterLab on a notebook showing a `LabelPainter` over 3 pool faces, writing to `tmp_path/labels` → (url, pool, out)."
    pytest.importorskip('anywidget')
    from handsoff_nb.suggest import POOL_SEEDS, write_pool
    nbdir = tmp_path/'nb'; nbdir.mkdir()
    pool, out = write_pool(tmp_path/'pool', POOL_SEEDS[:3]), tmp_path/'labels'
    _write_demo(nbdir, LABEL_DEMO.format(pool=str(pool), out=str(out), scale=LABEL_SCALE), 'labeling_demo.ipynb')
    for url, _ in _serve(tmp_path, nbdir): yield url, pool, out


def _pixel(box:dict, x:float, y:float, size:int=64) -> tuple:
    "Page coordinates of the centre of image pixel (x, y) on a canvas at `box`."
    return box['x'] + (x + .5) * box['width'] / size, box['y'] + (y + .5) * box['height'] / size


def test_labeling_widget_in_browser(labeling_lab):
    import numpy as np
    from playwright.sync_api import sync_playwright
    from handsoff_nb.data import load_labeled_folder
    from handsoff_nb.labeling import LabelState
    from handsoff_nb.suggest import toyface_truth
    url, pool, out = labeling_lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS/'labeling.png').unlink(missing_ok=True)
    name = sorted(f.stem for f in pool.iterdir())[0]  # the painter opens the first unlabeled image
    y_row, x0, x1, nose, mouth_left = 10, 8, 40, (30, 40), (12, 52)
    console = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000)
        page = browser.new_page(viewport=dict(width=1000, height=1100))
        page.on('console', lambda m: console.append(f'{m.type}: {m.text}'))
        page.on('pageerror', lambda e: console.append(f'pageerror: {e}'))
        try:
            page.goto(f'{url}/lab/tree/labeling_demo.ipynb', timeout=60_000)
            page.wait_for_function(KERNEL_IDLE, timeout=90_000, polling=250)
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
            state = page.wait_for_function(CANVAS_READY, timeout=120_000, polling=250).json_value()
            assert state == 'canvas', f"the demo cell failed in the browser:\n{state}"
            canvas = page.locator('.handsoff-label canvas')
            ds = lambda k: canvas.get_attribute(f'data-{k}')
            wait_ds = lambda k, v: page.wait_for_function(
                f"() => document.querySelector('.handsoff-label canvas').dataset['{k}'] === '{v}'", timeout=30_000)
            # class 'mouth' from the palette, then a horizontal stroke with the default brush (r = 1)
            page.get_by_role('button', name='mouth', exact=True).click()
            wait_ds('cls', '6')
            canvas.scroll_into_view_if_needed()
            box = canvas.bounding_box()
            assert (round(box['width']), round(box['height'])) == (64 * LABEL_SCALE,) * 2, box
            page.mouse.move(*_pixel(box, x0, y_row)); page.mouse.down()
            page.mouse.move(*_pixel(box, x1, y_row), steps=10); page.mouse.up()
            # keypoint 'nose_tip' (visible), then 'mouth_left' hidden
            page.locator('.widget-dropdown select').select_option(label='nose_tip')
            wait_ds('kp_index', '2'); wait_ds('tool', 'keypoint')
            page.mouse.click(*_pixel(box, *nose))
            page.locator('.widget-dropdown select').select_option(label='mouth_left')
            wait_ds('kp_index', '3')
            page.get_by_role('checkbox', name='visible').uncheck()
            wait_ds('kp_visible', 'false')
            page.mouse.click(*_pixel(box, *mouth_left))
            page.wait_for_timeout(500)  # the canvas redraws what Python applied
            page.locator('.jp-OutputArea-output:has(.handsoff-label)').screenshot(path=str(ARTIFACTS/'labeling.png'))
            page.get_by_role('button', name='save & next ▶').click()
            deadline = time.monotonic() + 30
            while not (out/'images'/f'{name}.png').exists():
                assert time.monotonic() < deadline, "the save button wrote nothing in 30 s"
                time.sleep(0.2)
            page.wait_for_function("() => /1\\/3 labeled/.test(document.body.innerText)", timeout=30_000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS/'labeling_page.png'))
            raise
        finally:
            (ARTIFACTS/'labeling_console.log').write_text('\n'.join(console))
            browser.close()
    truth = toyface_truth([name])
    want = LabelState(truth['mask'][0].numpy(), truth['kps'][0].numpy())
    want.paint([(x, y_row) for x in range(x0, x1 + 1)], 6, 1)  # what the stroke must have painted
    got = load_labeled_folder(out)
    test_mask, kps = got['mask'][0].numpy(), got['kps'][0].numpy()
    assert got['names'] == [name]
    changed = test_mask != truth['mask'][0].numpy()
    assert changed.any() and (test_mask[changed] == 6).all(), "the stroke did not paint class 6"
    np.testing.assert_array_equal(test_mask, want.mask)  # the stroke's pixels, and nothing else changed
    np.testing.assert_allclose(kps[2], [*nose, 1.], atol=0.05)
    np.testing.assert_allclose(kps[3], [*mouth_left, 0.], atol=0.05)
    np.testing.assert_allclose(kps[[0, 1, 4]], truth['kps'][0].numpy()[[0, 1, 4]], atol=1e-3)
    print(f"\nlabeling test: {int(changed.sum())} pixels painted class 6; screenshot {ARTIFACTS/'labeling.png'}")
