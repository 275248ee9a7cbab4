#!/usr/bin/env bash
# Offline docs: every notebook in nbs/ rendered to HTML with nbconvert from its SAVED outputs (nothing is
# re-executed), plus an index page that lists them in course order with each notebook's title and subtitle.
#
#   bash tools/docs.sh [OUT_DIR [NOTEBOOK ...]]     default: _site/ and every nbs/*.ipynb
#
# Cells are shown as nbdev's own docs show them (tools/docs_preprocess.py): `#| hide` and `#| default_exp` cells
# and the sources of `#| export` cells are left out, each exported function and class gets its `show_doc` (from the
# installed package), `#| exports` sources follow it, and directive lines (`#| ...`) are stripped.
# Pages: OUT_DIR/<notebook>.html (nbs/index.ipynb becomes intro.html; OUT_DIR/index.html is the course list),
# markdown images embedded, a small "course / previous / next" bar on top. Works from file:// with no network:
#  - math: MathJax 2 is copied from the `jupyter-server-mathjax` package (pip install -e ".[docs]") into
#    OUT_DIR/mathjax/ (HTML-CSS output, its STIX-Web fonts). Without that package the pages use the
#    cdnjs MathJax, and offline the equations stay readable as TeX source.
#  - widgets: the notebooks keep no widget state, so a widget output shows its text form (e.g. `VBox(...)`).
#  - require.js (used by nbconvert only for JavaScript outputs; ours have none) is an empty local stub, so no
#    page waits on a CDN.
# The online site is still built by nbdev/quarto (`nbdev-docs`; settings in pyproject.toml [tool.nbdev]).
# OUT_DIR is emptied first, but only when it is empty or was made by this script (marker file .handsoff-docs).
set -euo pipefail
here=$PWD
cd "$(dirname "$0")/.."
root=$PWD
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$here/$1" ;; esac; }
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f .venv/bin/activate ]; then . .venv/bin/activate; fi
PY=${PYTHON:-$(command -v python || command -v python3)}
out=$(abspath "${1:-$root/_site}"); shift || true
if [ $# -gt 0 ]; then nbs=(); for nb in "$@"; do nbs+=("$(abspath "$nb")"); done
else nbs=("$root"/nbs/*.ipynb); fi
start=$(date +%s)

if [ -e "$out" ] && [ -n "$(ls -A "$out")" ] && [ ! -f "$out/.handsoff-docs" ]; then
  echo "docs: $out is not empty and was not made by tools/docs.sh; refusing to overwrite it" >&2; exit 1
fi
rm -rf "$out"; mkdir -p "$out/_static"; touch "$out/.handsoff-docs"
echo "// require.js stub: nbconvert loads require.js only for JavaScript outputs, and these notebooks have none." \
  > "$out/_static/require-stub.js"

# MathJax 2 from the jupyter-server-mathjax package, when installed
mathjax_url=""
mj=$("$PY" -c "import importlib.util as u; s = u.find_spec('jupyter_server_mathjax')  # no import: it loads jupyter_server
print(s.submodule_search_locations[0] + '/static' if s else '')" 2>/dev/null || true)
if [ -n "$mj" ] && [ -f "$mj/MathJax.js" ]; then
  cp -r "$mj" "$out/mathjax"
  cat > "$out/mathjax/config/handsoff.js" <<'EOF'
MathJax.Hub.Config({  // the package ships only the STIX-Web web fonts
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null},
  messageStyle: "none"
});
MathJax.Ajax.loadComplete("[MathJax]/config/handsoff.js");
EOF
  mathjax_url="mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe,handsoff"
else
  echo "docs: jupyter-server-mathjax not installed (pip install -e '.[docs]'): math needs the network (cdnjs MathJax)"
fi

conv() {  # nbconvert, quiet unless it fails
  local log; log=$(mktemp)
  PYTHONPATH="$root/tools${PYTHONPATH:+:$PYTHONPATH}" \
  "$PY" -m jupyter nbconvert --to html --output-dir "$out" --HTMLExporter.embed_images=True \
    --HTMLExporter.preprocessors=docs_preprocess.NbdevDocs \
    --HTMLExporter.require_js_url=_static/require-stub.js ${mathjax_url:+--HTMLExporter.mathjax_url="$mathjax_url"} \
    "$@" >"$log" 2>&1 || { echo "docs: nbconvert failed:"; tail -40 "$log"; rm -f "$log"; exit 1; }
  grep -v -e 'Alternative text is missing' -e '^\[NbConvertApp\] Converting' -e '^\[NbConvertApp\] Writing' "$log" || true
  rm -f "$log"
}
for nb in "${nbs[@]}"; do [ -f "$nb" ] || { echo "docs: no notebook $nb" >&2; exit 1; }; done
conv "${nbs[@]}"  # one nbconvert process for all (its start-up costs seconds)
[ ! -f "$out/index.html" ] || mv "$out/index.html" "$out/intro.html"  # index.html is the course list

# the index page, page titles and the navigation bar
"$PY" - "$out" "${nbs[@]}" <<'EOF'
import html, json, re, sys
from pathlib import Path
out, nbs = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
# course order: the introduction (index.ipynb) first, then by file name (00_core, 01_data, 01a_…, 02_…)
nbs = sorted(nbs, key=lambda p: (p.name != 'index.ipynb', p.name))

def heading(nb: Path) -> tuple:
    "The notebook's first `# Title` and the `> subtitle` under it (markdown cells), or its file name."
    title = sub = None
    for c in json.loads(nb.read_text(encoding='utf-8'))['cells']:
        if c['cell_type'] != 'markdown': continue
        for line in ''.join(c['source']).splitlines():
            if title is None and line.startswith('# '): title = line[2:].strip()
            elif title is not None and line.startswith('> '): return title, line[2:].strip()
        if title is not None: return title, sub
    return nb.stem, None

def inline(md: str) -> str:
    "Escaped text with `code` spans."
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(md))

def plain(md: str) -> str: return md.replace('`', '')

pages = []
for nb in nbs:
    title, sub = heading(nb)
    pages.append(dict(nb=nb.name, href=('intro' if nb.name == 'index.ipynb' else nb.stem) + '.html', title=title, sub=sub))
site = next((p['title'] for p in pages if p['nb'] == 'index.ipynb'), 'handsoff-nb')
for i, p in enumerate(pages):
    f = out/p['href']
    s = f.read_text(encoding='utf-8')
    t = plain(p['title']) if p['title'] == site else f"{plain(p['title'])} – {site}"
    s = re.sub(r'<title>.*?</title>', lambda m: f"<title>{html.escape(t)}</title>", s, count=1, flags=re.S)
    nav = [f'<a href="index.html">{html.escape(site)}: course</a>']
    if i > 0: nav.append(f'<a href="{pages[i-1]["href"]}">← {html.escape(plain(pages[i-1]["title"]))}</a>')
    if i + 1 < len(pages): nav.append(f'<a href="{pages[i+1]["href"]}">{html.escape(plain(pages[i+1]["title"]))} →</a>')
    bar = ('<nav style="font:14px sans-serif;padding:6px 12px;border-bottom:1px solid #ddd">'
           + ' · '.join(nav) + '</nav>')
    s, n = re.subn(r'(<body[^>]*>)', lambda m: m.group(1) + bar, s, count=1)
    assert n == 1, f"no <body> in {f}"
    f.write_text(s, encoding='utf-8')

items = '\n'.join(f'<li><a href="{p["href"]}">{inline(p["title"])}</a>'
                  + (f'<div class="sub">{inline(p["sub"])}</div>' if p['sub'] else '')
                  + f'<div class="nb">{html.escape(p["nb"])}</div></li>' for p in pages)
(out/'index.html').write_text(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(site)}: the course</title>
<style>body{{font:16px/1.45 system-ui,sans-serif;max-width:52em;margin:2em auto;padding:0 1em;color:#222}}
ol{{padding-left:1.6em}} li{{margin:.7em 0}} li a{{font-weight:600;text-decoration:none}} .sub{{color:#444}}
.nb{{color:#888;font:12px monospace}} code{{background:#f3f3f3;padding:0 .2em}}</style></head>
<body><h1>{html.escape(site)}</h1>
<p>The course notebooks in order, rendered with their saved outputs (offline build of <code>tools/docs.sh</code>).</p>
<ol>
{items}
</ol></body></html>
""", encoding='utf-8')
print(f"docs: {len(pages)} notebook pages + index.html")
EOF
echo "docs: wrote $out/index.html in $(( $(date +%s) - start ))s"
