"""The offline docs build: `tools/docs.sh OUT NOTEBOOK...` renders notebooks with their saved
outputs through nbconvert and writes an index page. Here on two notebooks (the introduction and the first
module) into a temporary folder, so it stays fast; `bash tools/docs.sh` builds every notebook into `_site/`."""
import html, importlib.util, json, os, re, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = [ROOT/'nbs'/'index.ipynb', ROOT/'nbs'/'00_core.ipynb']

needs_build = pytest.mark.skipif(importlib.util.find_spec('nbconvert') is None or shutil.which('bash') is None,
                                reason="docs build: needs bash and the `nbconvert` package (pip install -e '.[docs]')")


def title_of(nb:Path) -> str:
    "The notebook's first `# Title` line."
    for c in json.loads(nb.read_text(encoding='utf-8'))['cells']:
        if c['cell_type'] == 'markdown':
            for line in ''.join(c['source']).splitlines():
                if line.startswith('# '): return line[2:].strip()
    raise AssertionError(f"{nb.name} has no `# Title`")


def text_of(page:str) -> str:
    "A page's visible text, roughly: tags and scripts removed, entities decoded, spaces collapsed."
    page = re.sub(r'<(script|style)\b.*?</\1>', ' ', page, flags=re.S | re.I)
    return ' '.join(html.unescape(re.sub(r'<[^>]+>', ' ', page)).split())


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp('site')/'_site'
    env = {**os.environ, 'PYTHON': sys.executable, 'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    r = subprocess.run(['bash', str(ROOT/'tools'/'docs.sh'), str(out), *map(str, NBS)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"tools/docs.sh failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return out


@needs_build
def test_index_links_every_notebook_in_order(site):
    index = (site/'index.html').read_text(encoding='utf-8')
    hrefs = re.findall(r'<li><a href="([^"]+)"', index)
    assert hrefs == ['intro.html', '00_core.html'], hrefs  # index.ipynb first (as intro.html), then by name
    text = text_of(index)
    for nb in NBS: assert title_of(nb).replace('`', '') in text, f"index lacks the title of {nb.name}"
    assert 'Device, seeding, course profiles' in text  # 00_core's subtitle


@needs_build
def test_pages_are_html_with_their_title(site):
    for nb, page in zip(NBS, ['intro.html', '00_core.html']):
        s = (site/page).read_text(encoding='utf-8')
        assert s.lstrip().lower().startswith('<!doctype html>') and '</html>' in s and len(s) > 10_000, page
        t = title_of(nb).replace('`', '')
        assert t in text_of(s), f"{page} does not show its title {t!r}"
        assert f'<title>{html.escape(t)}' in s
        assert 'href="index.html"' in s  # the navigation bar leads back to the course list


@needs_build
def test_pages_need_no_network_to_read(site):
    "No page waits on a CDN for require.js; math comes from the local MathJax copy when the package is there."
    s = (site/'00_core.html').read_text(encoding='utf-8')
    assert 'cdnjs.cloudflare.com/ajax/libs/require.js' not in s
    if (site/'mathjax'/'MathJax.js').is_file():
        assert 'src="mathjax/MathJax.js?config=' in s and (site/'mathjax'/'config'/'handsoff.js').is_file()
    # markdown images are embedded (index.ipynb shows images/pipeline.svg), so the pages stand alone
    intro = (site/'intro.html').read_text(encoding='utf-8')
    assert 'images/pipeline.svg' not in re.findall(r'<img[^>]*src="([^"]+)"', intro)


@needs_build
def test_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path/'precious.txt').write_text('keep me')
    r = subprocess.run(['bash', str(ROOT/'tools'/'docs.sh'), str(tmp_path), str(NBS[1])], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0 and 'refusing' in r.stderr
    assert (tmp_path/'precious.txt').read_text() == 'keep me'


@needs_build
def test_pages_show_what_nbdev_docs_show(site):
    "Hidden cells, exported sources and directive lines are left out; exported functions get their show_doc."
    page = (site/'00_core.html').read_text(encoding='utf-8')
    text = text_of(page)
    assert '#|' not in text and 'nbdev_export' not in text
    assert 'from fastcore.test import' not in text  # a `#| hide` cell
    assert '/ 127.5 - 1' not in text  # the body of `img2tensor`, an `#| export` cell
    assert re.search(r'<h3[^>]*>\s*img2tensor', page) and 'A PIL image or' in text  # its show_doc instead
    assert 'test_eq(tensor2img(t),u)' in text.replace(' ', '')  # example cells stay


# --- wording: a student has no issue tracker to open ---------------------------------------------------------------
# The course and the README once spoke of "the sizes", "issue 12", "session 5": sentences that only made
# sense to whoever had the project's issue tracker open. Say what is meant instead (the paper's sizes, our targets
# and why, a date). "GitHub issue" in a general sense (a package's bug tracker) is fine.
TRACKER_TALK = re.compile(r"\b[Tt]he issue\b|\b[Ii]ssues? ?#?\d+|\bissue's\b|\b[Ii]ssue-\d+|\bissue note\b|\bsession \d+\b")


def tracker_talk(text:str) -> list:
    "The lines of `text` that refer to the project's issues or work sessions."
    return [l.strip() for l in text.splitlines() if TRACKER_TALK.search(l)]


def test_tracker_talk_is_recognised():
    assert tracker_talk("at the issue's sizes\nthe targets (issue 12)\nfine: a GitHub issue of lpips\nsession 5 of it")
    assert tracker_talk("see lpips's GitHub issue about weights\nthe issuer") == []
    assert len(tracker_talk("the issue that prompted this (#13)\nissue-11 probe\nin the issue note")) == 3


def test_course_and_readme_stand_on_their_own():
    "No notebook (markdown, code comments or strings) and no README line refers to an issue or a work session."
    found = []
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for c in json.loads(nb.read_text(encoding='utf-8'))['cells']:
            found += [f"{nb.name}: {l}" for l in tracker_talk(''.join(c['source']))]
    for f in [ROOT/'README.md', ROOT/'data_samples'/'README.md', ROOT/'benchmarks'/'README.md']:
        found += [f"{f.relative_to(ROOT)}: {l}" for l in tracker_talk(f.read_text(encoding='utf-8'))]
    assert not found, "say what is meant instead of pointing at an issue or a session:\n" + '\n'.join(found)
