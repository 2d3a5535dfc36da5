"""kobert-news predict --model_dir: main.py's flags and output, on ONNX Runtime."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.deploy.conftest import DEFAULT_WEIGHT, export, legacy

SAMPLE = os.path.join(ROOT, 'data', 'sample.csv')


def kobert_news(*args, cwd=ROOT):
    """The batch command as a user runs it: python -m kobert_news, in its own process."""
    return subprocess.run([sys.executable, '-m', 'kobert_news'] + [str(a) for a in args], cwd=str(cwd),
                          capture_output=True, text=True, timeout=900)


def both(weight, folder, data, out, *flags):
    """(main.py's output, the batch command's output) for the same weight and flags, as frames; the
    raw files are out/gluon.csv and out/onnx.csv."""
    legacy('main.py', '--gluon_weight_path', weight, '--data_path', data, '--save_path', out / 'gluon.csv', *flags)
    r = kobert_news('predict', '--model_dir', folder, '--data_path', data, '--save_path', out / 'onnx.csv', *flags)
    assert r.returncode == 0, r.stderr
    return [pd.read_csv(str(out / n), encoding='utf-8-sig', keep_default_na=False) for n in ('gluon.csv', 'onnx.csv')]


def assert_same_output(gluon, onnx, atol=1e-4):
    assert list(onnx.columns) == list(gluon.columns)
    assert len(onnx) == len(gluon)
    for col in gluon.columns:
        if col.endswith('probability'):
            a, b = pd.to_numeric(gluon[col]).to_numpy(), pd.to_numeric(onnx[col]).to_numpy()
            assert np.array_equal(np.isnan(a), np.isnan(b))
            assert np.nanmax(np.abs(a - b)) <= atol, col
        else:
            assert (gluon[col] == onnx[col]).all(), col


def test_the_batch_command_writes_main_pys_csv(tiny, tmp_path):
    """Title + body articles (one without text), the top 3, small chunks: the same columns, topics,
    probabilities to 1e-4, and the same file format (UTF-8 with BOM, header once, 6 decimals)."""
    df = pd.read_csv(SAMPLE, keep_default_na=False)
    df.loc[3, ['title', 'cleanBody']] = ''
    df.to_csv(str(tmp_path / 'in.csv'), index=False)
    gluon, onnx = both(tiny[0], tiny[1], tmp_path / 'in.csv', tmp_path, '--top_k', '3', '--chunk_rows', '8')
    assert_same_output(gluon, onnx)
    assert onnx['predicted'][3] == '' and list(onnx.columns[:3]) == ['title', 'cleanBody', 'category']
    raw = [open(str(tmp_path / n), 'rb').read() for n in ('gluon.csv', 'onnx.csv')]
    assert raw[1].startswith(b'\xef\xbb\xbftitle,cleanBody,category,predicted,probability,top1,')
    assert raw[1].count(b'title,cleanBody') == 1
    lines = [r.decode('utf-8-sig').splitlines() for r in raw]
    assert [len(l) for l in lines[0]] == [len(l) for l in lines[1]]  # same digits everywhere


def test_int8_and_printed_lines(tiny, tmp_path):
    """--precision int8 runs model_int8.onnx; without --save_path a line per article, as main.py prints."""
    r = kobert_news('predict', '--model_dir', tiny[1], '--data_path', SAMPLE, '--precision', 'int8')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 24 and all(l.startswith('Predicted news topic: ') and '| record ' in l for l in lines)


@pytest.mark.parametrize('mode', [4, 5])
def test_cluster_modes_place_articles_as_the_gluon_engine(legacy_side, tmp_path, mode):
    """Modes 4 and 5: the export carries the centroids and the USE encoder; articles land in the same
    clusters and get main.py's probabilities."""
    weight = str(tmp_path / ('m%d.params' % mode))
    legacy('-c', 'import numpy as np\nfrom kobert_gluon.tokenizer import KoBERTTokenizer\n'
                 'from tests.conftest import make_weight\n'
                 'make_weight(%r, KoBERTTokenizer.load(), mode=%d)\n'
                 'np.save(%r, np.random.RandomState(1).randn(4, 512).astype("float32") / 20)'
           % (weight, mode, weight[:-len('.params')] + '.centroids.npy'))
    folder = export(weight, tmp_path / 'onnx')
    assert sorted(os.listdir(os.path.join(folder, 'encoder'))) == ['sp.model', 'weights.npz']
    gluon, onnx = both(weight, folder, SAMPLE, tmp_path)
    assert_same_output(gluon, onnx)
    assert (onnx['cluster'] == gluon['cluster']).all() and onnx['cluster'].nunique() > 1


def test_a_damaged_folder_is_one_error_line(tiny, tmp_path):
    """A changed byte, a missing file, no description, no folder, a precision it has no model for:
    one error line each, and no output written."""
    folder = str(tmp_path / 'copy')
    shutil.copytree(tiny[1], folder)

    def refused(words, *flags, model=folder):
        r = kobert_news('predict', '--model_dir', model, '--data_path', SAMPLE, '--save_path', tmp_path / 'out.csv',
                        *flags)
        assert r.returncode == 2 and r.stderr.startswith('error: ') and words in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and 'Traceback' not in r.stderr
        assert not os.path.exists(str(tmp_path / 'out.csv'))
    with open(os.path.join(folder, 'model.onnx'), 'r+b') as f:
        f.seek(4096)
        byte = f.read(1)
        f.seek(4096)
        f.write(bytes([byte[0] ^ 1]))
    refused('model.onnx in %s is damaged' % folder)
    os.remove(os.path.join(folder, 'model_int8.onnx'))
    refused('model_int8.onnx is missing from %s' % folder, '--precision', 'int8')
    shutil.copy(os.path.join(tiny[1], 'model.onnx'), os.path.join(folder, 'model.onnx'))
    os.remove(os.path.join(folder, 'tokenizer.json'))
    refused('tokenizer.json is missing from %s' % folder)
    os.remove(os.path.join(folder, 'description.json'))
    refused('has no description.json: not a folder made by kobert-news export --to onnx')
    refused('no export folder at', model=tmp_path / 'none')
    refused('an export folder runs fp32 (model.onnx) or int8', '--precision', 'bf16', model=tiny[1])


def test_a_weight_file_here_points_to_an_export_folder(tmp_path):
    """No MXNet on the deploy path: a weight file is refused in one line that says what to do."""
    r = kobert_news('predict', '--gluon_weight_path', DEFAULT_WEIGHT, '--data_path', SAMPLE)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert 'needs MXNet' in r.stderr and '--model_dir' in r.stderr
