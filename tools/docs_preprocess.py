"""nbconvert preprocessor for `tools/docs.sh`: show a notebook the way nbdev's own docs do, from its saved outputs.

What nbdev's docs processors (`nbdev.processors.FilterDefaults`) do, and this does too:
- `#| hide` and `#| default_exp` cells are left out (`hide_`, `rm_export`), as are `#| include: false` cells;
- an `#| export` / `#| exporti` cell's source is left out (`rm_export`); after an `#| export` or `#| exports` cell
  comes the `show_doc` of each public function and class it defines, unless the notebook calls `show_doc` for it
  itself (`add_show_docs`); an `#| exports` cell's source is shown after that documentation (`mv_exports`);
- directive comment lines (`#| ...`) are stripped from every code cell that is shown, `#| echo: false` hides a
  source, `#| output: false` drops outputs, `hide_line` drops a line, and a `show_doc(...)` cell shows only its
  output (`clean_show_doc`).
nbdev renders `show_doc` by executing the notebook; here the objects come from the installed `handsoff_nb` package
instead (nothing in the notebook runs), so the pages show the package as installed. Without nbdev, a signature
and the docstring stand in for `show_doc`.
"""
import ast, importlib, inspect, re, warnings
from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_markdown_cell

_DIRECTIVE = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_HIDDEN = {'hide', 'default_exp', 'export', 'exporti'}  # nbdev's rm_export/hide_: no source in the docs
_SOURCE_LINK = re.compile(r'^\[source\]\(.*$', re.M)  # a Quarto link with {attributes}: not markdown here


def directives(src: str) -> tuple:
    "The leading `#| name value` lines of a code cell as a dict, and the source without them."
    d, lines = {}, src.splitlines()
    i = 0
    while i < len(lines) and (m := _DIRECTIVE.match(lines[i])):
        d[m.group(1)] = m.group(2)
        i += 1
    body = [l for l in lines[i:] if not re.search(r'#\|\s*hide_line\s*$', l)]
    return d, '\n'.join(body).strip('\n')


def def_names(src: str) -> list:
    "Public top-level functions and classes defined in `src` (what nbdev documents)."
    try: tree = ast.parse(src)
    except SyntaxError: return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and (not n.name.startswith('_') or n.name.startswith('__'))]


def doc_markdown(obj, name: str) -> str:
    "nbdev's `show_doc` markdown for `obj` (its Quarto source link dropped), or a signature and docstring."
    try:
        from nbdev.showdoc import show_doc
        with warnings.catch_warnings():  # fastcore's docments cannot parse some defaults (numpy arrays): no table
            warnings.simplefilter('ignore')
            return _SOURCE_LINK.sub('', show_doc(obj, name=name)._repr_markdown_()).strip()
    except ImportError:
        try: sig = str(inspect.signature(obj))
        except (TypeError, ValueError): sig = '(...)'
        return f"---\n\n### {name}\n\n```python\n{name}{sig}\n```\n\n*{inspect.getdoc(obj) or ''}*"


class NbdevDocs(Preprocessor):
    "Hide and show cells as nbdev's docs do (see the module docstring)."

    def preprocess(self, nb, resources):
        code = [c.source for c in nb.cells if c.cell_type == 'code']
        module = next((m.group(1) for s in code if (m := re.search(r'^\s*#\|\s*default_exp\s+(\S+)', s, re.M))),
                      None)
        shown = set(re.findall(r'^show_doc\(\s*([\w.]+)', '\n'.join(code), re.M))
        cells = []
        for cell in nb.cells:
            if cell.cell_type != 'code': cells.append(cell); continue
            d, body = directives(cell.source)
            if 'hide' in d or 'default_exp' in d or d.get('include') == 'false': continue
            exp = next((k for k in ('export', 'exports', 'exporti') if k in d), None)
            if exp in ('export', 'exports'):
                cells += self.docs(body, d[exp] or module, shown)
            if exp in ('export', 'exporti') or d.get('echo') == 'false' or body.startswith('show_doc('):
                if not cell.get('outputs') or exp: continue
                cell.metadata['transient'] = {'remove_source': True}  # as nbconvert's TagRemovePreprocessor does
            if d.get('output') == 'false': cell.outputs = []
            cell.source = body
            cells.append(cell)
        nb.cells = cells
        return nb, resources

    def docs(self, src: str, module: str, shown: set) -> list:
        "Markdown cells with the `show_doc` of each public definition in `src` (exported to `module`)."
        if not module: return []
        try: mod = importlib.import_module(f'handsoff_nb.{module}')
        except ImportError: return []
        out = []
        for name in def_names(src):
            if name in shown or not hasattr(mod, name): continue
            out.append(new_markdown_cell(doc_markdown(getattr(mod, name), name)))
        return out
