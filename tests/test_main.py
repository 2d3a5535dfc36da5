"""main.py end to end, as a user runs it: CSV in, CSV out, and every bad input."""
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from kobert_base.topics import TOPICS
from tests.conftest import ROOT, make_weight, run_main

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')


def assert_clean_failure(result, *phrases):
    assert result.returncode == 2, result.stderr
    assert 'Traceback' not in result.stderr
    lines = [l for l in result.stderr.splitlines() if l.strip() and not l.startswith(('weight:', 'warning:'))]
    assert len(lines) == 1 and lines[0].startswith('error: '), result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


def test_sample_csv_covers_all_topics():
    df = pd.read_csv(SAMPLE)
    assert list(df.columns) == ['title', 'cleanBody', 'category']
    assert set(df['category']) == set(TOPICS) and df['category'].value_counts().min() >= 2


def test_csv_in_csv_out(tmp_path, tiny_weight, kobert_home, call):
    out = tmp_path / 'out.csv'
    r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', SAMPLE, '--save_path', out, '--top_k', 3)
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
    assert sorted(os.listdir(str(tmp_path))) == ['out.csv']

    # The same numbers as the predictor in this process (mode 3 text, the weight's max_len).
    from kobert_gluon.predictor import Predictor
    from preprocess import NewsProcessor
    probs = Predictor.from_weight(tiny_weight, kobert_home).predict_proba(NewsProcessor(3).texts(src))
    assert df['predicted'].tolist() == [TOPICS[i] for i in probs.argmax(axis=1)]
    np.testing.assert_allclose(df['probability'], probs.max(axis=1), atol=1e-5)


def test_the_default_weight_says_once_which_topic_it_cannot_predict(tiny_weight, call):
    """The shipped weight was trained on the 7 KLUE-YNAT topics: its description says entertain was
    not among them, and main.py says so in one line; --help promises no topic it cannot give."""
    from kobert_gluon.weights import read_meta
    from kobert_base.paths import DEFAULT_WEIGHT
    assert read_meta(os.path.join(ROOT, 'weights', DEFAULT_WEIGHT))['untrained_topics'] == ['entertain']
    r = call('predict')  # the default weight on the sample articles
    assert r.returncode == 0, r.stderr
    said = [line for line in r.stderr.splitlines() if 'cannot predict' in line]
    assert said == ['warning: this weight was never trained on entertain (연예): it cannot predict that topic']
    assert 'entertain' not in r.stdout
    r = call('predict', '--gluon_weight_path', tiny_weight)  # a description without the key: every topic trained
    assert r.returncode == 0 and 'cannot predict' not in r.stderr
    r = run_main('--help')
    assert r.returncode == 0 and '8 topics' not in r.stdout and 'cannot predict' in r.stdout


def test_printed_lines_name_the_row_and_title(tmp_path, tiny_weight, call):
    src = pd.read_csv(SAMPLE).drop(columns=['category']).head(5)
    path = tmp_path / 'in.csv'
    src.to_csv(path, index=False, encoding='cp949')  # as Korean Excel saves it
    r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', path, '--mode', 2, '--top_k', 2)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 5
    for n, (line, title) in enumerate(zip(lines, src['title']), 1):
        topic = line.split('Predicted news topic: ')[1].split(' ')[0]
        assert line.startswith('Predicted news topic: ') and topic in TOPICS
        assert '| record %d | %s' % (n, title[:40]) in line
        assert '| top 2: %s ' % topic in line


def test_chunked_output_is_the_same_file(tmp_path, tiny_weight, call):
    data = tmp_path / 'many.csv'
    pd.concat([pd.read_csv(SAMPLE)] * 100).to_csv(data, index=False)  # 2,400 rows: three blocks of 1,024
    whole, chunked = tmp_path / 'whole.csv', tmp_path / 'chunked.csv'
    for out, extra in ((whole, ()), (chunked, ('--chunk_rows', 7))):
        r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', data, '--save_path', out, *extra)
        assert r.returncode == 0, r.stderr
    assert whole.read_bytes() == chunked.read_bytes()
    assert len(pd.read_csv(str(whole), encoding='utf-8-sig')) == 2400


def test_empty_and_nan_rows_stay_unclassified(tmp_path, tiny_weight, call):
    src = pd.read_csv(SAMPLE).head(4)
    src.loc[1, ['title', 'cleanBody']] = ['', '']
    src.loc[2, ['title', 'cleanBody']] = [np.nan, np.nan]
    src.loc[3, 'cleanBody'] = '경제 ' * 50000  # a 100,000-character article
    path, out = tmp_path / 'in.csv', tmp_path / 'out.csv'
    src.to_csv(path, index=False)
    r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', path, '--save_path', out)
    assert r.returncode == 0, r.stderr
    assert 'warning: 2 row(s) of %s have no text: left unclassified (record 2, 3)' % path in r.stderr
    df = pd.read_csv(str(out), encoding='utf-8-sig', keep_default_na=False)
    assert df['predicted'][0] in TOPICS and df['predicted'][3] in TOPICS
    assert df['predicted'][1] == '' and df['predicted'][2] == ''
    assert df['probability'][1] == ''


def test_bad_inputs_fail_cleanly(tmp_path, tiny_weight, call):
    out = tmp_path / 'out.csv'
    w = ('--gluon_weight_path', tiny_weight, '--save_path', out)
    assert_clean_failure(call('predict', *w, '--data_path', tmp_path / 'missing.csv'), 'no such CSV file')
    (tmp_path / 'empty.csv').write_bytes(b'')
    assert_clean_failure(call('predict', *w, '--data_path', tmp_path / 'empty.csv'), 'is empty')
    (tmp_path / 'cols.csv').write_text('headline,text\n제목,본문\n', encoding='utf-8')
    assert_clean_failure(call('predict', *w, '--data_path', tmp_path / 'cols.csv'), 'reads column(s) title, cleanBody',
                         '--title_column')
    (tmp_path / 'titles.csv').write_text('title\n제목\n', encoding='utf-8')
    assert_clean_failure(call('predict', *w, '--data_path', tmp_path / 'titles.csv'), 'pass --mode 2')
    (tmp_path / 'bytes.csv').write_bytes(b'title,cleanBody\n\xff\xfe\x80\x81,\xfa\n')
    assert_clean_failure(call('predict', *w, '--data_path', tmp_path / 'bytes.csv'), 'neither UTF-8 nor CP949')
    (tmp_path / 'blank.csv').write_text('title,cleanBody\n,\n  ,\n', encoding='utf-8')
    assert_clean_failure(call('predict', *w, '--data_path', tmp_path / 'blank.csv'), 'no row of')
    assert_clean_failure(call('predict', '--gluon_weight_path', tiny_weight, '--data_path', SAMPLE,
                              '--save_path', tmp_path / 'no' / 'dir' / 'out.csv'), 'is not a folder')
    assert not out.exists()
    (tmp_path / 'pred.csv').write_text('title,cleanBody,predicted\n제목,본문,sport\n', encoding='utf-8')
    assert_clean_failure(call('predict', *w, '--data_path', tmp_path / 'pred.csv'), 'already has column(s) predicted')


def test_bad_weights_fail_cleanly(tmp_path, tokenizer, call):
    good = make_weight(tmp_path / 'good.params', tokenizer, config='tiny')
    out = tmp_path / 'out.csv'
    out.write_text('previous result\n')  # a failed run leaves an existing output alone
    data = open(good, 'rb').read()
    (tmp_path / 'cut.params').write_bytes(data[:len(data) // 3])
    shutil.copy(str(tmp_path / 'good.json'), str(tmp_path / 'cut.json'))
    assert_clean_failure(call('predict', '--gluon_weight_path', tmp_path / 'cut.params', '--data_path', SAMPLE,
                              '--save_path', out), 'truncated')
    assert out.read_text() == 'previous result\n'


def test_missing_weight_explains_how_to_get_one(tmp_path, call):
    r = call('predict', '--gluon_weight_path', tmp_path / 'nothing.pth', '--data_path', SAMPLE)
    assert_clean_failure(r, 'no weight file at', '--gluon_weight_path')


def test_bad_flags_are_one_line_errors(call):
    assert_clean_failure(call('predict', '--mode', '9'), 'invalid choice')
    assert_clean_failure(call('predict', '--top_k', '0'), '--top_k must be at least 1')
    assert_clean_failure(call('predict', '--batch_size', 'x'), "invalid int value: 'x'")


def test_exit_codes_of_the_script(tmp_path, tiny_weight):
    """The real process: exit 2 and one line for bad input; a closed pipe ends it quietly."""
    r = run_main('--top_k', '0')
    assert r.returncode == 2 and r.stderr.strip() == 'error: --top_k must be at least 1, not 0'
    import subprocess
    import sys
    data = tmp_path / 'many.csv'
    pd.concat([pd.read_csv(SAMPLE)] * 40).to_csv(data, index=False)
    env = dict(os.environ, KOBERT_HOME=os.environ.get('KOBERT_HOME', ''))
    p = subprocess.run('"%s" "%s" --gluon_weight_path "%s" --data_path "%s" | head -2'
                       % (sys.executable, os.path.join(ROOT, 'main.py'), tiny_weight, data),
                       shell=True, capture_output=True, text=True, env=env, timeout=300)
    assert len(p.stdout.splitlines()) == 2 and 'Traceback' not in p.stderr and 'Error' not in p.stderr, p.stderr


def test_blank_lines_of_a_one_column_csv_are_kept(tmp_path, tiny_weight, call):
    """5 records in (two blank lines among three titles), 5 rows out: the blank ones unclassified,
    named in the warning, and every record number as in the file."""
    path, out = tmp_path / 'titles.csv', tmp_path / 'out.csv'
    path.write_text('title\n손흥민 시즌 10호골\n\n한국은행 기준금리 동결\n\n코스피 2600 회복\n', encoding='utf-8')
    r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', path, '--mode', 2, '--save_path', out)
    assert r.returncode == 0, r.stderr
    assert 'warning: 2 row(s) of %s have no text: left unclassified (record 2, 4)' % path in r.stderr
    df = pd.read_csv(str(out), encoding='utf-8-sig', keep_default_na=False, skip_blank_lines=False)
    assert df['title'].tolist() == ['손흥민 시즌 10호골', '', '한국은행 기준금리 동결', '', '코스피 2600 회복']
    assert [p in TOPICS for p in df['predicted']] == [True, False, True, False, True]
    r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', path, '--mode', 2)
    assert [l.split(' | record ')[1] for l in r.stdout.splitlines()] == [
        '1 | 손흥민 시즌 10호골', '2 | ', '3 | 한국은행 기준금리 동결', '4 | ', '5 | 코스피 2600 회복']


def test_invisible_characters_are_no_text(tmp_path, tiny_weight, call):
    """A title of zero-width spaces, a BOM and control characters gives no token: no text, as
    spaces are, never a topic read off [CLS] [SEP] alone."""
    path, out = tmp_path / 'in.csv', tmp_path / 'out.csv'
    pd.DataFrame({'title': ['손흥민 시즌 10호골', '\u200b\ufeff\x01\u200b', '\u200d \x7f'],
                  'cleanBody': ['', '\u2060', '\x85']}).to_csv(path, index=False)
    r = call('predict', '--gluon_weight_path', tiny_weight, '--data_path', path, '--save_path', out)
    assert r.returncode == 0, r.stderr
    assert 'warning: 2 row(s) of %s have no text: left unclassified (record 2, 3)' % path in r.stderr
    df = pd.read_csv(str(out), encoding='utf-8-sig', keep_default_na=False)
    assert df['predicted'].tolist()[1:] == ['', ''] and df['predicted'][0] in TOPICS


@pytest.mark.parametrize('encoding', ['utf-16', 'rot13', 'hex'])
def test_an_encoding_that_does_not_fit_is_one_line(tmp_path, tiny_weight, encoding):
    """--encoding utf-16 (or rot13, hex: not text encodings) on a UTF-8 file: one line, exit 2."""
    r = run_main('--gluon_weight_path', tiny_weight, '--data_path', SAMPLE, '--encoding', encoding,
                 '--save_path', tmp_path / 'out.csv')
    assert_clean_failure(r, '--encoding')
    assert os.listdir(str(tmp_path)) == []
