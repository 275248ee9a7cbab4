"Dense tests of `handsoff_nb.suggest` (09a): the choosers against brute force, the pool reader, `suggest`'s errors."
import itertools
import numpy as np
import pytest
import torch
from handsoff_nb.suggest import (POOL_SEEDS, kcenter_greedy, kmeans_picks, pool_files, read_pool, suggest,
                                 toyface_truth, write_pool)

torch.set_num_threads(1)


def _radius(f, picks): return float(torch.cdist(f, f[picks]).min(1).values.max())


def test_kcenter_is_farthest_point_oracle():
    "Each pick is the point farthest from the picks before it (a naive loop over all points)."
    f = torch.randn(60, 5, generator=torch.Generator().manual_seed(0))
    picks = kcenter_greedy(f, 7)
    assert picks[0] == int((f - f.mean(0)).norm(dim=1).argmin())
    for t in range(1, 7):
        d = [min(float((f[i] - f[j]).norm()) for j in picks[:t]) for i in range(60)]
        assert picks[t] == int(np.argmax(d))
    assert len(set(picks)) == 7


def test_kcenter_radius_within_twice_optimal():
    "Greedy k-centre's guarantee: its coverage radius is at most twice the best possible (brute force, tiny pool)."
    f = torch.randn(14, 2, generator=torch.Generator().manual_seed(1))
    best = min(_radius(f, list(c)) for c in itertools.combinations(range(14), 3))
    assert _radius(f, kcenter_greedy(f, 3)) <= 2 * best + 1e-6


def test_kmeans_picks_distinct_deterministic_and_find_clusters():
    g = torch.Generator().manual_seed(2)
    centres = torch.tensor([[0., 0.], [10., 0.], [0., 10.], [10., 10.]])
    f = torch.cat([c + 0.3 * torch.randn(25, 2, generator=g) for c in centres])  # 4 tight clusters
    picks = kmeans_picks(f, 4)
    assert sorted(i // 25 for i in picks) == [0, 1, 2, 3]  # one image per cluster
    assert picks == kmeans_picks(f, 4) and len(set(kmeans_picks(f[:5], 5))) == 5


def test_pool_reading_and_truth(tmp_path):
    pool = write_pool(tmp_path/'p', POOL_SEEDS[:3], size=32)
    (pool/'.hidden.png').write_bytes(b'x')
    (pool/'notes.txt').write_text('ignored')
    assert [f.name for f in pool_files(pool)] == [f'toyface_{s}.png' for s in POOL_SEEDS[:3]]
    img, names = read_pool(pool, 64)  # resized to the encoder's size
    assert img.shape == (3, 3, 64, 64) and img.min() >= -1 and img.max() <= 1
    t = toyface_truth(names, 32)
    assert t['mask'].shape == (3, 32, 32) and t['names'] == names
    with pytest.raises(ValueError, match='toyface_<seed>'): toyface_truth(['holiday.png'])


def test_suggest_errors_before_work(tmp_path):
    pool = write_pool(tmp_path/'p', POOL_SEEDS[:3])
    with pytest.raises(ValueError, match='method'): suggest(pool, 2, method='magic')
    with pytest.raises(ValueError, match='positive'): suggest(pool, 0)
    with pytest.raises(ValueError, match='only 3'): suggest(pool, 4)
    with pytest.raises(FileNotFoundError): suggest(tmp_path/'none', 1)
    assert sorted(suggest(pool, 3)) == sorted(f.stem for f in pool.iterdir())


def test_uncertainty_picks_most_uncertain_not_labeled():
    from handsoff_nb.suggest import uncertainty_picks
    f = torch.randn(30, 4, generator=torch.Generator().manual_seed(0))
    u = torch.arange(30.)  # image i has uncertainty i: the most uncertain are 29, 28, ...
    picks = uncertainty_picks(f, u, 3, exclude=[29, 27])
    assert len(set(picks)) == 3 and not {29, 27} & set(picks)
    assert set(picks) <= {28, 26, 25, 24, 23, 22, 21, 20, 19}  # among the 3·3 most uncertain left
    assert sorted(uncertainty_picks(f, u, 2, top=1)) == [28, 29]
    with pytest.raises(ValueError, match='not labeled yet'): uncertainty_picks(f, u, 29, exclude=[0, 1])


def test_exclude_and_the_cli(tmp_path):
    from handsoff_nb.cli import main
    pool = write_pool(tmp_path/'p', POOL_SEEDS[:6])
    first = suggest(pool, 4)
    assert sorted(suggest(pool, 2, exclude=first)) == sorted(set(f.stem for f in pool.iterdir()) - set(first))
    with pytest.raises(ValueError, match='only 2 not labeled'): suggest(pool, 3, exclude=first)
    with pytest.raises(ValueError, match='label generator'): suggest(pool, 1, method='uncertainty')
    lab = tmp_path/'lab'/'images'; lab.mkdir(parents=True)
    for x in first: (lab/f'{x}.png').write_bytes((pool/f'{x}.png').read_bytes())
    assert main(['suggest', '--pool', str(pool), '--n', '2', '--labeled', str(tmp_path/'lab')]) == 0
    assert main(['suggest', '--pool', str(pool), '--n', '1', '--method', 'uncertainty']) == 2  # one clear error
