"""CSV reading (encodings, shapes) and per-mode text and labels."""
import os

import pandas as pd
import pytest

from kobert_base.errors import UserError
from kobert_base.topics import TOPICS, TOPICS_KO
from preprocess import NewsProcessor, read_csv
from tests.conftest import ROOT

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')

ROWS = pd.DataFrame({'title': ['손흥민 시즌 10호골', '한국은행 기준금리 동결'],
                     'cleanBody': ['손흥민이 결승골을 넣었다.', '금리를 연 3.5%로 유지했다.'],
                     'category': ['sport', 'economy']})


@pytest.mark.parametrize('encoding', ['utf-8', 'utf-8-sig', 'cp949', 'euc-kr'])
def test_read_csv_detects_korean_encodings(tmp_path, encoding):
    path = tmp_path / 'in.csv'
    ROWS.to_csv(path, index=False, encoding=encoding)
    df = read_csv(str(path))
    assert list(df.columns) == ['title', 'cleanBody', 'category']
    assert df['title'].tolist() == ROWS['title'].tolist()


def test_read_csv_explicit_encoding_and_wrong_one(tmp_path):
    path = tmp_path / 'in.csv'
    ROWS.to_csv(path, index=False, encoding='cp949')
    assert read_csv(str(path), 'cp949')['cleanBody'][1] == '금리를 연 3.5%로 유지했다.'
    with pytest.raises(UserError, match='not valid utf-8'):
        read_csv(str(path), 'utf-8')
    with pytest.raises(UserError, match="unknown encoding 'no-such-codec': check --encoding"):
        read_csv(str(path), 'no-such-codec')


def test_read_csv_bad_files(tmp_path):
    with pytest.raises(UserError, match='no such CSV'):
        read_csv(str(tmp_path / 'missing.csv'))
    (tmp_path / 'empty.csv').write_bytes(b'')
    with pytest.raises(UserError, match='is empty'):
        read_csv(str(tmp_path / 'empty.csv'))
    (tmp_path / 'header.csv').write_text('title,cleanBody\n', encoding='utf-8')
    with pytest.raises(UserError, match='no rows'):
        read_csv(str(tmp_path / 'header.csv'))
    (tmp_path / 'bytes.csv').write_bytes(b'title\n\xff\xfe\xfa\xfb\x80\x81\n')
    with pytest.raises(UserError, match='neither UTF-8 nor CP949'):
        read_csv(str(tmp_path / 'bytes.csv'))


def test_mode_texts():
    assert NewsProcessor(1).texts(ROWS) == ROWS['cleanBody'].tolist()
    assert NewsProcessor(2).texts(ROWS) == ROWS['title'].tolist()
    # The original's layouts: mode 3 with '::' and six spaces, mode 4 (and 5) with ':' and five.
    assert NewsProcessor(3).texts(ROWS)[0] == '기사제목:: 손흥민 시즌 10호골      기사본문: 손흥민이 결승골을 넣었다.'
    assert NewsProcessor(4).texts(ROWS)[0] == '기사제목: 손흥민 시즌 10호골     기사본문: 손흥민이 결승골을 넣었다.'
    assert NewsProcessor(5).texts(ROWS) == NewsProcessor(4).texts(ROWS)


def test_mode3_token_ids_are_the_originals(tokenizer):
    """Spaces collapse in the tokenizer, the colon does not: mode 3 has one more '▁:' piece than mode 4."""
    colon = tokenizer.vocab['▁:']
    three = tokenizer.encode(NewsProcessor(3).texts(ROWS)[0], 128).tolist()
    four = tokenizer.encode(NewsProcessor(4).texts(ROWS)[0], 128).tolist()
    single = tokenizer.encode('기사제목: 손흥민 시즌 10호골 기사본문: 손흥민이 결승골을 넣었다.', 128).tolist()
    assert four == single and len(three) == len(four) + 1
    assert three.count(colon) == four.count(colon) + 1 and colon == 629


def test_empty_and_missing_text_rows():
    df = pd.DataFrame({'title': ['  ', None, '제목'], 'cleanBody': ['', None, '']})
    assert NewsProcessor(2).texts(df) == ['', '', '제목']
    assert NewsProcessor(3).texts(df) == ['', '', '기사제목:: 제목      기사본문: ']


@pytest.mark.parametrize('mode', [1, 2, 3, 4, 5])
def test_one_article_text_equals_the_frame_text(mode):
    titles, bodies = ['  손흥민 시즌 10호골 ', None, '', '제목', None], ['본문\n', '본문만', ' ', None, None]
    processor = NewsProcessor(mode)
    frame = pd.DataFrame({'title': titles, 'cleanBody': bodies})
    assert [processor.text(t, b) for t, b in zip(titles, bodies)] == processor.texts(frame)


def test_missing_column_and_custom_columns():
    with pytest.raises(UserError, match=r'mode 1 reads column\(s\) cleanBody, which x.csv lacks .*pass --mode 2'):
        NewsProcessor(1).texts(ROWS[['title']], 'x.csv')
    with pytest.raises(UserError, match='pass --base_mode 2'):
        NewsProcessor(4).texts(ROWS[['title']], 'x.csv')
    df = ROWS.rename(columns={'title': '제목', 'cleanBody': '본문'})
    proc = NewsProcessor(3, title='제목', body='본문')
    assert proc.texts(df) == NewsProcessor(3).texts(ROWS)


def test_labels_in_original_order():
    assert TOPICS.index('international') == 0 and TOPICS.index('culture') == 7
    assert NewsProcessor(2).labels(ROWS).tolist() == [3, 1]
    df = ROWS.assign(category=[' Sport ', 'ECONOMY'])
    assert NewsProcessor(2).labels(df).tolist() == [3, 1]
    korean = pd.DataFrame({'title': ['t'] * 8, 'category': [TOPICS_KO[t] for t in TOPICS]})
    assert NewsProcessor(2).labels(korean).tolist() == list(range(8))
    assert TOPICS_KO['it'] == 'IT과학' and TOPICS_KO['entertain'] == '연예'
    assert NewsProcessor(2).labels(korean.assign(category=' it과학 ')).tolist() == [4] * 8


def test_unknown_category_names_the_record():
    df = ROWS.assign(category=['sport', 'weather'])
    with pytest.raises(UserError, match="record 2 of x.csv: unknown topic 'weather' in column 'category'"):
        NewsProcessor(2).labels(df, 'x.csv')


def test_records_count_rows_not_file_lines(tmp_path):
    """A body with line breaks is one record: messages name records, not physical lines."""
    path = tmp_path / 'multi.csv'
    path.write_text('title,cleanBody,category\n"제목","첫 줄\n둘째 줄\n셋째 줄",sport\n"제목2","본문",weather\n',
                    encoding='utf-8')
    with pytest.raises(UserError, match='record 2 of'):
        NewsProcessor(2).labels(read_csv(str(path)), str(path))


def test_no_category_is_fine_for_inference():
    df = ROWS.drop(columns=['category'])
    proc = NewsProcessor(2)
    assert proc.texts(df) == ROWS['title'].tolist()
    with pytest.raises(UserError, match="x.csv has no 'category' column with the true topics .*--label_column"):
        proc.labels(df, 'x.csv')


def test_unsupported_mode():
    with pytest.raises(UserError, match='mode 7 is not supported'):
        NewsProcessor(7)


# ---------------------------------------------------------------- blank lines, invisible text, encodings

def test_blank_lines_of_a_one_column_csv_are_records(tmp_path):
    """A blank line in a one-column CSV is an empty cell: a record, kept (pandas skips them by
    default, which drops rows and shifts every later record number)."""
    path = tmp_path / 'titles.csv'
    path.write_text('title\n손흥민 시즌 10호골\n\n한국은행 기준금리 동결\n\r\n코스피 2600 회복\n', encoding='utf-8')
    df = read_csv(str(path))
    assert df['title'].tolist() == ['손흥민 시즌 10호골', '', '한국은행 기준금리 동결', '', '코스피 2600 회복']
    chunks = list(read_csv(str(path), chunk_rows=2))
    assert [len(c) for c in chunks] == [2, 2, 1] and pd.concat(chunks)['title'].tolist() == df['title'].tolist()
    assert NewsProcessor(2).texts(df) == ['손흥민 시즌 10호골', '', '한국은행 기준금리 동결', '', '코스피 2600 회복']


def test_blank_lines_of_labelled_data_are_left_out_by_record(tmp_path):
    """Training data with blank lines: those records have no text and are left out (with the
    warning), and a bad topic further down is still named by its record."""
    from types import SimpleNamespace
    from preprocess import read_labelled
    cfg = SimpleNamespace(mode=2, title_column='title', body_column='cleanBody', label_column='category',
                          encoding=None)
    path = tmp_path / 'train.csv'
    path.write_text('title,category\n손흥민 시즌 10호골,sport\n\n한국은행 기준금리 동결,economy\n', encoding='utf-8')
    data = read_labelled(str(path), cfg)
    assert data.records.tolist() == [1, 3] and data.labels.tolist() == [3, 1]
    path.write_text('title,category\n손흥민 시즌 10호골,sport\n\n한국은행 기준금리 동결,weather\n', encoding='utf-8')
    with pytest.raises(UserError, match="record 3 of .*unknown topic 'weather'"):
        read_labelled(str(path), cfg)


INVISIBLE = ['\u200b', '\ufeff', '\x01\x07\x1b', '\u200b\ufeff \u200d\u2060', '\x85', '\u00ad\u200e',
             '\u0301\u0308', '\u2581 \u3000', '\ufffd', '\x00']


def test_text_of_invisible_characters_is_no_text(tokenizer):
    """Characters the tokenizer drops (control and format characters, U+FFFD, lone combining marks,
    spaces of any kind) give no token: a cell of nothing else is no text, in every mode."""
    for junk in INVISIBLE:
        assert tokenizer.tokenize(junk) == [], repr(junk)  # what makes it no text
        df = pd.DataFrame({'title': [junk, '제목' + junk], 'cleanBody': [junk, '']})
        for mode in (1, 2, 3, 4):
            texts = NewsProcessor(mode).texts(df)
            assert texts[0] == '', (mode, repr(junk))
            assert NewsProcessor(mode).text(junk, junk) == ''
        kept = NewsProcessor(2).texts(df)[1]
        assert kept.startswith('제목') and tokenizer.encode(kept, 16).tolist() == tokenizer.encode('제목' + junk, 16).tolist()


def test_one_normalisation_keeps_the_token_ids(tokenizer):
    """The text is cleaned of what the tokenizer drops anyway: the same ids as before, and its
    whitespace-separated words are the tokenizer's words (U+0085 joins, as the tokenizer joins)."""
    raw = ['손흥민\x85시즌 10호골', '제어\x00문자\x01\x07\x1b[0m\x7f\x85\ufffd 끝', '폭\u200b없음\ufeffBOM \u00ad연합',
           '줄바꿈\n탭\t캐리지\r\n전각\u3000공백\u00a0없는\u2028줄\u2029단락', '코스피 \x1c2600\x1f 회복']
    for text in raw:
        clean = NewsProcessor(2).text(text)
        assert tokenizer.encode(clean, 128).tolist() == tokenizer.encode(text, 128).tolist(), repr(text)
        assert [t for w in clean.split() for t in tokenizer.tokenize(w)] == tokenizer.tokenize(clean), repr(text)
    assert NewsProcessor(2).text('손흥민\x85시즌') == '손흥민시즌'


@pytest.mark.parametrize('encoding', ['rot13', 'hex', 'base64', 'zlib', 'utf-16'])
def test_encodings_that_do_not_fit_are_one_error(tmp_path, encoding):
    """Not a text encoding (rot13, hex: bytes to bytes or str to str), or one that does not fit
    the file (UTF-16 on UTF-8 text): a UserError naming --encoding, never a codec's exception."""
    path = tmp_path / 'in.csv'
    path.write_bytes(open(SAMPLE, 'rb').read())  # even-sized, no BOM: its start decodes as UTF-16
    with pytest.raises(UserError, match='--encoding'):
        read_csv(str(path), encoding)
    with pytest.raises(UserError, match='--encoding'):
        list(read_csv(str(path), encoding, chunk_rows=1))
