"""`benchmarks/` stays readable: `benchmarks/README.md` names every script at its top (one per README figure) and
`benchmarks/probes/README.md` every probe, and the probes find the checkout from their own folder."""
import ast, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT/'benchmarks'


def named(readme:Path) -> set:
    "The `*.py` names a README mentions in backticks (a path like `probes/x.py` counts as `x.py`)."
    return {Path(m).name for m in re.findall(r'`([\w./-]+\.py)', readme.read_text(encoding='utf-8'))}


def test_the_index_names_every_benchmark():
    missing = sorted(p.name for p in BENCH.glob('*.py') if p.name not in named(BENCH/'README.md'))
    assert not missing, (f"benchmarks/README.md does not name {missing}: add a row (the question it answers, the README "
                         "figure it backs, its result file), or move a one-off probe into benchmarks/probes/")


def test_the_probe_index_names_every_probe():
    missing = sorted(p.name for p in (BENCH/'probes').glob('*.py') if p.name not in named(BENCH/'probes'/'README.md'))
    assert not missing, (f"benchmarks/probes/README.md does not name {missing}: add a row "
                         "(question → answer → command → result file)")


def test_the_indexes_name_no_script_that_is_gone():
    "A script named in a README table's first column exists where that README says."
    for readme, folder in [(BENCH/'README.md', BENCH), (BENCH/'probes'/'README.md', BENCH/'probes')]:
        first = re.findall(r'^\| `([\w-]+\.py)` \|', readme.read_text(encoding='utf-8'), flags=re.M)
        assert first, readme
        gone = [f for f in first if not (folder/f).exists()]
        assert not gone, f"{readme.relative_to(ROOT)} lists {gone}, which are not in {folder.relative_to(ROOT)}/"


def test_probes_find_the_checkout_and_the_results():
    "A probe one folder deeper must not look for `results/` or `data_samples/` in `benchmarks/`."
    for p in (BENCH/'probes').glob('*.py'):
        src = p.read_text(encoding='utf-8')
        ast.parse(src)
        assert 'resolve().parent.parent' not in src and "parent/'results'" not in src, p.name
        assert 'benchmarks/bench_' not in src.replace('benchmarks/probes/', ''), f"{p.name} names a script by its old path"


def test_a_probe_runs_from_its_new_place():
    r = subprocess.run([sys.executable, str(BENCH/'probes'/'bench_inversion_ceiling.py'), '--help'],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0 and '--steps' in r.stdout, r.stderr[-2000:]
