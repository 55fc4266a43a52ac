from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

BUILD = Path(__file__).parent / "build"


@pytest.fixture(scope="session")
def holdout_df() -> pd.DataFrame:
    """The rows the model never saw in training, with their `label`."""
    return pd.read_csv(BUILD / "holdout.csv")
