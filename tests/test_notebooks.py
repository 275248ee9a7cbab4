"Run each notebook through nbdev's test runner: one pytest test per notebook (local debugging aid)."
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_nb  # alias: pytest must not collect nbdev's `test_nb`

cfg = get_config()
NBS = sorted(Path(cfg.nbs_path).glob('*.ipynb'))

@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb):
    ok, secs = run_nb(nb, skip_flags=cfg.tst_flags.split(), basepath=cfg.config_path, cell_timeout=cfg.cell_timeout)
    assert ok, f"{nb.name} failed (see stderr)"
