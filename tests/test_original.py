"""The README's route for the original's weight: put it in weights/ under its own name, run main.py."""
import os

import pandas as pd
import pytest

from kobert_base.paths import ORIGINAL_WEIGHT
from kobert_base.topics import TOPICS
from tests.conftest import ROOT

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')


@pytest.fixture
def in_weights_folder(original_weight, monkeypatch):
    """The original's file where the README says to put it: this checkout's weights/ (a link to it,
    removed afterwards; a file of the user's already there is left alone and the test skipped)."""
    place = os.path.join(ROOT, 'weights', ORIGINAL_WEIGHT)
    if os.path.lexists(place):
        pytest.skip('%s exists already: not touched' % place)
    os.symlink(original_weight, place)
    monkeypatch.chdir(ROOT)
    yield place
    os.remove(place)


def test_original_weight_in_weights_folder_classifies_bodies(tmp_path, in_weights_folder, kobert_home, call):
    """`python main.py` with the original's file at weights/ko-news-clf-gluon-weight.pth predicts with
    it (the shipped default has its own name, so its description no longer stands in the way), and
    reads cleanBody, as the original's main.py did; --mode 2 reads titles."""
    assert not os.path.exists(os.path.join(ROOT, 'weights', 'ko-news-clf-gluon-weight.json'))
    r = call('predict', '--data_path', SAMPLE, '--save_path', tmp_path / 'out.csv')
    assert r.returncode == 0, r.stderr
    assert "weight: weights/%s (the original's weight)" % ORIGINAL_WEIGHT in r.stderr
    assert "classifying the 'cleanBody' column, as the original's main.py did" in r.stderr

    from kobert_gluon.predictor import Predictor
    src = pd.read_csv(SAMPLE)
    predictor = Predictor.from_weight(os.path.join('weights', ORIGINAL_WEIGHT), kobert_home)
    bodies, titles = predictor.predict_proba(list(src['cleanBody'])), predictor.predict_proba(list(src['title']))
    out = pd.read_csv(str(tmp_path / 'out.csv'), encoding='utf-8-sig')
    assert out['predicted'].tolist() == [TOPICS[i] for i in bodies.argmax(1)]
    assert abs(out['probability'] - bodies.max(1)).max() < 1e-5

    r = call('predict', '--data_path', SAMPLE, '--save_path', tmp_path / 'titles.csv', '--mode', 2)
    assert r.returncode == 0, r.stderr
    titled = pd.read_csv(str(tmp_path / 'titles.csv'), encoding='utf-8-sig')
    assert abs(titled['probability'] - titles.max(1)).max() < 1e-5
