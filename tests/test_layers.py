"""The house in layers: every module of `handsoff_nb` imports only modules below it in `LAYERS`, so there are no
circles, `core` imports nothing of ours and `cli` (then the course's `exercises`) sits on top. The imports are read
from the source with `ast`, as a reader sees them: top level or inside a function, `from .x import ...`,
`from handsoff_nb.x import ...`, `from handsoff_nb import x`, `import handsoff_nb.x`."""
import ast, json, re
from pathlib import Path
import pytest

PKG = Path(__file__).resolve().parent.parent/'handsoff_nb'

# The order written down in 00_core's introduction and the README ("The house in layers"), ground floor first.
# It follows the notebooks' numbers, except that `perceptual` (04) sits below `inversion` (03), which uses LPIPS.
# `labeling` (a planned 09b) may not exist yet; a name here without a module is skipped.
LAYERS = ['core', 'data', 'stylegan2', 'train_gan', 'quality', 'perceptual', 'inversion', 'hypercolumns',
          'label_generator', 'generate', 'evaluate', 'segmenter', 'widgets', 'suggest', 'labeling', 'cli',
          'exercises']


def modules(pkg:Path=PKG) -> list:
    "The package's modules by name (not `__init__`, not nbdev's `_modidx`)."
    return sorted(p.stem for p in pkg.glob('*.py') if p.stem not in ('__init__', '_modidx'))


def imports_of(path:Path, pkg:str='handsoff_nb') -> dict:
    "`{module: first line}` of every module of `pkg` that the file at `path` imports, anywhere in it."
    found = {}
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        names = []
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ''
            if node.level == 1: names = [mod.split('.')[0]] if mod else [a.name for a in node.names]
            elif node.level == 0 and mod == pkg: names = [a.name for a in node.names]
            elif node.level == 0 and mod.startswith(pkg + '.'): names = [mod.split('.')[1]]
        elif isinstance(node, ast.Import):
            names = [a.name.split('.')[1] for a in node.names if a.name.startswith(pkg + '.')]
        for n in names: found.setdefault(n, node.lineno)
    return {m: l for m, l in found.items() if m != path.stem}


def circles(edges:dict) -> list:
    "Groups of 2+ modules that import each other, directly or around a loop (Tarjan's strongly connected components)."
    index, low, stack, on, out = {}, {}, [], set(), []
    def visit(v):
        index[v] = low[v] = len(index); stack.append(v); on.add(v)
        for w in edges.get(v, ()):
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            c = []
            while True:
                w = stack.pop(); on.discard(w); c.append(w)
                if w == v: break
            if len(c) > 1: out.append(sorted(c))
    for v in sorted(edges):
        if v not in index: visit(v)
    return out


@pytest.fixture(scope='module')
def edges() -> dict:
    mods = set(modules())
    return {m: {t: l for t, l in imports_of(PKG/f'{m}.py').items() if t in mods} for m in sorted(mods)}


def test_the_reader_finds_every_kind_of_import(tmp_path):
    f = tmp_path/'widgets.py'
    f.write_text("from .core import a\nfrom . import data\nimport handsoff_nb.stylegan2 as s\n"
                 "from handsoff_nb.inversion import b\nfrom handsoff_nb import generate\n"
                 "def f():\n    from handsoff_nb.cli import main\nfrom .widgets import c\nimport json\n")
    assert sorted(imports_of(f)) == ['cli', 'core', 'data', 'generate', 'inversion', 'stylegan2']


def test_no_circles(edges):
    assert circles(edges) == [], f"import circles among handsoff_nb's modules: {circles(edges)}"
    assert circles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]  # the checker works


def test_every_module_has_a_floor():
    missing = [m for m in modules() if m not in LAYERS]
    assert not missing, (f"handsoff_nb/{missing[0]}.py is in no layer: add {missing} to LAYERS in tests/test_layers.py "
                         "above every module they import and below every module that imports them, and to the "
                         "layer order in 00_core's introduction and the README ('The house in layers')")


def test_core_is_the_ground_floor(edges):
    assert LAYERS[0] == 'core' and edges['core'] == {}, f"core imports {sorted(edges['core'])}: it must import nothing of ours"


def test_every_import_goes_down(edges):
    floor = {m: i for i, m in enumerate(LAYERS)}
    up = [f"handsoff_nb/{m}.py:{l} imports {t}, which is on a higher floor ({floor[t]} > {floor[m]})"
          for m, ts in edges.items() if m in floor for t, l in sorted(ts.items()) if t in floor and floor[t] > floor[m]]
    assert not up, "imports that go up the layer order of tests/test_layers.py:\n" + '\n'.join(up)


def written_order(text:str) -> list:
    "The longest chain `` `a` → `b` → ... `` in `text` (line breaks allowed), as a list of names."
    chains = [re.findall(r'`(\w+)`', m) for m in re.findall(r'`\w+`(?:\s*→\s*`\w+`)+', text)]
    return max(chains, key=len, default=[])


def test_the_order_is_written_down_for_readers():
    "00_core's introduction and the README's 'The house in layers' give the same order as `LAYERS`."
    root = PKG.parent
    cells = json.loads((root/'nbs'/'00_core.ipynb').read_text(encoding='utf-8'))['cells']
    intro = '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'markdown'
                      and 'house in layers' in ''.join(c['source']))
    readme = (root/'README.md').read_text(encoding='utf-8')
    have = [m for m in LAYERS if (PKG/f'{m}.py').exists()]
    for name, text in [("00_core's introduction", intro), ('README.md', readme)]:
        chain = written_order(text)
        assert [m for m in chain if m in have] == have, (f"{name} writes the layers as {chain}; LAYERS in "
                                                         f"tests/test_layers.py has {have}: make them agree")
        assert all(m in LAYERS for m in chain), f"{name} names floors that LAYERS lacks: {set(chain) - set(LAYERS)}"
