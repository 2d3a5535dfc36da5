"""CSV reading (encodings, shapes) and per-mode text and labels."""
import pandas as pd
import pytest

from config import TOPICS, Columns, UserError
from preprocess import NewsProcessor, read_csv

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
    with pytest.raises(UserError, match='unknown encoding'):
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
    assert NewsProcessor(3).texts(ROWS)[0] == '기사제목: 손흥민 시즌 10호골 기사본문: 손흥민이 결승골을 넣었다.'


def test_empty_and_missing_text_rows():
    df = pd.DataFrame({'title': ['  ', None, '제목'], 'cleanBody': ['', None, '']})
    assert NewsProcessor(2).texts(df) == ['', '', '제목']
    assert NewsProcessor(3).texts(df) == ['', '', '기사제목: 제목 기사본문: ']


def test_missing_column_and_custom_columns():
    with pytest.raises(UserError, match='mode 1 needs column'):
        NewsProcessor(1).texts(ROWS[['title']])
    df = ROWS.rename(columns={'title': '제목', 'cleanBody': '본문'})
    proc = NewsProcessor(3, Columns(title='제목', body='본문'))
    assert proc.texts(df) == NewsProcessor(3).texts(ROWS)


def test_labels_in_original_order():
    assert TOPICS.index('international') == 0 and TOPICS.index('culture') == 7
    assert NewsProcessor(2).labels(ROWS).tolist() == [3, 1]
    df = ROWS.assign(category=[' Sport ', 'ECONOMY'])
    assert NewsProcessor(2).labels(df).tolist() == [3, 1]


def test_unknown_category_names_the_line():
    df = ROWS.assign(category=['sport', 'weather'])
    with pytest.raises(UserError, match="line 3: unknown category 'weather'"):
        NewsProcessor(2).labels(df)


def test_no_category_is_fine_for_inference():
    df = ROWS.drop(columns=['category'])
    proc = NewsProcessor(2)
    assert not proc.has_labels(df)
    assert proc.texts(df) == ROWS['title'].tolist()
    with pytest.raises(UserError, match="needs a 'category' column"):
        proc.labels(df)


def test_unsupported_mode():
    with pytest.raises(UserError, match='mode 7 is not supported'):
        NewsProcessor(7)
