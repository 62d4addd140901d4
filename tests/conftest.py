import os

import pytest

os.environ.setdefault("ROBOT_ASSISTANT_CACHE", os.path.join(os.path.dirname(__file__), "..", ".cache"))


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """One recorded episode of the scripted expert (real pybullet, the v3 writer), shared by
    the tiny_vla test files."""
    pytest.importorskip("pyarrow")
    from embodiments.policies.record import record

    out = tmp_path_factory.mktemp("tiny_vla") / "demos"
    s = record(out, 1, "panda", seed=0, every=3, progress=False)
    assert s["kept"] == 1, s
    return out
