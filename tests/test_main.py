"""main.py end to end, as a user runs it: CSV in, CSV out, and every bad input."""
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from config import TOPICS
from tests.conftest import ROOT, make_weight, run_main

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')


def _assert_clean_failure(result, *phrases):
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith('error: '), result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def test_sample_csv_covers_all_topics():
    df = pd.read_csv(SAMPLE)
    assert list(df.columns) == ['title', 'cleanBody', 'category']
    assert set(df['category']) == set(TOPICS) and df['category'].value_counts().min() >= 2


def test_csv_in_csv_out(tmp_path, tiny_weight, kobert_home):
    out = tmp_path / 'out.csv'
    r = run_main('--gluon_weight_path', tiny_weight, '--data_path', SAMPLE, '--save_path', out, '--top_k', 3)
    assert r.returncode == 0, r.stderr
    assert open(str(out), 'rb').read(3) == b'\xef\xbb\xbf'  # BOM: Excel shows Hangul
    df = pd.read_csv(str(out), encoding='utf-8-sig')
    src = pd.read_csv(SAMPLE)
    assert list(df.columns) == list(src.columns) + ['predicted', 'probability', 'top1', 'top1_probability',
                                                     'top2', 'top2_probability', 'top3', 'top3_probability']
    assert df['title'].tolist() == src['title'].tolist()
    assert set(df['predicted']) <= set(TOPICS)
    assert (df['predicted'] == df['top1']).all()
    assert (df['top1_probability'] >= df['top2_probability']).all()
    assert (df['top2_probability'] >= df['top3_probability']).all()
    assert df['probability'].between(0, 1).all()
    assert [p for p in os.listdir(str(tmp_path))] == ['out.csv']

    # The same numbers as the predictor in this process (mode 3 text, the weight's max_len).
    from kobert_gluon.predictor import Predictor
    from preprocess import NewsProcessor
    probs = Predictor.from_weight(tiny_weight, kobert_home).predict_proba(NewsProcessor(3).texts(src))
    assert df['predicted'].tolist() == [TOPICS[i] for i in probs.argmax(axis=1)]
    np.testing.assert_allclose(df['probability'], probs.max(axis=1), atol=1e-5)


def test_prints_without_save_path_and_needs_no_category(tmp_path, tiny_weight):
    src = pd.read_csv(SAMPLE).drop(columns=['category']).head(5)
    path = tmp_path / 'in.csv'
    src.to_csv(path, index=False, encoding='cp949')  # as Korean Excel saves it
    r = run_main('--gluon_weight_path', tiny_weight, '--data_path', path, '--mode', 2)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 5
    assert all(l.startswith('Predicted news topic: ') and l.split(': ')[1] in TOPICS for l in lines)


def test_empty_and_nan_rows_stay_unclassified(tmp_path, tiny_weight):
    src = pd.read_csv(SAMPLE).head(4)
    src.loc[1, ['title', 'cleanBody']] = ['', '']
    src.loc[2, ['title', 'cleanBody']] = [np.nan, np.nan]
    src.loc[3, 'cleanBody'] = '경제 ' * 50000  # a 100,000-character article
    path, out = tmp_path / 'in.csv', tmp_path / 'out.csv'
    src.to_csv(path, index=False)
    r = run_main('--gluon_weight_path', tiny_weight, '--data_path', path, '--save_path', out)
    assert r.returncode == 0, r.stderr
    assert 'warning: 2 row(s) with no text left unclassified (CSV line 3, 4)' in r.stderr
    df = pd.read_csv(str(out), encoding='utf-8-sig', keep_default_na=False)
    assert df['predicted'][0] in TOPICS and df['predicted'][3] in TOPICS
    assert df['predicted'][1] == '' and df['predicted'][2] == ''
    assert df['probability'][1] == ''


def test_bad_inputs_fail_cleanly(tmp_path, tiny_weight):
    out = tmp_path / 'out.csv'
    w = ('--gluon_weight_path', tiny_weight, '--save_path', out)
    _assert_clean_failure(run_main(*w, '--data_path', tmp_path / 'missing.csv'), 'no such CSV file')
    (tmp_path / 'empty.csv').write_bytes(b'')
    _assert_clean_failure(run_main(*w, '--data_path', tmp_path / 'empty.csv'), 'is empty')
    (tmp_path / 'cols.csv').write_text('headline,text\n제목,본문\n', encoding='utf-8')
    _assert_clean_failure(run_main(*w, '--data_path', tmp_path / 'cols.csv'), 'needs column(s) title, cleanBody')
    (tmp_path / 'bytes.csv').write_bytes(b'title,cleanBody\n\xff\xfe\x80\x81,\xfa\n')
    _assert_clean_failure(run_main(*w, '--data_path', tmp_path / 'bytes.csv'), 'neither UTF-8 nor CP949')
    (tmp_path / 'blank.csv').write_text('title,cleanBody\n,\n  ,\n', encoding='utf-8')
    _assert_clean_failure(run_main(*w, '--data_path', tmp_path / 'blank.csv'), 'no row of')
    _assert_clean_failure(run_main('--gluon_weight_path', tiny_weight, '--data_path', SAMPLE,
                                   '--save_path', tmp_path / 'no' / 'dir' / 'out.csv'), 'output folder does not exist')
    assert not out.exists()


def test_bad_weights_fail_cleanly(tmp_path, tokenizer):
    good = make_weight(tmp_path / 'good.params', tokenizer, config='tiny')
    out = tmp_path / 'out.csv'
    out.write_text('previous result\n')  # a failed run leaves an existing output alone
    data = open(good, 'rb').read()
    (tmp_path / 'cut.params').write_bytes(data[:len(data) // 3])
    shutil.copy(str(tmp_path / 'good.json'), str(tmp_path / 'cut.json'))
    _assert_clean_failure(run_main('--gluon_weight_path', tmp_path / 'cut.params', '--data_path', SAMPLE,
                                   '--save_path', out), 'truncated')
    meta = (tmp_path / 'good.json').read_text(encoding='utf-8').replace('"name": "tiny"', '"name": "small"') \
        .replace('"num_layers": 2', '"num_layers": 4').replace('"units": 128', '"units": 256')
    shutil.copy(good, str(tmp_path / 'mismatch.params'))
    (tmp_path / 'mismatch.json').write_text(meta, encoding='utf-8')
    _assert_clean_failure(run_main('--gluon_weight_path', tmp_path / 'mismatch.params', '--data_path', SAMPLE,
                                   '--save_path', out), "configuration 'tiny' fits")
    assert out.read_text() == 'previous result\n'


def test_missing_default_weight_explains_how_to_get_one(tmp_path):
    shutil.copytree(os.path.join(ROOT, 'data'), str(tmp_path / 'data'))
    r = run_main('--gluon_weight_path', os.path.join('weights', 'ko-news-clf-gluon-weight.pth'), cwd=str(tmp_path))
    _assert_clean_failure(r, 'no weight file at weights/ko-news-clf-gluon-weight.pth', 'train.py')


def test_bad_flags_are_usage_errors():
    r = run_main('--mode', '9')
    assert r.returncode == 2 and 'invalid choice' in r.stderr and 'Traceback' not in r.stderr
    r = run_main('--top_k', '0')
    assert r.returncode == 2 and '--top_k must be at least 1' in r.stderr
